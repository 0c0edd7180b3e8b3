#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server (Debian's package) so CI can run the suite against an
# older major version than the embedded one and catch version drift.
#
#   postgres15.sh [start]  install PostgreSQL 15 if missing, initialise a cluster in a
#                          temporary folder, start it on 127.0.0.1, create a database and
#                          print its postgresql:// URL as the last line of stdout
#   postgres15.sh url      print the URL of the running server
#   postgres15.sh stop     stop the server and delete its folder (safe to repeat)
#
# Settings (environment): TREADLE_PG15_DIR (state folder), TREADLE_PG15_PORT (first port
# to try, default 55432), TREADLE_PG15_DATABASE (default treadle).
# Authentication is trust and it listens on 127.0.0.1 only: for CI machines, not servers.
set -euo pipefail

STATE_DIR="${TREADLE_PG15_DIR:-${TMPDIR:-/tmp}/treadle-postgres15}"
FIRST_PORT="${TREADLE_PG15_PORT:-55432}"
DATABASE="${TREADLE_PG15_DATABASE:-treadle}"
BIN_DIR=/usr/lib/postgresql/15/bin
DATA_DIR="$STATE_DIR/data"
PORT_FILE="$STATE_DIR/port"
LOG_FILE="$STATE_DIR/server.log"
SERVER_USER=postgres

log() { echo "postgres15: $*" >&2; }

# initdb and postgres refuse to run as root: run them as the `postgres` system user then.
as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$STATE_DIR" && runuser -u "$SERVER_USER" -- "$@")
    else
        (cd "$STATE_DIR" && "$@")
    fi
}

install_if_missing() {
    if [ -x "$BIN_DIR/initdb" ]; then
        return
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "PostgreSQL 15 is not installed in $BIN_DIR and installing it needs root"
        exit 1
    fi
    log "installing Debian's PostgreSQL 15"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql-15 >&2 || apt-get install -y -qq postgresql >&2
    if [ ! -x "$BIN_DIR/initdb" ]; then
        log "the installed package has no $BIN_DIR/initdb (is it PostgreSQL 15?)"
        exit 1
    fi
}

is_running() {
    [ -f "$DATA_DIR/postmaster.pid" ] && as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

port_is_busy() {
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

first_free_port() {
    local port
    for ((port = FIRST_PORT; port < FIRST_PORT + 100; port++)); do
        if ! port_is_busy "$port"; then
            echo "$port"
            return
        fi
    done
    log "no free port in $FIRST_PORT..$((FIRST_PORT + 99))"
    exit 1
}

print_url() {
    echo "postgresql://postgres@127.0.0.1:$(cat "$PORT_FILE")/$DATABASE"
}

initialise_cluster() {
    rm -rf "$STATE_DIR"
    mkdir -p "$DATA_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$SERVER_USER:" "$STATE_DIR"
    fi
    as_server_user "$BIN_DIR/initdb" -D "$DATA_DIR" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >&2
}

start() {
    if is_running; then
        log "already running in $STATE_DIR"
        print_url
        return
    fi
    install_if_missing
    initialise_cluster
    local port
    port="$(first_free_port)"
    echo "$port" >"$PORT_FILE"
    as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $DATA_DIR" start >&2
    as_server_user "$BIN_DIR/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DATABASE" >&2
    log "PostgreSQL $(as_server_user "$BIN_DIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
    print_url
}

stop() {
    if is_running; then
        as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -m fast -w stop >&2
    fi
    rm -rf "$STATE_DIR"
}

case "${1:-start}" in
    start) start ;;
    url) is_running && print_url ;;
    stop) stop ;;
    *)
        echo "usage: $0 [start|url|stop]" >&2
        exit 2
        ;;
esac
