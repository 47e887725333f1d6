#!/bin/sh
# A .env from .env.example with fresh secrets:  deploy/make-env.sh [FILE] [NAME=VALUE ...]
# FILE defaults to deploy/.env and is never overwritten. SECRET_KEY and POSTGRES_PASSWORD
# get `openssl rand -hex`; every NAME=VALUE given replaces that line (or is appended).
set -eu
here=$(dirname "$0")
file=${1:-$here/.env}
[ $# -eq 0 ] || shift
if [ -e "$file" ]; then
    echo "make-env: $file exists; not overwriting it" >&2; exit 1
fi
umask 077
set -- "SECRET_KEY=$(openssl rand -hex 32)" "POSTGRES_PASSWORD=$(openssl rand -hex 24)" "$@"
cp "$here/.env.example" "$file.tmp"
for pair in "$@"; do
    name=${pair%%=*}
    if grep -q "^$name=" "$file.tmp"; then
        # Replace the line; the value is taken literally (awk, not sed: no escaping issues).
        NAME="$name" PAIR="$pair" awk '{ if (index($0, ENVIRON["NAME"] "=") == 1) print ENVIRON["PAIR"]; else print }' \
            "$file.tmp" > "$file.tmp2" && mv "$file.tmp2" "$file.tmp"
    else
        echo "$pair" >> "$file.tmp"
    fi
done
mv "$file.tmp" "$file"
echo "make-env: wrote $file with a fresh SECRET_KEY and POSTGRES_PASSWORD"
