#!/usr/bin/env bash
# Local stand-ins for the upstream base images, for a machine that cannot pull them (no registry reachable).
#
#   sprint-base-debian:12     Debian 12 (bookworm) made by debootstrap from the host's apt mirror, with what
#                             mcr.microsoft.com/dotnet/runtime-deps:10.0 adds (ca-certificates, ICU, OpenSSL, tzdata, zlib)
#   sprint-base-aspnet:10.0   + this machine's .NET runtime and ASP.NET Core in /usr/share/dotnet and the "app" user
#                             (1654), as mcr.microsoft.com/dotnet/aspnet:10.0 has them
#   sprint-base-sdk:10.0      + this machine's whole .NET SDK, as mcr.microsoft.com/dotnet/sdk:10.0, and the host's
#                             local CAs (/usr/local/share/ca-certificates) so its restore reaches NuGet as the host's does
#   sprint-base-redis:7       + Debian's redis-server (for redis:7.4.2-alpine)
#   sprint-base-prometheus:2  + Debian's prometheus (for prom/prometheus)
#
# deploy/docker/Dockerfile builds from them with --build-arg SDK_IMAGE=sprint-base-sdk:10.0 RUNTIME_IMAGE=sprint-base-aspnet:10.0
# and compose runs Redis and Prometheus from them with SPRINT_REDIS_IMAGE / SPRINT_PROMETHEUS_IMAGE (up.sh does both).
# An image that exists is kept (--force makes all anew). The debootstrap root file system is cached in
# ${SPRINT_CACHE:-~/.cache/sprint}/debian-bookworm.tar. Needs root (debootstrap) or an engine that runs as root.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh"
force=0; [ "${1:-}" = --force ] && force=1
pick_engine || die "no container engine: install Docker or Podman (apt-get install podman runc)"

CACHE="${SPRINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sprint}"
DOTNET_ROOT_HOST="${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}"
mkdir -p "$CACHE"

have() { [ "$force" = 0 ] && "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

# The first URI of the host's apt sources (deb822 or one-line format), else Debian's own.
mirror() {
  local m
  m=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | head -n1 | awk '{print $2}')
  [ -n "$m" ] || m=$(grep -hsE '^deb ' /etc/apt/sources.list | grep -v security | head -n1 | awk '{print $2}')
  echo "${m:-http://deb.debian.org/debian}"
}

if ! have sprint-base-debian:12; then
  rootfs_tar="$CACHE/debian-bookworm.tar"
  if [ ! -s "$rootfs_tar" ] || [ "$force" = 1 ]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
    [ "$(id -u)" = 0 ] || die "debootstrap needs root"
    dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$dir"' EXIT
    say "debootstrap: Debian 12 from $(mirror) (about a minute)"
    debootstrap --variant=minbase --include=ca-certificates,libicu72,libssl3,tzdata,zlib1g \
      bookworm "$dir" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed (see $CACHE/debootstrap.log)"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*
    tar -C "$dir" --numeric-owner -cf "$rootfs_tar.part" . && mv "$rootfs_tar.part" "$rootfs_tar"
    rm -rf "$dir"; trap - EXIT
  fi
  "$ENGINE" import --change 'CMD ["bash"]' "$rootfs_tar" sprint-base-debian:12 >"$CACHE/import.log" 2>&1 \
    || { cat "$CACHE/import.log" >&2; die "importing the root file system failed"; }
  say "made sprint-base-debian:12"
fi

# The stand-ins' own Containerfiles are in deploy/local/base/; the .NET ones copy from the host's dotnet folder.
build() {   # build IMAGE CONTAINERFILE CONTEXT [WHAT]
  have "$1" && return 0
  "$ENGINE" build -t "$1" -f "$ROOT/deploy/local/base/$2" "$3" >"$CACHE/build-${1%%:*}.log" 2>&1 \
    || { tail -n 20 "$CACHE/build-${1%%:*}.log" >&2; die "building $1 failed (the whole log: $CACHE/build-${1%%:*}.log)"; }
  say "made $1${4:+ ($4)}"
}
[ -x "$DOTNET_ROOT_HOST/dotnet" ] || die "no .NET at $DOTNET_ROOT_HOST (set DOTNET_ROOT)"
build sprint-base-aspnet:10.0 aspnet.Containerfile "$DOTNET_ROOT_HOST"
if ! have sprint-base-sdk:10.0; then
  build sprint-base-sdk:10.0 sdk.Containerfile "$DOTNET_ROOT_HOST"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    force=1 build sprint-base-sdk:10.0 sdk-host-ca.Containerfile /usr/local/share/ca-certificates "with the host's local CAs"
  fi
fi
build sprint-base-redis:7 redis.Containerfile "$ROOT/deploy/local/base"
build sprint-base-prometheus:2 prometheus.Containerfile "$ROOT/deploy/local/base"
