#!/usr/bin/env bash
# Builds stand-ins for the official base images, for a machine whose Docker cannot pull from
# Docker Hub: a minimal Debian (debootstrap --variant=minbase bookworm) with this machine's own
# Node 20 and npm, and the same Debian with this machine's nats-server. Each image is tagged by a
# digest of what went into it, so a second run finds it and builds nothing.
#
# Prints two lines on stdout: MRM_NODE_IMAGE=<tag> and MRM_NATS_IMAGE=<tag>. Progress on stderr.
# Usage: scripts/docker/stand-in-images.sh   (as root: debootstrap and docker need it)
set -euo pipefail

CACHE_DIR=${MRM_STAND_IN_CACHE:-/var/cache/mrm-stand-in}
SUITE=bookworm
MIRROR=${MRM_DEBIAN_MIRROR:-http://deb.debian.org/debian}

node_bin=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")   # …/node_modules/npm
nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
[[ -x $nats_bin ]] || { echo "stand-in-images: nats-server is not installed (apt-get install nats-server)" >&2; exit 1; }
[[ $("$node_bin" --version) == v20.* ]] || { echo "stand-in-images: $node_bin is $("$node_bin" --version), not Node 20" >&2; exit 1; }

digest() { sha256sum | cut -c1-12; }
recipe=$(sha256sum "$0" | cut -c1-12)
node_tag="mrm-stand-in/node:20-$( { echo "$recipe"; "$node_bin" --version; npm --version; sha256sum "$node_bin"; } | digest)"
nats_tag="mrm-stand-in/nats:$( { echo "$recipe"; sha256sum "$nats_bin"; } | digest)"

have() { docker image inspect "$1" >/dev/null 2>&1; }

rootfs="$CACHE_DIR/$SUITE-minbase"
base_rootfs() {
  if [[ ! -f $rootfs/.complete ]]; then
    echo "stand-in-images: debootstrap --variant=minbase $SUITE (once; cached in $rootfs)" >&2
    rm -rf "$rootfs"
    mkdir -p "$CACHE_DIR"
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >&2
    touch "$rootfs/.complete"
  fi
}

# Imports a copy of the base root with extra files: import_image <tag> <setup-function> <docker-import --change…>
import_image() {
  local tag=$1 setup=$2
  shift 2
  local work
  work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
  cp -a "$rootfs/." "$work/"
  rm -f "$work/.complete"
  "$setup" "$work"
  tar -C "$work" -c . | docker import "$@" - "$tag" >/dev/null
  rm -rf "$work"
  echo "stand-in-images: built $tag" >&2
}

setup_node() {
  local root=$1
  install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # This machine reaches the npm registry through its own CA bundle (npm's cafile): give the
  # image the same, as an image built here from node:20-slim would need too.
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$root/usr/local/etc"
    echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$root/usr/local/etc/npmrc"
  fi
  # The official image's unprivileged user.
  echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$root/etc/passwd"
  echo 'node:x:1000:' >>"$root/etc/group"
  echo 'node:*:19000:0:99999:7:::' >>"$root/etc/shadow"
  install -d -o 1000 -g 1000 "$root/home/node"
}

setup_nats() {
  install -D -m 0755 "$nats_bin" "$1/usr/local/bin/nats-server"
}

if have "$node_tag" && have "$nats_tag"; then
  echo "stand-in-images: cached $node_tag, $nats_tag" >&2
else
  base_rootfs
  have "$node_tag" || import_image "$node_tag" setup_node \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]'
  have "$nats_tag" || import_image "$nats_tag" setup_nats \
    --change 'EXPOSE 4222 6222 8222' --change 'ENTRYPOINT ["/usr/local/bin/nats-server"]'
fi
echo "MRM_NODE_IMAGE=$node_tag"
echo "MRM_NATS_IMAGE=$nats_tag"
