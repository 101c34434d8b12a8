#!/usr/bin/env bash
# Starts scimbox on a fresh database and a free loopback port, issues a token, and runs the
# independent conformance checkers (scim2-tester, scim-sanity) against it.
#
#   scripts/conformance.sh               on a fresh SQLite file
#   scripts/conformance.sh --db URL      on a fresh PostgreSQL database created from URL (a role
#                                        that may create databases, such as `scripts/pg.sh start`
#                                        prints); the database is dropped afterwards
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url=""
while [ $# -gt 0 ]; do
    case "$1" in
        --db)
            [ $# -ge 2 ] || { echo "conformance.sh: --db needs a postgres:// URL" >&2; exit 2; }
            pg_url=$2
            shift 2
            ;;
        *) echo "usage: scripts/conformance.sh [--db postgres://USER@HOST:PORT/DB]" >&2; exit 2 ;;
    esac
done
case "$pg_url" in
    '' | postgres://* | postgresql://*) ;;
    *) echo "conformance.sh: --db takes a postgres:// or postgresql:// URL, not '$pg_url'" >&2; exit 2 ;;
esac

venv=target/conformance-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-conformance.txt

cargo build --locked --bin scimbox
bin=target/debug/scimbox
work=$(mktemp -d)
db="$work/conformance.db"
pg_db=""
cleanup() {
    if [ -n "${pid:-}" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ -n "$pg_db" ]; then
        scripts/pg.sh psql "$pg_url" -qAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
if [ -n "$pg_url" ]; then
    # A database of this run's own in that cluster: the URL's path swapped for its name, the
    # query (sslmode and the like) kept.
    pg_db="conformance_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    scripts/pg.sh psql "$pg_url" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $pg_db" >/dev/null
    base=${pg_url%%\?*}
    query=""
    [ "$base" != "$pg_url" ] && query="?${pg_url#*\?}"
    db="${base%/*}/$pg_db$query"
    echo "database: PostgreSQL ${db%%\?*}" | sed 's#://[^@/]*@#://#'
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$("$bin" token create --db "$db" --name conformance)
# A registry nobody chose for the checkers: one account with a random id and one role. The
# checkers know nothing of it; scim2-tester fills `accounts` from the attribute's
# canonicalValues, which /Schemas builds from this registry for a request with a token
# (validator-wasm/src/schema.rs describe_accounts), so its payloads name this account and role
# (it picks one canonical value at random per place; pydantic field examples in scim2-models).
# scim-sanity reads /Schemas only to see that it answers: its User bodies are fixed
# (payload_factory.make_user) and carry no `accounts`.
account="ACC-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
"$bin" account add --db "$db" "$account" --name "Conformance account" 2>/dev/null
"$bin" role add --db "$db" Reader 2>/dev/null
echo "registry: account $account, role Reader"

"$bin" serve --db "$db" --listen "127.0.0.1:$port" 2>"$work/server.log" &
pid=$!

python3 - "$port" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/healthz"
for _ in range(200):
    try:
        if urllib.request.urlopen(url, timeout=1).status == 200:
            sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("scimbox did not become ready within 10 s")
PY

# What is left as "skipped" is explained, never hidden: scim-sanity's Agent and
# AgenticApplication phases (draft-abbey-scim-agent-extension) skip because /ResourceTypes lists
# only User and Group, and its Group member check with a made-up member id is a documented
# deviation (EXPECTED_DEVIATIONS in scripts/conformance.py). scim2-tester's two whole-object
# PATCH checks of scimbox's User extension count as skipped only when the one difference is the
# effective `access` the server computes and returns by default (_computed_access_only there):
# the checker compares read-only sub-attributes strictly, which it does nowhere else.
# scim2-tester reads /ServiceProviderConfig without RFC 9967's `securityEvents` block, which
# scim2-models does not know (WithoutSecurityEvents there); a run that checks no User or Group
# fails.
status=0
"$venv/bin/python" scripts/conformance.py --url "http://127.0.0.1:$port/scim/v2" --token "$token" || status=$?
if [ "$status" != 0 ]; then
    echo "--- server log (last 40 lines) ---"
    tail -n 40 "$work/server.log"
fi
exit "$status"
