#!/bin/sh
# Makes the base images the Dockerfiles build FROM, under local names:
#   lcp-base/node:20     Node.js 20 on Debian bookworm (the apps)
#   lcp-base/debian:12   Debian bookworm (PostgreSQL, Postfix)
# Where a registry answers they are the official images (node:20-bookworm-slim,
# debian:bookworm-slim), pulled and tagged. Where none does, they are made here: debootstrap a
# minimal bookworm from the Debian mirror, `docker import` it, and add this machine's Node.js 20
# binary. Idempotent: returns at once when both images exist.
set -eu
NODE_IMAGE=lcp-base/node:20
DEBIAN_IMAGE=lcp-base/debian:12
have() { docker image inspect "$1" >/dev/null 2>&1; }
have "$NODE_IMAGE" && have "$DEBIAN_IMAGE" && exit 0

if timeout 20 docker pull -q node:20-bookworm-slim >/dev/null 2>&1 && timeout 20 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
  docker tag node:20-bookworm-slim "$NODE_IMAGE"
  docker tag debian:bookworm-slim "$DEBIAN_IMAGE"
  exit 0
fi

echo "docker/base-images.sh: no image registry answers; making $DEBIAN_IMAGE and $NODE_IMAGE with debootstrap (a few minutes, once)"
if ! command -v debootstrap >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "debootstrap is missing; install it (apt-get install debootstrap) and run again" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
MIRROR=${LCP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d /var/tmp/lcp-bookworm.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null
# as the official images do: no recommends, no cached package lists
printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/90lcp-no-recommends"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null

# Node.js: this machine's own node 20 binary, where the official image keeps it, and its user
node=$(command -v node)
"$node" -e 'process.exit(process.versions.node.split(".")[0] === "20" ? 0 : 1)' || { echo "node on PATH is not Node.js 20" >&2; exit 1; }
cp "$(readlink -f "$node")" "$root/usr/local/bin/node"
chroot "$root" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
tar -C "$root" -c . | docker import --change 'CMD ["node"]' - "$NODE_IMAGE" >/dev/null
echo "docker/base-images.sh: made $DEBIAN_IMAGE and $NODE_IMAGE"
