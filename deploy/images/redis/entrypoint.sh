#!/bin/sh
# As the official image: arguments starting with '-' are redis-server's, and without a
# config file protected mode is turned off (reachable from the other containers).
set -eu
[ "${1#-}" = "$1" ] || set -- redis-server "$@"
if [ "$1" = redis-server ]; then
    case "${2:-}" in
        *.conf) ;;
        *) shift; set -- redis-server --protected-mode no "$@" ;;
    esac
fi
exec "$@"
