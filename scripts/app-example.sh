#!/usr/bin/env bash
# Runs the example feed consumer (examples/feed_consumer.py, docs/app-integration.md) against a
# real scimbox on a fresh database and checks what it saw: the events of a user given access,
# then, in a second run from the kept cursor, only what happened since (the deactivation). Quick
# (a few seconds once the binary is built); Python standard library only.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --bin scimbox
bin=target/debug/scimbox
work=$(mktemp -d)
db="$work/app.db"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
idp=$("$bin" token create --db "$db" --name idp)
app=$("$bin" token create --db "$db" --name my-app --scope app)
"$bin" account add --db "$db" ACC1 --name "Acme" 2>/dev/null
"$bin" account add --db "$db" ACC2 --name "Acme EU" --parent ACC1 2>/dev/null

"$bin" serve --db "$db" --listen "127.0.0.1:$port" 2>"$work/server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# The IdP's side: wait for the server, create a user with access to ACC1, later deactivate it.
idp_call() {
    python3 - "$port" "$idp" "$@" <<'PY'
import json, sys, time, urllib.request
port, token, action = sys.argv[1], sys.argv[2], sys.argv[3]
base = f"http://127.0.0.1:{port}/scim/v2"
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)
if action == "ready":
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            sys.exit(0)
        except OSError:
            time.sleep(0.05)
    sys.exit("scimbox did not become ready within 10 s")
if action == "create":
    u = call("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com",
                                "accounts": [{"accountId": "ACC1", "roles": ["Editor"]}]})
    print(u["id"])
if action == "deactivate":
    call("PATCH", f"/Users/{sys.argv[4]}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                            "Operations": [{"op": "replace", "value": {"active": False}}]})
PY
}
idp_call ready
user=$(idp_call create)

consume() {
    python3 examples/feed_consumer.py --url "http://127.0.0.1:$port" --token "$app" \
        --cursor-file "$work/cursor" --types 'user.*,access.*' --wait 1 --idle-exit 1
}
# Checks that the consumer's JSON lines are exactly the expected "type accountId" pairs.
expect() {
    python3 -c '
import json, sys
want = sys.argv[1].split(",")
got = [" ".join(filter(None, [e["type"], e["data"].get("accountId", "")])) for e in map(json.loads, sys.stdin)]
if got != want:
    sys.exit(f"the consumer saw {got}, expected {want}")
print("saw", ", ".join(got))' "$1"
}

consume | expect "user.created,access.granted ACC1,access.granted ACC2"
idp_call deactivate "$user"
consume | expect "user.deactivated,access.changed ACC1,access.changed ACC2"
test -s "$work/cursor" || { echo "no cursor kept"; exit 1; }
echo "example consumer: ok"
