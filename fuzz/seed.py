#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets into fuzz/corpus/TARGET/, taken from the tests:
accounts payloads from tests/fixtures/accounts-corpus.json, filters and PATCH paths from the
string literals of the validator's and the API tests' sources, plus the hand-written PATCH
bodies and redactor inputs in fuzz/seeds/. Run by scripts/fuzz.sh; safe to run again."""
import glob, hashlib, json, os, re, shutil, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
os.chdir(root)
targets = sys.argv[1:] or ["filter", "path", "patch", "accounts", "redact"]


def put(target, text):
    if target not in targets:
        return
    d = os.path.join("fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    data = text.encode()
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


for case in json.load(open("tests/fixtures/accounts-corpus.json")):
    if isinstance(case.get("text"), str):
        put("accounts", case["text"])

sources = "".join(
    open(p, encoding="utf-8").read()
    for p in glob.glob("validator-wasm/src/**/*.rs", recursive=True) + glob.glob("tests/api/*.rs")
)
literals = re.findall(r'r#"(.*?)"#', sources) + [
    s.replace('\\"', '"') for s in re.findall(r'"((?:[^"\\\n]|\\.)*)"', sources)
]
operator = re.compile(r"\b(eq|ne|co|sw|ew|gt|lt|ge|le|pr)\b", re.I)
for lit in set(literals):
    if len(lit) < 300 and not lit.startswith("{") and operator.search(lit):
        put("filter", lit)
        if "[" in lit:
            put("path", lit)
for path in set(re.findall(r'"path":\s*"((?:[^"\\]|\\.)*)"', sources)):
    put("path", path.replace('\\"', '"'))

for target in targets:
    for p in glob.glob(os.path.join("fuzz", "seeds", target, "*")):
        put(target, open(p, encoding="utf-8").read())
