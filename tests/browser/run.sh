#!/usr/bin/env bash
# The status page and the payload checker in a real browser (issue 6 item 6), run by
# scripts/test.sh as the "browser tests" step:
#
#   1. installs what is missing: Debian's chromium (apt-get, as root or with sudo),
#      playwright-core (npm, pinned, into target/tools/; it drives the system chromium over the
#      DevTools protocol and downloads no browser of its own) and axe-core (npm, pinned, into
#      target/tools/: the accessibility rules every page is checked against);
#   2. builds scimbox, seeds a fresh database through the CLI (a token, an admin whose password
#      goes in on stdin, the accounts ACME > ACME-EU, ACME-US and GLOBEX, roles, a webhook whose
#      receiver is down) and starts
#      `scimbox serve` on it, on a free loopback port;
#   3. runs tests/browser/scenario.mjs (log in, users, a user, the journal, /check with the WASM
#      checker, escaping), which prints `browser: N passed, M failed`.
#
# Exits non-zero when a check fails or anything above cannot be done; then the server's log and
# a screenshot plus the HTML of each failed page are in target/browser/.
set -euo pipefail
cd "$(dirname "$0")/../.."

PLAYWRIGHT_CORE_VERSION=1.65.1
AXE_CORE_VERSION=4.14.1

started=$(date +%s.%N)
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
out=$target_dir/browser
rm -rf "$out"
mkdir -p "$out"

say() { printf '%s\n' "$*" >&2; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# 1. chromium and playwright-core ------------------------------------------------------------
if ! command -v chromium >/dev/null; then
    say "installing Debian's chromium (apt-get)"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
chromium=$(command -v chromium)

pw=$target_dir/tools/playwright-core-$PLAYWRIGHT_CORE_VERSION
if [ ! -f "$pw/node_modules/playwright-core/package.json" ]; then
    say "installing playwright-core $PLAYWRIGHT_CORE_VERSION (npm) into $pw"
    mkdir -p "$pw"
    npm install --prefix "$pw" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null
fi
axe=$target_dir/tools/axe-core-$AXE_CORE_VERSION
if [ ! -f "$axe/node_modules/axe-core/axe.min.js" ]; then
    say "installing axe-core $AXE_CORE_VERSION (npm) into $axe"
    mkdir -p "$axe"
    npm install --prefix "$axe" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        "axe-core@$AXE_CORE_VERSION" >/dev/null
fi
installed=$(elapsed "$started")

# 2. a seeded server ---------------------------------------------------------------------------
cargo build --quiet --locked -p scimbox
bin=$target_dir/debug/scimbox
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

db=$work/scimbox.db
# One CLI command on the database; its messages go to target/browser/seed.log.
cli() {
    "$bin" "$@" --db "$db" 2>>"$out/seed.log" || {
        cat "$out/seed.log" >&2
        say "browser: seeding failed: scimbox $*"
        exit 1
    }
}
token=$(cli token create --name browser)
admin=admin
password=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
printf '%s\n' "$password" | cli admin add "$admin"
cli account add ACME --name "Acme Corp"
cli account add ACME-EU --name "Acme Europe" --parent ACME
cli account add ACME-US --name "Acme Americas" --parent ACME
cli account add GLOBEX --name "Globex Corporation"
for role in Admin Editor Viewer; do cli role add "$role"; done
# A webhook whose receiver is never there (the discard port): /webhooks shows it retrying.
cli webhook add --name billing --url http://127.0.0.1:9/hook --types 'user.*' >/dev/null

NO_COLOR=1 RUST_LOG=info "$bin" serve --db "$db" --listen 127.0.0.1:0 >"$out/server.log" 2>&1 &
server_pid=$!
origin=""
for _ in $(seq 100); do
    origin=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$out/server.log" | head -n1 || true)
    [ -n "$origin" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$origin" ]; then
    cat "$out/server.log" >&2
    say "browser: the server did not start"
    exit 1
fi
seeded=$(elapsed "$started")

# 3. the scenario ------------------------------------------------------------------------------
say "scimbox at $origin (database $db); $("$chromium" --version 2>/dev/null | head -n1)"
status=0
SCREENSHOTS=${SCREENSHOTS:-} SCIMBOX_ORIGIN=$origin SCIMBOX_TOKEN=$token SCIMBOX_ADMIN=$admin SCIMBOX_PASSWORD=$password \
    PLAYWRIGHT_CORE=$pw/node_modules AXE_CORE=$axe/node_modules/axe-core/axe.min.js CHROMIUM=$chromium ARTIFACTS=$out \
    node tests/browser/scenario.mjs || status=$?
if [ "$status" != 0 ]; then
    say "the server's log: $out/server.log (last lines below)"
    tail -n 20 "$out/server.log" >&2
fi
say "browser step: $(elapsed "$started") s in all (install $installed s, build and seed until $seeded s)"
exit "$status"
