#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for scimbox's tests and benchmarks (issue 18): never a service of
# the machine. `start` installs Debian's `postgresql` when its binaries are missing, runs initdb as
# the `postgres` OS user (initdb and postgres refuse root) into a fresh temporary directory, starts
# the server on a free port of 127.0.0.1 with its own socket directory, creates the role `scimbox`
# (LOGIN CREATEDB: each test creates a database of its own), and prints the URL of its database
# `scimbox`. Only that role may log in over TCP, without a password (trust): the cluster listens on
# the loopback address only and lives as long as the test run.
#
#   url=$(scripts/pg.sh start)     prints postgres://scimbox@127.0.0.1:PORT/scimbox
#   url=$(scripts/pg.sh start --durable)   the same, durable and with pg_stat_statements (benchmarks)
#   url=$(scripts/pg.sh start --ssl)   the same with TLS on (ssl=on; plain connections still work)
#                                  (both options may be given, in either order)
#   scripts/pg.sh ca "$url"        prints the CA certificate file that signed a --ssl cluster's
#                                  certificate (for sslrootcert=; the certificate names 127.0.0.1
#                                  and localhost)
#   scripts/pg.sh stop "$url"      stops that cluster and removes its directory
#   scripts/pg.sh psql "$url" ...  psql on it (as the scimbox role)
#
# fsync is off: a test cluster outlives no crash of the machine, and scimbox's own kill -9 tests
# kill scimbox, not PostgreSQL. `--durable` (the benchmark's cluster) keeps PostgreSQL's defaults
# instead: fsync, synchronous_commit and full_page_writes on, so a commit is on disk before its
# answer, as SQLite's are; it also loads pg_stat_statements and creates it in template1, so every
# database created from then on can count its statements. The cluster's directory is
# /tmp/scimbox-pg-PORT.XXXXXX, which is how `stop` finds it from the URL.
set -euo pipefail

bin=${SCIMBOX_PG_BIN:-/usr/lib/postgresql/15/bin}

usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { print }' "$0" >&2
    exit 2
}

ensure_installed() {
    if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && id postgres >/dev/null 2>&1; then
        return
    fi
    echo "pg.sh: installing Debian's postgresql (binaries not found in $bin)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # policy-rc.d keeps the package from starting the machine's own cluster.
    local policy=/usr/sbin/policy-rc.d restore=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && restore=1
    fi
    apt-get install -y -qq postgresql >&2
    [ -n "$restore" ] && rm -f "$policy"
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    [ -x "$bin/initdb" ] || { echo "pg.sh: no initdb after installing postgresql" >&2; exit 1; }
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_postgres() {
    runuser -u postgres -- "$@"
}

port_of() {
    local port=${1##*:}
    port=${port%%/*}
    case "$port" in '' | *[!0-9]*) echo "pg.sh: no port in '$1'" >&2; exit 2 ;; esac
    echo "$port"
}

# A throwaway CA and a server certificate it signs (EC P-256, two days), in $1/tls: ca.pem is
# world-readable for clients, server.key only the postgres user's (the server refuses others).
make_certificates() {
    local tls=$1/tls
    mkdir "$tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=scimbox pg.sh test CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
        -extfile "$tls/server.ext" -out "$tls/server.crt" 2>/dev/null
    rm -f "$tls/ca.key" "$tls/server.csr"
    chmod 600 "$tls/server.key"
}

start() {
    local durable="" ssl=""
    for option in "$@"; do
        case "$option" in
            --durable) durable=1 ;;
            --ssl) ssl=1 ;;
            *) usage ;;
        esac
    done
    ensure_installed
    local port dir options
    port=$(free_port)
    dir=$(mktemp -d "/tmp/scimbox-pg-$port.XXXXXX")
    mkdir "$dir/data" "$dir/socket"
    options="-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c max_connections=400"
    if [ -n "$durable" ]; then
        options+=" -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
        options+=" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_utility=on"
    else
        options+=" -c fsync=off"
    fi
    if [ -n "$ssl" ]; then
        command -v openssl >/dev/null || { echo "pg.sh: --ssl needs openssl" >&2; rm -rf "$dir"; exit 1; }
        make_certificates "$dir"
        options="$options -c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key"
    fi
    chown -R postgres:postgres "$dir"
    chmod 700 "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=reject \
        -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
    cat >"$dir/data/pg_hba.conf" <<'EOF'
# scripts/pg.sh: the superuser over the cluster's own socket, the test role over loopback TCP.
local all postgres trust
host  all scimbox 127.0.0.1/32 trust
EOF
    if ! as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o "$options" >/dev/null; then
        cat "$dir/server.log" >&2
        rm -rf "$dir"
        exit 1
    fi
    as_postgres "$bin/psql" -h "$dir/socket" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE scimbox LOGIN CREATEDB" -c "CREATE DATABASE scimbox OWNER scimbox" >/dev/null
    if [ -n "$durable" ]; then
        for db in template1 scimbox; do
            as_postgres "$bin/psql" -h "$dir/socket" -p "$port" -U postgres -d "$db" -qAt -v ON_ERROR_STOP=1 \
                -c "CREATE EXTENSION pg_stat_statements" >/dev/null
        done
    fi
    echo "postgres://scimbox@127.0.0.1:$port/scimbox"
}

ca() {
    local port dir
    port=$(port_of "$1")
    for dir in /tmp/scimbox-pg-"$port".*; do
        [ -f "$dir/tls/ca.pem" ] || continue
        echo "$dir/tls/ca.pem"
        return 0
    done
    echo "pg.sh: no cluster of this script with --ssl on port $port" >&2
    exit 1
}

stop() {
    local port dir
    port=$(port_of "$1")
    for dir in /tmp/scimbox-pg-"$port".*; do
        [ -d "$dir/data" ] || continue
        as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$dir"
        return 0
    done
    echo "pg.sh: no cluster of this script on port $port" >&2
    exit 1
}

case "${1:-}" in
    start) [ $# -le 3 ] || usage; shift; start "$@" ;;
    ca) [ $# -eq 2 ] || usage; ca "$2" ;;
    stop) [ $# -eq 2 ] || usage; stop "$2" ;;
    psql) [ $# -ge 2 ] || usage; url=$2; shift 2; "$bin/psql" "$url" "$@" ;;
    *) usage ;;
esac
