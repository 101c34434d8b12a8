#!/usr/bin/env bash
# Issue 7's comparison in one command: builds scimbox and the bench in release mode, installs the
# peer (the Python scim2-server and gunicorn, pinned in bench/peer/requirements.txt) into
# target/bench-venv, then runs `scimbox-bench compare` and prints its table; then
# `scimbox-bench paging` (issue 13: every user by startIndex and by cursor, 100,000 users), then
# `scimbox-bench feed` (issue 14: the change feed's lag behind 1,000 changes/s for 10 s).
# `--users 1000000` (or any size above 100,000) runs `scimbox-bench scale` instead (issue 17: the
# release binary at 10,000 / 100,000 / that many users, one column each; about 20 minutes and
# 2 GB of temporary disk for a million); the smoke run runs its smallest form too.
#
#   scripts/bench.sh                      100,000 users, the table of docs/benchmarks.md
#   scripts/bench.sh --users 20000        any `scimbox-bench compare` option passes through
#   scripts/bench.sh --users 1000000      the scaling table of docs/benchmarks.md (not in the tests)
#   scripts/bench.sh --json               the figures as JSON
#   scripts/bench.sh --smoke              a few hundred users on debug builds: checks that every
#                                         workload runs (the test script does this), no figures
#   scripts/bench.sh --pg --instances 1,2 --users 10000
#                                         issue 18: `compare` on SQLite and then on a durable
#                                         throwaway PostgreSQL cluster (scripts/pg.sh start
#                                         --durable, stopped at exit) with 1 and 2 instances; one
#                                         more table, PostgreSQL beside SQLite. No peer, no
#                                         paging, feed or scale. `--db-url URL` instead of `--pg`
#                                         uses that cluster (the test script's smoke does).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
args=()
scale_args=()
scale_to=""
paging_args=()
feed_args=()
pg=""
for arg in "$@"; do
    case "$arg" in
        --pg) pg=start ;;
        --db-url | --db-url=*) [ -n "$pg" ] || pg=given; args+=("$arg") ;;
        --smoke)
            profile=debug
            args+=(--users 300 --seconds 0.2 --entra-users 40 --membership-ops 10 --import-seconds 10 --smoke)
            paging_args+=(--users 300 --samples 3)
            feed_args+=(--smoke)
            scale_args+=(--smoke)
            ;;
        --json)
            args+=("$arg")
            paging_args+=("$arg")
            feed_args+=("$arg")
            scale_args+=("$arg")
            ;;
        *) args+=("$arg") ;;
    esac
done
# `--users N` above 100,000: the scaling table rather than the comparison (whose peer and POST
# seeding would take hours at that size).
for i in "${!args[@]}"; do
    if [ "${args[$i]}" = --users ] && [ -n "${args[$((i + 1))]:-}" ]; then
        n="${args[$((i + 1))]//_/}"
        if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 100000 ]; then
            scale_to="$n"
        fi
    fi
done
if [ -n "$pg" ]; then
    if [ "$profile" = release ]; then
        cargo build --locked --release -p scimbox -p scimbox-bench
    else
        cargo build --locked -p scimbox -p scimbox-bench
    fi
    if [ "$pg" = start ]; then
        pg_url=$(scripts/pg.sh start --durable)
        trap 'scripts/pg.sh stop "$pg_url"' EXIT
        args+=(--db-url "$pg_url")
    fi
    "target/$profile/scimbox-bench" compare --scimbox "target/$profile/scimbox" "${args[@]}"
    exit 0
fi
if [ -n "$scale_to" ] && [ "$profile" = release ]; then
    cargo build --locked --release -p scimbox -p scimbox-bench
    exec target/release/scimbox-bench scale --users "10000,100000,$scale_to" --scimbox target/release/scimbox \
        "${scale_args[@]}"
fi

venv=target/bench-venv
if [ ! -x "$venv/bin/gunicorn" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/peer/requirements.txt

if [ "$profile" = release ]; then
    cargo build --locked --release -p scimbox -p scimbox-bench
else
    cargo build --locked -p scimbox -p scimbox-bench
fi
"target/$profile/scimbox-bench" compare --scimbox "target/$profile/scimbox" --peer-venv "$venv" "${args[@]}"
echo
"target/$profile/scimbox-bench" paging "${paging_args[@]}"
echo
"target/$profile/scimbox-bench" feed "${feed_args[@]}"
if [ "$profile" = debug ]; then
    echo
    # `ab` (two binaries alternating) with the one binary on both sides: that it runs, not figures.
    "target/$profile/scimbox-bench" ab --a "target/$profile/scimbox" --b "target/$profile/scimbox" --rounds 1 \
        --seconds 0.2 --users 100 --clients 4
    echo
    exec "target/$profile/scimbox-bench" scale --scimbox "target/$profile/scimbox" "${scale_args[@]}"
fi
