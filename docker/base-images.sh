#!/usr/bin/env bash
# Local stand-ins for the public images the Dockerfile and the compose test use, for machines
# where no image registry is reachable: a Debian bookworm minbase root filesystem made with
# debootstrap from Debian's packages and `docker import`ed (for debian:bookworm-slim), and a
# Redis image built on it from Debian's redis-server package (for redis:7-alpine). An image that
# exists already is reused.
#
# Usage: docker/base-images.sh        (root, a running Docker engine, debootstrap)
# Prints "<base image> <redis image>". Names: YAMUX_PERF_BASE_IMAGE (yamux-perf-base:bookworm),
# YAMUX_PERF_REDIS_IMAGE (yamux-perf-redis:bookworm); mirror: DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."
base="${YAMUX_PERF_BASE_IMAGE:-yamux-perf-base:bookworm}"
redis="${YAMUX_PERF_REDIS_IMAGE:-yamux-perf-redis:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

exists() { docker image inspect "$1" >/dev/null 2>&1; }

if ! exists "$base"; then
    command -v debootstrap >/dev/null || {
        echo "base-images.sh: $base is missing and debootstrap is not installed" >&2
        exit 1
    }
    rootfs="$(mktemp -d)"
    trap 'rm -rf "$rootfs"' EXIT
    echo "base-images.sh: debootstrap bookworm from $mirror (a minute or two)" >&2
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
    # Like the slim images: no package cache, no package lists.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
fi
if ! exists "$redis"; then
    echo "base-images.sh: building $redis from Debian's redis-server" >&2
    docker build -q -t "$redis" --build-arg BASE_IMAGE="$base" - <docker/redis.Dockerfile >/dev/null
fi
echo "$base $redis"
