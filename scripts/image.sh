#!/usr/bin/env bash
# `npm run image`: builds the Gauntlet image (default tag gauntlet:local) from the Dockerfile, and says
# what it does at each step.
#
# Bases: NODE_IMAGE (and BUILD_IMAGE) from the environment when set; else the official
# node:20-bookworm-slim when it is present or can be pulled; else, where no image registry is
# reachable, two Debian images made here with mmdebstrap + `docker import` (Debian's nodejs):
#   runtime base: nodejs iproute2 iptables ca-certificates
#   build base:   nodejs npm libnode-dev python3 make g++ ca-certificates (npm ci, better-sqlite3 compile)
# Each base is tagged by a hash of its inputs (suite, mirror, packages), so an existing one is reused.
#
# The build runs with BuildKit and gets the host's CA bundle as a build secret (for npm through a
# TLS-inspecting proxy); the secret is mounted for one RUN only and is in no layer of the image.
# The image carries the label gauntlet.inputs (scripts/image-inputs.mjs): the hash of the sources it
# was built from. test/helpers/gauntlet-image.ts compares it to decide whether to rebuild.
#
# Environment: GAUNTLET_IMAGE (tag, default gauntlet:local), NODE_IMAGE, BUILD_IMAGE,
# GAUNTLET_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt; "" for none),
# GAUNTLET_DEBIAN_SUITE (default trixie), GAUNTLET_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${GAUNTLET_IMAGE:-gauntlet:local}
official=node:20-bookworm-slim
suite=${GAUNTLET_DEBIAN_SUITE:-trixie}
mirror=${GAUNTLET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ca_bundle=${GAUNTLET_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
runtime_packages=nodejs,iproute2,iptables,ca-certificates
build_packages=nodejs,npm,libnode-dev,python3,make,g++,ca-certificates

say() { printf '[image] %s\n' "$*" >&2; }
started=$(date +%s)

docker info >/dev/null 2>&1 || { say "no Docker engine answers (docker info failed)"; exit 1; }

# Prints the tag of a Debian base with these packages, making it first unless it exists.
debian_base() {
  local repo=$1 packages=$2 key tag tarball t0
  # The inputs that decide the rootfs; bump v1 when the mmdebstrap options below change.
  key=$(printf 'v1 %s %s %s' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-12)
  tag="$repo:$suite-$key"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    say "base $tag exists (same suite, mirror and packages): reused"
  else
    command -v mmdebstrap >/dev/null || { say "mmdebstrap is missing: apt-get install mmdebstrap"; exit 1; }
    tarball=$(mktemp --suffix=.tar)
    t0=$(date +%s)
    say "making $tag: mmdebstrap --variant=apt --include=$packages $suite (docs, man pages and locales left out)"
    mmdebstrap --quiet --variant=apt --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      "$suite" "$tarball" "$mirror"
    say "docker import $tarball -> $tag"
    docker import --message "mmdebstrap --variant=apt --include=$packages $suite" "$tarball" "$tag" >/dev/null
    rm -f "$tarball"
    say "base $tag made in $(($(date +%s) - t0)) s"
  fi
  printf '%s\n' "$tag"
}

if [ -n "${NODE_IMAGE:-}" ]; then
  node_image=$NODE_IMAGE
  build_image=${BUILD_IMAGE:-$NODE_IMAGE}
  say "bases from the environment: NODE_IMAGE=$node_image BUILD_IMAGE=$build_image"
elif docker image inspect "$official" >/dev/null 2>&1 || { say "trying docker pull $official"; timeout 120 docker pull -q "$official" >/dev/null 2>&1; }; then
  node_image=$official
  build_image=$official
  say "base: the official $official"
else
  say "no registry reachable for $official: making Debian $suite bases"
  node_image=$(debian_base gauntlet-base "$runtime_packages")
  build_image=$(debian_base gauntlet-build-base "$build_packages")
fi

# A docker client that builds with BuildKit: one with the buildx plugin, or one older than 23.0 (BuildKit
# built in, DOCKER_BUILDKIT=1). A newer client without buildx cannot (it says "buildx component is
# missing"), so every docker on PATH is tried, e.g. a recent /usr/local/bin/docker before Debian's.
builder=""
for bin in $(which -a docker | awk '!seen[$0]++'); do
  if "$bin" buildx version >/dev/null 2>&1; then builder=$bin; break; fi
  major=$("$bin" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
  if [ -n "$major" ] && [ "$major" -lt 23 ] 2>/dev/null; then builder=$bin; break; fi
done
[ -n "$builder" ] || { say "no docker client here can build with BuildKit: install the buildx plugin (docker-buildx)"; exit 1; }
say "builder: $builder (client $("$builder" version --format '{{.Client.Version}}' 2>/dev/null))"

inputs=$(node scripts/image-inputs.mjs)
secret=()
if [ -n "$ca_bundle" ]; then
  [ -s "$ca_bundle" ] || { say "CA bundle $ca_bundle is missing or empty (GAUNTLET_CA_BUNDLE= for none)"; exit 1; }
  secret=(--secret "id=ca_bundle,src=$ca_bundle")
  say "the build stage trusts $ca_bundle (build secret, not in the image)"
fi

say "DOCKER_BUILDKIT=1 docker build -t $image (sources $inputs)"
t0=$(date +%s)
DOCKER_BUILDKIT=1 "$builder" build --progress=plain \
  --build-arg "NODE_IMAGE=$node_image" --build-arg "BUILD_IMAGE=$build_image" \
  "${secret[@]}" --label "gauntlet.inputs=$inputs" --label "gauntlet.base=$node_image" \
  -t "$image" .
say "docker build took $(($(date +%s) - t0)) s"
say "$image built in $(($(date +%s) - started)) s in all"
