#!/bin/sh
# Check the certificate and key, render /etc/nginx/templates (NGINX_* variables) into
# NGINX_CONF_DIR, then run nginx. A missing or unreadable file stops here with one line.
set -eu
for var in NGINX_TLS_CERT NGINX_TLS_KEY; do
    eval "file=\${$var:-}"
    if [ -z "$file" ]; then
        echo "nginx: $var is not set" >&2; exit 1
    elif [ ! -e "$file" ]; then
        echo "nginx: $file ($var) is missing: run deploy/gen-certs.sh or put the real certificate and key in deploy/certs" >&2; exit 1
    elif [ ! -r "$file" ]; then
        echo "nginx: $file ($var) is not readable by uid $(id -u): chgrp $(id -g) it and chmod 640" >&2; exit 1
    fi
done
/etc/nginx/templates/render.sh >/dev/null
exec "$@"
