"""A py-libp2p `/perf/1.0.0` peer over TCP or WebSocket + Noise, TLS or plaintext + yamux, with
test-plans flags (`--transport tcp|ws`, `--security noise|tls|plaintext`, as the go peer).

The protocol itself is py-libp2p's own `libp2p.perf.PerfService`; this script only builds a host
restricted to one transport, one secure channel and yamux, parses the flags and prints what the
other interop peers print:

    server: the listen multiaddr with /p2p/<id> as the first stdout line (real port when 0 was
            given), then one stderr line per served perf stream with its byte counts;
    client: test-plans JSON lines with camelCase keys on stdout; exit 0 only when every byte
            arrived.

See README.md beside this file for the flags and py-libp2p's quirks.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import sys
import time
from typing import Any

import multiaddr
import trio

from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.peer.id import ID as PeerID
from libp2p.perf import PROTOCOL_NAME, PerfService
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from libp2p.security.tls.transport import PROTOCOL_ID as TLS_PROTOCOL_ID
from libp2p.security.tls.transport import TLSTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def key_pair_from_seed(seed: int | None) -> Any:
    """Ed25519 identity: 32-byte secret = `seed` little-endian in the first 8 bytes, rest zero.

    Seed 0 is go test-plans' server key, 12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN.
    """
    if seed is None:
        return create_new_key_pair()
    return create_new_key_pair(seed.to_bytes(8, "little") + bytes(24))


TRANSPORTS = ("tcp", "ws")
SECURITY = ("noise", "tls", "plaintext")


def check_transport(address: multiaddr.Multiaddr, transport: str) -> multiaddr.Multiaddr:
    """A /ws address needs --transport ws, and --transport ws a /ws address."""
    is_ws = "ws" in [p.name for p in address.protocols()]
    if is_ws != (transport == "ws"):
        raise ValueError(f"{address} is not a {transport} address (--transport {transport})")
    return address


def listen_multiaddr(address: str, transport: str) -> multiaddr.Multiaddr:
    """`IP:PORT`, `[IPv6]:PORT` (with /ws for `--transport ws`) or a `/ip4|ip6/../tcp/..[/ws]`
    multiaddr to listen on."""
    if address.startswith("/"):
        return check_transport(multiaddr.Multiaddr(address), transport)
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected IP:PORT or a multiaddr, got {address!r}")
    ip = ipaddress.ip_address(host.strip("[]"))
    proto = "ip4" if ip.version == 4 else "ip6"
    ws = "/ws" if transport == "ws" else ""
    return multiaddr.Multiaddr(f"/{proto}/{ip}/tcp/{int(port)}{ws}")


def dial_multiaddr(address: str, transport: str) -> multiaddr.Multiaddr:
    """The server's full multiaddr; py-libp2p's perf client needs its /p2p/<peer id>."""
    if "/p2p/" not in address:
        raise ValueError(
            f"{address!r} has no /p2p/<peer id>: py-libp2p dials a peer id, not an address "
            "(PerfService.measure_performance reads the id from the multiaddr); pass the "
            "server's full multiaddr"
        )
    return check_transport(multiaddr.Multiaddr(address), transport)


def secure_channel(security: str, key_pair: Any) -> dict[Any, Any]:
    """The one secure channel the host offers (`--security`); py's defaults offer four."""
    if security == "tls":
        return {TLS_PROTOCOL_ID: TLSTransport(key_pair)}
    if security == "plaintext":
        return {PLAINTEXT_PROTOCOL_ID: InsecureTransport(key_pair)}
    noise = NoiseTransport(
        libp2p_keypair=key_pair,
        noise_privkey=create_new_x25519_key_pair().private_key,
    )
    return {NOISE_PROTOCOL_ID: noise}


def make_host(seed: int | None, security: str, listen: multiaddr.Multiaddr) -> Any:
    """A host with exactly the transport of `listen` (py builds its transports from the listen
    addresses: /tcp/N gives TCP, /tcp/N/ws WebSocket), one secure channel and /yamux/1.0.0."""
    key_pair = key_pair_from_seed(seed)
    return new_host(
        key_pair=key_pair,
        sec_opt=secure_channel(security, key_pair),
        muxer_opt={YAMUX_PROTOCOL_ID: Yamux},
        listen_addrs=[listen],
    )


