#!/bin/sh
# A Debian bookworm base image built from Debian's packages, for machines that cannot pull
# debian:bookworm-slim:  debian-base.sh DOCKER MIRROR SECURITY_MIRROR  -> prints the tag.
# The tag carries a hash of this recipe and its inputs; an image with that tag is reused,
# so debootstrap (~25 s) runs once per machine and recipe. Needs root and debootstrap.
set -eu
docker=$1 mirror=$2 security=$3
suite=bookworm
hash=$( { cat "$0"; echo "$suite $mirror $security"; } | sha256sum | cut -c1-12)
tag=radiocalico-base:$suite-$hash
if "$docker" image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag"; exit 0
fi
command -v debootstrap >/dev/null || { echo "debian-base: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "debian-base: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >&2
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SOURCES
# What debian:bookworm-slim does too: no recommends, no docs, no apt caches in layers.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$root/etc/apt/apt.conf.d/90radiocalico"
printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    > "$root/etc/dpkg/dpkg.cfg.d/90radiocalico-nodoc"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" --numeric-owner -c . | "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$tag" >&2
echo "$tag"
