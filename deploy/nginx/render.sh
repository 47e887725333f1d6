#!/bin/sh
# Render the nginx templates outside Docker (the nginx image does the same with envsubst):
#   NGINX_CONF_DIR=/tmp/rc-nginx NGINX_...=... deploy/nginx/render.sh
#   nginx -p /tmp/rc-nginx -c /tmp/rc-nginx/nginx.conf
# Only NGINX_* variables are substituted; nginx's own $variables are left alone.
set -eu
: "${NGINX_CONF_DIR:?set NGINX_CONF_DIR to the output folder}"
here=$(dirname "$0")
vars=$(env | sed -n 's/^\(NGINX_[A-Z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
mkdir -p "$NGINX_CONF_DIR"
for template in "$here"/*.template; do
    envsubst "$vars" < "$template" > "$NGINX_CONF_DIR/$(basename "$template" .template)"
done
echo "rendered into $NGINX_CONF_DIR"