class _CountingStream:
    """Wraps a net stream and counts what PerfService reads and writes on it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.received = 0
        self.sent = 0
        self.was_reset = False

    async def read(self, n: int | None = None) -> bytes:
        data = await self._stream.read(n)
        self.received += len(data)
        return data

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)
        self.sent += len(data)

    async def reset(self) -> None:
        self.was_reset = True
        await self._stream.reset()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class CountingPerfService(PerfService):
    """PerfService whose server side logs one line per stream with its byte counts."""

    async def _handle_message(self, stream: Any) -> None:
        counted = _CountingStream(stream)
        muxer = stream.muxed_conn
        start = time.monotonic()
        try:
            await super()._handle_message(counted)  # type: ignore[arg-type]
        finally:
            elapsed = time.monotonic() - start
            header = min(counted.received, 8)
            log(
                f"perf stream served: peer={muxer.peer_id} received={counted.received} "
                f"upload={counted.received - header} sent={counted.sent} "
                f"seconds={elapsed:.3f} status={'reset' if counted.was_reset else 'ok'} "
                f"{yamux_rtt(muxer)}"
            )


def yamux_rtt(muxer: Any) -> str:
    """py-libp2p's yamux pings the peer 0.5 s after the connection starts (then every 30 s) and
    keeps the RTT only when a pong came back: rtt_ms=0 means no pong (yet)."""
    rtt = getattr(muxer, "rtt", None)
    return f"yamux_rtt_ms={rtt() * 1e3:.3f}" if callable(rtt) else "yamux_rtt_ms=?"


async def run_server(args: argparse.Namespace) -> int:
    listen = listen_multiaddr(args.server_address, args.transport)
    host = make_host(args.key_seed, args.security, listen)
    perf = CountingPerfService(host)
    async with host.run(listen_addrs=[listen]):
        await perf.start()
        addrs = [str(a) for a in host.get_addrs()]
        # The first address of the listen address's family with the real port.
        family = listen.protocols()[0].name
        chosen = next((a for a in addrs if a.startswith(f"/{family}/")), addrs[0])
        print(chosen, flush=True)
        log(
            f"listening on {chosen} (py-libp2p {libp2p_version()}, {args.transport}, "
            f"{args.security}, yamux, {PROTOCOL_NAME})"
        )
        await trio.sleep_forever()
    return EXIT_OK


def camel(output: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": output["type"],
        "timeSeconds": output["time_seconds"],
        "uploadBytes": output["upload_bytes"],
        "downloadBytes": output["download_bytes"],
    }


class _TimingStream(_CountingStream):
    """The client's perf stream: when it opened, and when the first and last download bytes
    came (yamux-perf's definitions: upload = open to first download byte, download = the rest)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.opened = time.monotonic()
        self.first_read: float | None = None
        self.last_read: float | None = None

    async def read(self, n: int | None = None) -> bytes:
        data = await super().read(n)
        if data:
            self.last_read = time.monotonic()
            if self.first_read is None:
                self.first_read = self.last_read
        return data


class _TimingHost:
    """Hands PerfService a host whose new_stream returns a _TimingStream (kept in `streams`)."""

    def __init__(self, host: Any) -> None:
        self._host = host
        self.streams: list[_TimingStream] = []

    async def new_stream(self, *args: Any, **kwargs: Any) -> Any:
        stream = _TimingStream(await self._host.new_stream(*args, **kwargs))
        self.streams.append(stream)
        return stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)


def phases(stream: _TimingStream | None, upload: int, download: int) -> str:
    """`upload N B in X s (R MiB/s), download ...`; without download bytes the upload phase has
    no end we can see (py-libp2p does not wait for the server's EOF then)."""
    if stream is None or stream.first_read is None or stream.last_read is None:
        return "no download, so no per-phase times"
    up = stream.first_read - stream.opened
    down = stream.last_read - stream.first_read

    def rate(n: int, t: float) -> str:
        return f"{n / t / (1 << 20):.1f} MiB/s" if t > 0 else "- MiB/s"

    return (
        f"upload {upload} B in {up:.3f} s ({rate(upload, up)}), "
        f"download {download} B in {down:.3f} s ({rate(download, down)})"
    )


