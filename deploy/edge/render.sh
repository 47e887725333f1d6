#!/bin/sh
# Render the edge's nginx configuration (edge.conf.template) with envsubst:
#   EDGE_USER=www-data EDGE_RUN_DIR=/tmp/rc-edge EDGE_LISTEN=0.0.0.0:8088 EDGE_ORIGIN=origin:443 \
#   EDGE_ORIGIN_NAME=radio.example EDGE_ORIGIN_CA=/etc/ssl/certs/ca-certificates.crt \
#   EDGE_ERROR_LOG=/tmp/rc-edge/error.log EDGE_ACCESS_LOG=/tmp/rc-edge/access.log \
#   EDGE_CACHE_SIZE=1g deploy/edge/render.sh
#   nginx -p /tmp/rc-edge/ -c /tmp/rc-edge/edge.conf
# Only EDGE_* variables are substituted; nginx's own $variables are left alone.
set -eu
: "${EDGE_RUN_DIR:?set EDGE_RUN_DIR to the edge's folder}"
here=$(dirname "$0")
vars=$(env | sed -n 's/^\(EDGE_[A-Z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
mkdir -p "$EDGE_RUN_DIR"
envsubst "$vars" < "$here/edge.conf.template" > "$EDGE_RUN_DIR/edge.conf"
echo "rendered $EDGE_RUN_DIR/edge.conf"
