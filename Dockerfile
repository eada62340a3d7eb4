# The image for libp2p/unified-testing's perf harness: `yamux-perf unified` as the entry point,
# configured by the harness's environment variables (docs/unified.md).
#
#   docker build -t yamux-perf-unified .                      # release build inside Docker
#   cargo build --release && docker build --target runtime-prebuilt -t yamux-perf-unified .
#                                                              # wraps target/release/yamux-perf
#
# Base images are build arguments (standard public images by default); a machine without a
# registry passes local ones (docker/base-images.sh makes them from Debian packages). The
# runtime needs nothing beyond glibc: OpenSSL is linked statically (the `openssl` crate's
# `vendored` feature builds it from source), so no package is installed.
#
# The prebuilt stage comes first so that `--target runtime-prebuilt` builds no Rust stage even
# with the legacy builder; the default (last) stage needs BuildKit, which skips the prebuilt
# stage it does not use (the default builder since Docker 23).
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE} AS runtime-base
ENV RUST_BACKTRACE=1
ENTRYPOINT ["/usr/local/bin/yamux-perf", "unified"]

# An already built release binary from the build context (.dockerignore lets only this one in).
FROM runtime-base AS runtime-prebuilt
ARG BINARY=target/release/yamux-perf
COPY ${BINARY} /usr/local/bin/yamux-perf
RUN /usr/local/bin/yamux-perf --version

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin yamux-perf \
    && cp target/release/yamux-perf /usr/local/bin/yamux-perf

FROM runtime-base AS runtime
COPY --from=build /usr/local/bin/yamux-perf /usr/local/bin/yamux-perf
RUN /usr/local/bin/yamux-perf --version
