#!/bin/sh
# First start: initdb in PGDATA with POSTGRES_USER/POSTGRES_PASSWORD(_FILE), create POSTGRES_DB,
# listen on every interface with SCRAM passwords. Later starts: just the server.
set -eu
[ "${1#-}" = "$1" ] || set -- postgres "$@"
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    # A Docker/Swarm secret (/run/secrets/...), as the official image reads it.
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        [ -z "${POSTGRES_PASSWORD:-}" ] || { echo "postgres: POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are both set: keep one" >&2; exit 1; }
        POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE") || { echo "postgres: POSTGRES_PASSWORD_FILE ($POSTGRES_PASSWORD_FILE) cannot be read" >&2; exit 1; }
    fi
    : "${POSTGRES_PASSWORD:?postgres: POSTGRES_PASSWORD is not set; refusing to create a database without one}"
    user=${POSTGRES_USER:-postgres} db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    if [ "$db" != postgres ]; then
        pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
        psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres -q \
            -c "CREATE DATABASE \"$db\""
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    echo "postgres: initialised $PGDATA (role $user, database $db)"
fi
exec "$@"
