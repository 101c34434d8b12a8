#!/usr/bin/env python3
"""Follows scimbox's change feed the way an application should (docs/app-integration.md).

Standard library only. It long-polls GET /api/v1/events with an app token, hands each event to
handle(), and only then writes the feed's "next" cursor to a file (atomically), so a crash or a
restart resumes where it stopped: every event is seen at least once, in order. A 410 (the cursor
is older than what scimbox keeps) means events were missed: it reconciles with a full read of
/Users and starts again from the oldest kept event. Network errors and 5xx back off and retry.

    scimbox token create --db scimbox.db --name my-app --scope app
    python3 examples/feed_consumer.py --url http://127.0.0.1:8080 --token TOKEN \\
        --cursor-file my-app.cursor --types 'user.*,access.*'

Each event is printed as one JSON line: {"seq", "type", "resource", "data"}. --idle-exit N stops
after N long polls in a row that brought nothing (what a test or a cron job wants).
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def get(url, token, timeout):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


def load_cursor(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


def save_cursor(path, cursor):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(cursor)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic: the file holds the old cursor or the new one, never half


def handle(event):
    """The application's work for one event. It must be idempotent: after a crash between
    handling and saving the cursor, the same event comes again (its "id" tells)."""
    out = {k: event[k] for k in ("seq", "type", "resource", "data")}
    print(json.dumps(out), flush=True)


def reconcile(origin, token):
    """Missed events cannot be replayed: read the current state instead (here, just count)."""
    start, seen = 1, 0
    while True:
        page = get(f"{origin}/scim/v2/Users?startIndex={start}&count=200", token, 30)
        got = len(page.get("Resources", []))
        seen += got
        if got == 0 or seen >= page.get("totalResults", 0):
            break
        start += got
    print(f"reconciled: {seen} users read in full", file=sys.stderr)


def follow(origin, token, cursor_file, types, wait, idle_exit):
    cursor = load_cursor(cursor_file)
    idle, backoff = 0, 1
    while True:
        params = {"limit": "100", "wait": str(wait)}
        if cursor:
            params["after"] = cursor
        if types:
            params["types"] = types
        url = f"{origin}/api/v1/events?{urllib.parse.urlencode(params)}"
        try:
            page = get(url, token, wait + 30)
        except urllib.error.HTTPError as e:
            if e.code == 410:
                print("cursor older than what scimbox keeps: reconciling", file=sys.stderr)
                reconcile(origin, token)
                cursor = None  # from the oldest kept event
                continue
            if e.code in (429, 503) or e.code >= 500:
                time.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            sys.exit(f"the feed refused the request: {e.code} {e.read().decode(errors='replace')}")
        except (urllib.error.URLError, TimeoutError) as e:
            print(f"feed unreachable ({e}); retrying in {backoff} s", file=sys.stderr)
            time.sleep(backoff)
            backoff = min(backoff * 2, 60)
            continue
        backoff = 1
        for event in page["events"]:
            handle(event)
        cursor = page["next"]
        save_cursor(cursor_file, cursor)  # after handling: at least once, never lost
        idle = 0 if page["events"] else idle + 1
        if idle_exit and idle >= idle_exit:
            return


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="scimbox's origin, such as http://127.0.0.1:8080")
    p.add_argument("--token", required=True, help="a token of scope app")
    p.add_argument("--cursor-file", required=True, help="where the cursor is kept between runs")
    p.add_argument("--types", default="", help="such as 'user.*,access.*' (default: every type)")
    p.add_argument("--wait", type=int, default=30, help="long-poll seconds (at most 60)")
    p.add_argument("--idle-exit", type=int, default=0, help="stop after N empty polls in a row")
    a = p.parse_args()
    follow(a.url.rstrip("/"), a.token, a.cursor_file, a.types, a.wait, a.idle_exit)


if __name__ == "__main__":
    main()