async def run_client(args: argparse.Namespace) -> int:
    target = dial_multiaddr(args.server_address, args.transport)
    peer_id = PeerID.from_base58(str(target).split("/p2p/")[-1])
    # The client listens on nothing reachable; py-libp2p's host.run still needs one address,
    # and its transport is the one the host dials with.
    local = listen_multiaddr("127.0.0.1:0", args.transport)
    host = make_host(args.key_seed, args.security, local)
    timing = _TimingHost(host)
    perf = PerfService(timing)  # type: ignore[arg-type]
    final: dict[str, Any] | None = None
    error: str | None = None
    async with host.run(listen_addrs=[local]):
        limit = args.timeout if args.timeout > 0 else float("inf")
        with trio.move_on_after(limit) as scope:
            try:
                async for output in perf.measure_performance(
                    target, args.upload_bytes, args.download_bytes
                ):
                    line = dict(output) if args.snake_case else camel(output)
                    print(json.dumps(line, separators=(",", ":")), flush=True)
                    if output["type"] == "final":
                        final = dict(output)
            except Exception as e:  # measure_performance raises plain exceptions
                error = f"{type(e).__name__}: {e}"
        if scope.cancelled_caught:
            error = f"timed out after {args.timeout} s"
        elif error is None and final is None:
            error = "no final report"
        elif error is None and final is not None:
            got = (final["upload_bytes"], final["download_bytes"])
            if got != (args.upload_bytes, args.download_bytes):
                error = f"final report {final} does not match the request"
        muxers = [c.muxed_conn for c in host.get_network().get_connections(peer_id)]
        if error is None and final is not None:
            log(
                f"perf run against {target}: uploaded {final['upload_bytes']} B, downloaded "
                f"{final['download_bytes']} B in {final['time_seconds']:.3f} s; "
                f"{yamux_rtt(muxers[0]) if muxers else 'yamux_rtt_ms=?'}"
            )
            stream = timing.streams[0] if timing.streams else None
            log(f"phases: {phases(stream, args.upload_bytes, args.download_bytes)}")
        else:
            log(f"error: perf run against {target} failed: {error}")
        # Leaving host.run() closes the connection; bound it so a wedged peer cannot hang us.
        with trio.move_on_after(5):
            await host.close()
    return EXIT_OK if error is None else EXIT_FAILED


def libp2p_version() -> str:
    try:
        from importlib.metadata import version

        return version("libp2p")
    except Exception:
        return "?"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="py-libp2p-perf",
        description="py-libp2p /perf/1.0.0 peer over TCP or WebSocket + Noise, TLS or plaintext + "
        "yamux (test-plans flags)",
    )
    p.add_argument("--run-server", action="store_true", help="serve /perf/1.0.0 forever")
    p.add_argument(
        "--server-address",
        required=True,
        help="server: IP:PORT (or multiaddr) to listen on, port 0 = any; "
        "client: the server's full multiaddr with /p2p/<peer id>",
    )
    p.add_argument("--upload-bytes", type=int, default=0, help="client: bytes to upload")
    p.add_argument("--download-bytes", type=int, default=0, help="client: bytes to request back")
    p.add_argument(
        "--transport",
        default="tcp",
        choices=TRANSPORTS,
        help="tcp, or ws (WebSocket: an IP:PORT address gets /ws)",
    )
    p.add_argument(
        "--security",
        default="noise",
        choices=SECURITY,
        help="noise, tls (/tls/1.0.0) or plaintext (/plaintext/2.0.0)",
    )
    p.add_argument(
        "--key-seed",
        type=int,
        default=None,
        help="Ed25519 secret = N little-endian in the first 8 bytes, rest zero (default random)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="client: give up and exit 1 after this many seconds (0 = never; default 120)",
    )
    p.add_argument(
        "--snake-case",
        action="store_true",
        help="client: print py-libp2p's own snake_case keys instead of camelCase",
    )
    p.add_argument(
        "--log-level",
        default=os.environ.get("PY_PERF_LOG", "WARNING"),
        help="python logging level for libp2p (e.g. DEBUG; env PY_PERF_LOG)",
    )
    args = p.parse_args(argv)
    if args.run_server and (args.upload_bytes or args.download_bytes):
        p.error("--upload-bytes/--download-bytes are client options")
    if args.upload_bytes < 0 or args.download_bytes < 0 or args.download_bytes >= 1 << 64:
        p.error("byte counts must be in 0..2^64-1")
    if args.key_seed is not None and not 0 <= args.key_seed < 1 << 64:
        p.error("--key-seed must be in 0..2^64-1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.run_server:
            return trio.run(run_server, args)
        return trio.run(run_client, args)
    except ValueError as e:
        log(f"error: {e}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
