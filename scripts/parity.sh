#!/usr/bin/env bash
# Same verdict everywhere (issue 4 §8): every case of tests/fixtures/accounts-corpus.json gets
# its verdict from
#   (a) the native crate and (d) the real server   tests/api/parity.rs  -> target/parity/native.json, server.json
#   (b) the WASM build (web/pkg/) in Node            tests/wasm/parity-node.mjs  -> node.json
#   (c) the WASM build in headless Chromium          tests/wasm/parity.html      -> chromium.json
# and tests/wasm/compare.mjs checks that they are identical, printing
#   parity: N cases, 4 verdicts each, all identical
# or the cases that differ. Run by scripts/test.sh after scripts/build-wasm.sh --check, so web/pkg/
# is what validator-wasm/ builds. Installs Debian's chromium if it is missing (apt-get, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
out=$target_dir/parity
rm -rf "$out"
mkdir -p "$out"

say() { printf '%s\n' "$*" >&2; }

node tests/wasm/corpus.mjs --check

say "(a) native crate and (d) server"
if ! SCIMBOX_PARITY_DIR=$out cargo test --quiet -p scimbox --test api --locked -- parity:: --nocapture \
    >"$out/native.log" 2>&1 || [ ! -f "$out/server.json" ]; then
    cat "$out/native.log" >&2
    say "parity: the native and server run failed (cargo test -p scimbox --test api parity::)"
    exit 1
fi
grep -o 'parity (native and server).*' "$out/native.log" >&2

say "(b) WASM in Node $(node --version)"
node tests/wasm/parity-node.mjs "$out/node.json"

if ! command -v chromium >/dev/null; then
    say "installing Debian's chromium (apt-get)"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
say "(c) WASM in $(chromium --version 2>/dev/null | head -n1)"
profile=$(mktemp -d)
port_file=$out/serve.port
node tests/wasm/serve.mjs >"$port_file" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$profile"' EXIT
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$port_file")/tests/wasm/parity.html"
# --virtual-time-budget lets the page's asynchronous WASM start-up finish before the dump.
for attempt in 1 2 3; do
    chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --virtual-time-budget=20000 --dump-dom "$url" 2>/dev/null >"$out/chromium.html" || true
    grep -q 'id="out">done:' "$out/chromium.html" && break
    say "the page had not finished (attempt $attempt): $(grep -o 'id="out">[^<]\{0,200\}' "$out/chromium.html" || echo 'no output')"
    [ "$attempt" = 3 ] && exit 1
done
sed -n 's/.*id="out">done:\([A-Za-z0-9+\/=]*\)<.*/\1/p' "$out/chromium.html" | base64 -d >"$out/chromium.json"

node tests/wasm/compare.mjs "$out"
