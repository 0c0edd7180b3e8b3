#!/usr/bin/env bash
# A throwaway PgBouncer in transaction mode in front of a PostgreSQL server, so CI can run
# the suite the way Supabase users connect (through a transaction pooler).
#
#   pgbouncer.sh start SERVER_URL  install PgBouncer if missing, write a small ini in a
#                                  temporary folder, start it on 127.0.0.1 in front of
#                                  SERVER_URL's host and port (every database name is
#                                  passed through) and print its postgresql:// URL, with
#                                  the server URL's database, as the last line of stdout
#   pgbouncer.sh url               print the URL of the running pooler
#   pgbouncer.sh stop              stop it and delete its folder (safe to repeat)
#
# Settings (environment): TREADLE_PGBOUNCER_DIR (state folder), TREADLE_PGBOUNCER_PORT
# (default 6543, the port of Supabase's transaction pooler, which Treadle recognises).
# The URL also carries `pgbouncer=true`, as Prisma and Supabase write it. Authentication is
# trust for the server URL's user and it listens on 127.0.0.1 only: for CI machines.
set -euo pipefail

STATE_DIR="${TREADLE_PGBOUNCER_DIR:-${TMPDIR:-/tmp}/treadle-pgbouncer}"
PORT="${TREADLE_PGBOUNCER_PORT:-6543}"
INI_FILE="$STATE_DIR/pgbouncer.ini"
PID_FILE="$STATE_DIR/pgbouncer.pid"
URL_FILE="$STATE_DIR/url"
RUN_AS=postgres

log() { echo "pgbouncer: $*" >&2; }

install_if_missing() {
    if command -v pgbouncer >/dev/null 2>&1; then
        return
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "PgBouncer is not installed and installing it needs root"
        exit 1
    fi
    log "installing Debian's PgBouncer"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq pgbouncer >&2
}

is_running() {
    [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

port_is_busy() {
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# postgresql://user@host:port/database -> its parts (no password: the server trusts local
# connections in CI; a password would have to go into the auth file).
parse_server_url() {
    local rest="${1#*://}"
    rest="${rest%%\?*}"
    SERVER_USER="${rest%%@*}"
    rest="${rest#*@}"
    local host_port="${rest%%/*}"
    SERVER_DATABASE="${rest#*/}"
    SERVER_HOST="${host_port%%:*}"
    SERVER_PORT="${host_port##*:}"
    if [ -z "$SERVER_USER" ] || [ -z "$SERVER_HOST" ] || [ "$SERVER_PORT" = "$host_port" ]; then
        log "expected a URL like postgresql://user@host:port/database, got $1"
        exit 2
    fi
}

# max_prepared_statements exists from PgBouncer 1.21 on; 0 (its default) keeps protocol-level
# prepared statements unsupported, as Debian's older PgBouncer always has them.
prepared_statements_line() {
    local version
    version="$(pgbouncer --version | awk 'NR == 1 {print $2}')"
    if [ "$(printf '%s\n1.21\n' "$version" | sort -V | head -n 1)" = "1.21" ]; then
        echo "max_prepared_statements = 0"
    fi
}

write_ini() {
    echo "\"$SERVER_USER\" \"\"" >"$STATE_DIR/users.txt"
    cat >"$INI_FILE" <<EOF
[databases]
* = host=$SERVER_HOST port=$SERVER_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $STATE_DIR/users.txt
pool_mode = transaction
$(prepared_statements_line)
default_pool_size = 40
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = $STATE_DIR/pgbouncer.log
pidfile = $PID_FILE
EOF
}

start() {
    if is_running; then
        log "already running in $STATE_DIR"
        cat "$URL_FILE"
        return
    fi
    parse_server_url "${1:?usage: $0 start SERVER_URL}"
    install_if_missing
    if port_is_busy "$PORT"; then
        log "port $PORT is taken (set TREADLE_PGBOUNCER_PORT)"
        exit 1
    fi
    rm -rf "$STATE_DIR"
    mkdir -p "$STATE_DIR"
    write_ini
    # PgBouncer refuses to run as root: run it as the `postgres` system user then.
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$RUN_AS:" "$STATE_DIR"
        runuser -u "$RUN_AS" -- pgbouncer -d "$INI_FILE" >&2
    else
        pgbouncer -d "$INI_FILE" >&2
    fi
    wait_until_listening
    echo "postgresql://$SERVER_USER@127.0.0.1:$PORT/$SERVER_DATABASE?pgbouncer=true" >"$URL_FILE"
    log "$(pgbouncer --version | head -n 1) in transaction mode on 127.0.0.1:$PORT"
    cat "$URL_FILE"
}

wait_until_listening() {
    local attempt
    for attempt in $(seq 50); do
        if port_is_busy "$PORT"; then
            return
        fi
        sleep 0.1
    done
    log "did not start listening on $PORT; its log:"
    cat "$STATE_DIR/pgbouncer.log" >&2 || true
    exit 1
}

stop() {
    if is_running; then
        local pid
        pid="$(cat "$PID_FILE")"
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -rf "$STATE_DIR"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    url) is_running && cat "$URL_FILE" ;;
    stop) stop ;;
    *)
        echo "usage: $0 start SERVER_URL | url | stop" >&2
        exit 2
        ;;
esac
