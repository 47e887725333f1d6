#!/bin/sh
# Builds every image the compose stacks use: `make images` (or deploy/images/build.sh).
#
#   radiocalico:prod, radiocalico:dev   the app and the station (deploy/Dockerfile)
#   radiocalico-postgres:15             PostgreSQL 15      (deploy/images/postgres)
#   radiocalico-redis:7                 Redis 7            (deploy/images/redis)
#   radiocalico-nginx:1.22              the edge           (deploy/images/nginx)
#
# All of them build FROM one Debian bookworm base (BASE_IMAGE) and install Debian's own
# packages, so the same recipe works with or without a reachable image registry:
#   BASE_IMAGE=debian:bookworm-slim   use the public image (pulled by docker as usual);
#   unset: debian:bookworm-slim when it is already in the local image cache, otherwise a
#   root filesystem built here with debootstrap from Debian's packages and `docker import`ed
#   as radiocalico-base:bookworm-<recipe hash>; a base with the same hash is reused.
#
# Registries the builds use, taken from this machine's own settings (override freely):
#   DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR  apt (default: the first URIs in /etc/apt/sources*)
#   PIP_INDEX_URL                          pip (default: `pip config get global.index-url`)
#   NPM_REGISTRY                           npm (default: `npm config get registry`)
#   BUILD_CA_FILE  a PEM bundle of extra CA certificates for the builds' HTTPS (behind a
#                  TLS-inspecting proxy); handed to the RUN steps that download as a
#                  BuildKit secret, so no image layer stores it. Default: the bundle this
#                  machine's pip or npm is told to trust (PIP_CERT, pip's `cert`, npm's
#                  `cafile`), if any.
#   http_proxy, https_proxy, no_proxy      passed through when set.
set -eu
cd "$(dirname "$0")/../.."   # the repository: the app image's build context

# --- a docker client that can use BuildKit (secrets) --------------------------------------
docker_build() {
    DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain "$@"
}
DOCKER=${DOCKER:-}
if [ -z "$DOCKER" ]; then
    for candidate in docker /usr/bin/docker; do
        if command -v "$candidate" >/dev/null 2>&1 \
           && DOCKER_BUILDKIT=1 "$candidate" build --help 2>/dev/null | grep -q -- '--secret'; then
            DOCKER=$candidate; break
        fi
    done
fi
[ -n "$DOCKER" ] || { echo "images: no docker client with BuildKit (install docker.io)" >&2; exit 1; }

first_uri() {  # first_uri PATTERN: the first apt source URI matching PATTERN on this machine
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
        2>/dev/null | grep -oE '(https?|file)://[^ ]+' | grep -E "$1" | head -n 1
}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$(first_uri '/debian/?$' || true)}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(first_uri 'debian-security/?$' || true)}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
PIP_INDEX_URL=${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}
PIP_INDEX_URL=${PIP_INDEX_URL:-https://pypi.org/simple}
NPM_REGISTRY=${NPM_REGISTRY:-$(npm config get registry 2>/dev/null || true)}
NPM_REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org/}
BUILD_CA_FILE=${BUILD_CA_FILE:-${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}}
if [ -z "$BUILD_CA_FILE" ]; then
    BUILD_CA_FILE=$(npm config get cafile 2>/dev/null || true)
    [ "$BUILD_CA_FILE" != null ] && [ "$BUILD_CA_FILE" != undefined ] || BUILD_CA_FILE=
fi

# --- the base ------------------------------------------------------------------------------
if [ -z "${BASE_IMAGE:-}" ]; then
    if "$DOCKER" image inspect debian:bookworm-slim >/dev/null 2>&1; then
        BASE_IMAGE=debian:bookworm-slim
    else
        BASE_IMAGE=$(deploy/images/debian-base.sh "$DOCKER" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR")
    fi
fi
echo "images: base $BASE_IMAGE"

set -- --build-arg "BASE_IMAGE=$BASE_IMAGE" \
       --build-arg "PIP_INDEX_URL=$PIP_INDEX_URL" --build-arg "NPM_REGISTRY=$NPM_REGISTRY"
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    eval "value=\${$var:-}"
    [ -z "$value" ] || set -- "$@" --build-arg "$var=$value"
done
# An empty secret when there is no extra CA: the Dockerfiles treat an empty file as none.
ca=$BUILD_CA_FILE
echo "images: apt $DEBIAN_MIRROR, pip $PIP_INDEX_URL, npm $NPM_REGISTRY, extra CA ${ca:-none}"
if [ -z "$ca" ]; then
    ca=$(mktemp); trap 'rm -f "$ca"' EXIT
fi
set -- "$@" --secret "id=build_ca,src=$ca"

docker_build "$@" -f deploy/Dockerfile --target prod -t radiocalico:prod .
docker_build "$@" -f deploy/Dockerfile --target dev -t radiocalico:dev .
docker_build "$@" -t radiocalico-postgres:15 deploy/images/postgres
docker_build "$@" -t radiocalico-redis:7 deploy/images/redis
docker_build "$@" -f deploy/images/nginx/Dockerfile -t radiocalico-nginx:1.22 deploy
echo "images: built radiocalico:prod radiocalico:dev radiocalico-postgres:15 radiocalico-redis:7 radiocalico-nginx:1.22"
