#!/usr/bin/env bash
# go-libp2p v0.51.0 (go-yamux v5.1.0) over TCP + Noise (or TLS, or plaintext) + yamux; called by
# interop/build.sh.
# Needs Go >= 1.26 and the Go module proxy (modules go to Go's own module cache). A second run
# with nothing changed returns at once: a stamp of the sources and the Go version is kept in OUT.
# The binary is static (CGO_ENABLED=0), so the image docker/go-peer.Dockerfile wraps it in any
# Linux base image.
set -euo pipefail
command -v go >/dev/null || { echo "go-peer: no 'go' on PATH (need Go >= 1.26)" >&2; exit 1; }
src="$ROOT/interop/go-peer"
bin="$OUT/go-libp2p-perf"
stamp="$OUT/.stamp"
export CGO_ENABLED=0
want=$(cd "$src" && { go version; echo "CGO_ENABLED=$CGO_ENABLED"; cat go.mod go.sum ./*.go; } | sha256sum | cut -d' ' -f1)
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$bin"
    exit 0
fi
(cd "$src" && GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false -o "$bin" . >&2)
echo "$want" >"$stamp"
echo "$bin"
