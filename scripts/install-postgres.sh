#!/usr/bin/env bash
# Makes a throwaway PostgreSQL server available for the storage tests. Idempotent; safe to run often.
#
# - installs Debian's `postgresql` when no server binaries are found (needs root or sudo);
# - creates a cluster in .pgdata/cluster (git-ignored) owned by a non-root user (`postgres` when run
#   as root, since the server refuses to run as root), trusting local connections only;
# - starts it on 127.0.0.1:${TEXTBOT_PG_PORT:-55432} unless it is already running;
# - prints the DATABASE_URL to use as its last line and writes it to .pgdata/database_url.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${TEXTBOT_PGDATA:-$REPO/.pgdata}"
DATA="$BASE/cluster"
PORT="${TEXTBOT_PG_PORT:-55432}"
DB="textbot_test"
URL_FILE="$BASE/database_url"

say() { echo "install-postgres: $*" >&2; }

find_bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else say "need root to run: $*"; return 1
    fi
}

BIN="$(find_bindir)"
if [[ -z "$BIN" ]]; then
    say "no PostgreSQL server binaries: installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -q postgresql >&2 || { as_root apt-get update -q >&2 && as_root apt-get install -y -q postgresql >&2; }
    BIN="$(find_bindir)"
    [[ -n "$BIN" ]] || { say "postgresql installed but no initdb found"; exit 1; }
fi

# The server must not run as root: run it as `postgres` (created by the Debian package) when we are root.
if [[ "$(id -u)" == 0 ]]; then
    OWNER=postgres
    id "$OWNER" >/dev/null 2>&1 || { say "no 'postgres' user to run the server as"; exit 1; }
    run() { runuser -u "$OWNER" -- "$@"; }
else
    OWNER="$(id -un)"
    run() { "$@"; }
fi

mkdir -p "$BASE"
if [[ ! -s "$DATA/PG_VERSION" ]]; then
    say "creating a throwaway cluster in $DATA"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    chown "$OWNER" "$DATA"
    chmod 700 "$DATA"
    run "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$BASE/initdb.log" 2>&1 \
        || { cat "$BASE/initdb.log" >&2; exit 1; }
fi

if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    say "a server already answers on 127.0.0.1:$PORT: using it"
elif ! run "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    say "starting PostgreSQL on 127.0.0.1:$PORT"
    run "$BIN/pg_ctl" -D "$DATA" -w -t 30 -l "$DATA/server.log" \
        -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >&2 \
        || { tail -n 20 "$DATA/server.log" >&2; exit 1; }
fi

if ! "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" \
        | grep -q 1; then
    "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
fi

URL="postgresql://postgres@127.0.0.1:$PORT/$DB"
echo "$URL" >"$URL_FILE"
echo "$URL"
