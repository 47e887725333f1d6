#!/bin/sh
# A self-signed certificate for local use: deploy/gen-certs.sh [DIR] [HOSTNAME]
# Writes DIR/tls.crt and DIR/tls.key (DIR defaults to deploy/certs, which compose mounts).
# Production: put the real chain and key at the same two paths (e.g. from certbot).
set -eu
dir=${1:-$(dirname "$0")/certs}
name=${2:-localhost}
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 825 \
    -subj "/CN=$name" \
    -addext "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
# The nginx container runs as uid/gid 101: the key is theirs to read, nobody else's.
if chgrp 101 "$dir/tls.key" 2>/dev/null; then chmod 640 "$dir/tls.key"; else chmod 644 "$dir/tls.key"; fi
chmod 644 "$dir/tls.crt"
echo "wrote $dir/tls.crt and $dir/tls.key (CN=$name, self-signed)"
