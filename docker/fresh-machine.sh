#!/usr/bin/env bash
# The first five minutes of a new user, in a clean container: does the README's first command
# build and run on a machine with only Rust and a C compiler (no system dev packages)?
#
# It starts a container from the Debian bookworm minbase image (docker/base-images.sh makes it
# from Debian's packages), installs from Debian only a C toolchain and what fetching needs
# (`PACKAGES`), installs Rust with rustup-init from static.rust-lang.org (`RUST_TOOLCHAIN`),
# clones this repository's HEAD (a git bundle), then runs the README's first command. Each step is
# timed; the last lines print the times, the packages installed and `ldd` of the binary (no
# libssl or libcrypto: the `openssl` crate's `vendored` feature builds OpenSSL from source).
#
# Usage: docker/fresh-machine.sh        (root, a running Docker engine, network access to
#                                        Debian's mirror, static.rust-lang.org and crates.io)
# Environment: YAMUX_PERF_BASE_IMAGE (yamux-perf-base:bookworm), RUST_TOOLCHAIN (the host's
# rustc version, else stable), PACKAGES, UPLOAD/DOWNLOAD (1GiB each, the README's command),
# LOCAL_CA_DIR (default /usr/local/share/ca-certificates): the host's local CA certificates, given
# to the container's trust store, for networks whose egress goes through a TLS-inspecting proxy
# (a new machine on that network would trust the same CA; nothing is copied where there is none).
set -euo pipefail
cd "$(dirname "$0")/.."
base="${YAMUX_PERF_BASE_IMAGE:-yamux-perf-base:bookworm}"
host_rust="$(rustc --version 2>/dev/null | awk '{print $2}' || true)"
toolchain="${RUST_TOOLCHAIN:-${host_rust:-stable}}"
# gcc and libc6-dev: the C compiler (cc, ring, aws-lc and openssl-src compile C); make and perl:
# OpenSSL's own build (openssl-src runs its Configure script and make); curl and ca-certificates
# fetch rustup-init; git clones the repository.
packages="${PACKAGES:-gcc libc6-dev make perl curl ca-certificates git}"
local_ca="${LOCAL_CA_DIR:-/usr/local/share/ca-certificates}"
upload="${UPLOAD:-1GiB}"
download="${DOWNLOAD:-1GiB}"

docker image inspect "$base" >/dev/null 2>&1 || {
    echo "fresh-machine.sh: no image $base (make it with docker/base-images.sh)" >&2
    exit 1
}
work="$(mktemp -d)"
name="yamux-perf-fresh-$$"
cleanup() {
    docker rm -f "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
git bundle create -q "$work/repo.bundle" HEAD
mkdir "$work/ca"
if compgen -G "$local_ca/*.crt" >/dev/null; then cp "$local_ca"/*.crt "$work/ca/"; fi
revision="$(git rev-parse --short HEAD)"
docker run -d --name "$name" --network host -v "$work:/bundle:ro" "$base" sleep infinity >/dev/null

step() {
    local label="$1"
    shift
    local start=$SECONDS
    echo "== $label" >&2
    docker exec "$name" bash -euo pipefail -c "$*" >&2
    echo "$label: $((SECONDS - start)) s" >>"$work/times"
}

step "apt-get install $packages" \
    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null \
     && if ls /bundle/ca/*.crt >/dev/null 2>&1; then cp /bundle/ca/*.crt /usr/local/share/ca-certificates/ \
        && update-ca-certificates >/dev/null; fi"
step "rustup-init ($toolchain, minimal profile)" \
    "curl -sSf -o /tmp/rustup-init https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init \
     && chmod +x /tmp/rustup-init && /tmp/rustup-init -y -q --profile minimal --default-toolchain $toolchain"
step "git clone" "git clone -q /bundle/repo.bundle /root/yamux-perf"
step "cargo run --release -- client --upload $upload --download $download (cold build and run)" \
    "cd /root/yamux-perf && . /root/.cargo/env && cargo run --release -- client --upload $upload --download $download"

echo "== ldd target/release/yamux-perf" >&2
docker exec "$name" ldd /root/yamux-perf/target/release/yamux-perf >&2
echo "== dev packages in the container (libc6-dev and what it depends on, nothing else)" >&2
docker exec "$name" bash -c "dpkg-query -W -f '\${Package}\n' | grep -- '-dev\$' || true" >&2
echo "revision $revision, base $base, toolchain $toolchain"
cat "$work/times"
