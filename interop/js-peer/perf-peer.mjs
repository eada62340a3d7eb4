// A /perf/1.0.0 peer on the real js-libp2p stack (TCP or WebSocket + Noise, TLS or plaintext +
// yamux), test-plans command line.
//
// @libp2p/perf is not installable here, so this re-implements its perf-service.ts (js-libp2p
// packages/protocol-perf 5.1.x) on the libp2p 3.x stream API: 64 KiB write blocks; the client
// sends an 8-byte big-endian u64 (bytes it wants back) and its upload, closes its write side,
// reads to EOF and checks the count; the server takes the u64 from the first chunk it receives
// (as upstream does), drains to EOF, sends the requested bytes and closes.
//
//   server: perf-peer.mjs --run-server --server-address 127.0.0.1:0 [--key-seed N]
//   client: perf-peer.mjs --server-address ADDR --upload-bytes N --download-bytes M [--timeout S]
//   both:   [--transport tcp|ws] [--security noise|tls|plaintext] (the go peer's flags)
//
// See README.md for every flag and for what is printed where.

// Must stay the first import: it patches Promise.withResolvers for Node 20 before libp2p loads.
import './polyfill.mjs'

import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { plaintext } from '@libp2p/plaintext'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const PROTOCOL = '/perf/1.0.0'
const WRITE_BLOCK_SIZE = 64 << 10 // upstream WRITE_BLOCK_SIZE
const HEADER_LEN = 8
const BLOCK = new Uint8Array(WRITE_BLOCK_SIZE) // payload bytes are zeros

function usage () {
  return `usage:
  perf-peer.mjs --run-server --server-address IP:PORT|MULTIADDR [--key-seed N]
  perf-peer.mjs --server-address IP:PORT|MULTIADDR [--upload-bytes N] [--download-bytes N]
                [--timeout SECONDS] [--key-seed N]
  both: [--transport tcp|ws] [--security noise|tls|plaintext]
        [--ping-interval MS] [--ping-timeout MS]   (libp2p connection monitor; 0 = off)`
}

function fail (message) {
  process.stderr.write(`error: ${message}\n`)
  process.exit(1)
}

/** name: message, then the causes and the members of an AggregateError. */
function describe (err) {
  if (err == null || typeof err !== 'object') return String(err)
  let text = `${err.name ?? 'Error'}: ${err.message ?? String(err)}`
  if (Array.isArray(err.errors) && err.errors.length > 0) {
    text += ` [${err.errors.map(describe).join('; ')}]`
  }
  if (err.cause != null) text += `: ${describe(err.cause)}`
  return text
}

function parseCount (name, text, fallback) {
  if (text === undefined) return fallback
  if (!/^\d+$/.test(text)) fail(`--${name}: not a byte count: ${text}`)
  const n = Number(text)
  if (!Number.isSafeInteger(n)) fail(`--${name}: larger than 2^53-1: ${text}`)
  return n
}

/** The layers under yamux (--transport, --security): one choice each, as the go peer. */
const TRANSPORTS = { tcp: () => tcp(), ws: () => webSockets() }
const SECURITY = { noise: () => noise(), tls: () => tls(), plaintext: () => plaintext() }

function choice (name, table, text) {
  const value = text ?? Object.keys(table)[0]
  if (!Object.hasOwn(table, value)) fail(`--${name}: ${Object.keys(table).join(', ')}; got ${value}`)
  return value
}

/**
 * IP:PORT ([v6]:PORT), which gets /ws with `--transport ws`, or a multiaddr string, which must
 * name the chosen transport (a /ws address needs --transport ws and the other way round).
 */
function parseAddress (text, transport) {
  let ma
  if (text.startsWith('/')) {
    ma = multiaddr(text)
  } else {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text)
    if (m == null) fail(`--server-address: expected IP:PORT or a multiaddr: ${text}`)
    ma = multiaddr(`/${m[1].includes(':') ? 'ip6' : 'ip4'}/${m[1]}/tcp/${m[2]}${transport === 'ws' ? '/ws' : ''}`)
  }
  const isWs = ma.getComponents().some((c) => c.name === 'ws')
  if (isWs !== (transport === 'ws')) fail(`--server-address ${text} is not a ${transport} address (--transport ${transport})`)
  return ma
}

/** Ed25519 key: secret seed = first 8 bytes N little-endian, the other 24 zero; else random. */
async function identity (seedText) {
  if (seedText === undefined) return generateKeyPair('Ed25519')
  if (!/^\d+$/.test(seedText) || BigInt(seedText) >= 2n ** 64n) fail(`--key-seed: not a u64: ${seedText}`)
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setBigUint64(0, BigInt(seedText), true)
  return generateKeyPairFromSeed('Ed25519', seed)
}

/** libp2p's connection monitor: `/ipfs/ping/1.0.0` on every connection every `interval` ms. */
function connectionMonitor (args) {
  const interval = parseCount('ping-interval', args['ping-interval'], 10_000)
  const minTimeout = parseCount('ping-timeout', args['ping-timeout'], 5_000)
  if (interval === 0) return { enabled: false }
  return { pingInterval: interval, pingTimeout: { minTimeout } }
}

async function createNode (privateKey, listen, args) {
  return createLibp2p({
    privateKey,
    connectionMonitor: connectionMonitor(args),
    addresses: { listen: listen == null ? [] : [listen.toString()] },
    transports: [TRANSPORTS[args.transport]()],
    connectionEncrypters: [SECURITY[args.security]()],
    streamMuxers: [yamux()],
    connectionManager: {
      // The defaults (5 inbound connections per second and host, 10 pending) throttle tests
      // that dial one server many times from 127.0.0.1.
      inboundConnectionThreshold: 1_000_000,
      maxIncomingPendingConnections: 1_000
    }
  })
}

async function sendAll (stream, bytes, onSent, options) {
  while (bytes > 0) {
    const n = Math.min(WRITE_BLOCK_SIZE, bytes)
    if (!stream.send(BLOCK.subarray(0, n))) await stream.onDrain(options)
    bytes -= n
    onSent(n)
  }
}

// ---------------------------------------------------------------------------------------------
// server

async function serve (stream, connection) {
  const start = performance.now()
  const peer = connection.remotePeer.toString()
  let requested
  let received = 0
  let sent = 0
  try {
    for await (const chunk of stream) {
      if (requested === undefined) {
        // Like upstream: the u64 must be in the first chunk.
        if (chunk.byteLength < HEADER_LEN) {
          throw new Error(`the first chunk has ${chunk.byteLength} bytes, the perf header needs ${HEADER_LEN}`)
        }
        const head = chunk.subarray(0, HEADER_LEN)
        const big = new DataView(head.buffer, head.byteOffset, HEADER_LEN).getBigUint64(0, false)
        requested = Number(big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : big)
        received += chunk.byteLength - HEADER_LEN
      } else {
        received += chunk.byteLength
      }
    }
    if (requested === undefined) throw new Error('the stream ended before the 8-byte perf header')
    await sendAll(stream, requested, (n) => { sent += n })
    await stream.close()
    const seconds = ((performance.now() - start) / 1000).toFixed(3)
    process.stderr.write(`served peer=${peer} requested=${requested} received=${received} sent=${sent} seconds=${seconds}\n`)
  } catch (err) {
    process.stderr.write(`failed peer=${peer} requested=${requested ?? 'none'} received=${received} sent=${sent} error=${describe(err)}\n`)
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}

async function runServer (args) {
  const listen = parseAddress(args['server-address'] ?? '127.0.0.1:4001', args.transport)
  if (listen.getComponents().some((c) => c.name === 'p2p')) fail('--server-address: a server address has no /p2p/')
  process.on('uncaughtException', (err) => process.stderr.write(`uncaught: ${describe(err)}\n`))
  process.on('unhandledRejection', (err) => process.stderr.write(`unhandled rejection: ${describe(err)}\n`))
  const node = await createNode(await identity(args['key-seed']), listen, args)
  await node.handle(PROTOCOL, (stream, connection) => { void serve(stream, connection) }, {
    // upstream constants.ts: one perf stream each way per connection
    maxInboundStreams: 1,
    maxOutboundStreams: 1,
    runOnLimitedConnection: false
  })
  const addrs = node.getMultiaddrs()
  if (addrs.length === 0) fail(`not listening on ${listen}`)
  process.stdout.write(`${addrs[0].toString()}\n`)
  process.stderr.write(`listening on ${addrs.map(String).join(' ')} (${args.transport}, ${args.security}, yamux)\n`)
  const stop = () => {
    const exit = () => process.exit(0)
    setTimeout(exit, 1000).unref()
    node.stop().then(exit, exit)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

// ---------------------------------------------------------------------------------------------
// client

function phase (name, bytes, ms) {
  const rate = ms > 0 ? (bytes / (1 << 20)) / (ms / 1000) : 0
  return `${name} ${bytes} B in ${(ms / 1000).toFixed(3)} s (${rate.toFixed(1)} MiB/s)`
}

async function runClient (args) {
  const target = parseAddress(args['server-address'], args.transport)
  const upload = parseCount('upload-bytes', args['upload-bytes'], 0)
  const download = parseCount('download-bytes', args['download-bytes'], 0)
  const timeout = parseCount('timeout', args.timeout, 120)
  let finished = false
  const fatal = (what) => (err) => {
    if (!finished) fail(`${what}: ${describe(err)}`)
    // The result is out; a late error while closing does not change it.
    process.stderr.write(`after the run, ${what}: ${describe(err)}\n`)
    process.exit(0)
  }
  process.on('uncaughtException', fatal('uncaught'))
  process.on('unhandledRejection', fatal('unhandled rejection'))
  const controller = new AbortController()
  if (timeout > 0) {
    setTimeout(() => {
      controller.abort(new Error(`timed out after ${timeout} s`))
      // In case nothing is waiting on the signal.
      setTimeout(() => fail(`perf run against ${target} timed out after ${timeout} s`), 500).unref()
    }, timeout * 1000).unref()
  }
  const options = { signal: controller.signal }
  const node = await createNode(await identity(args['key-seed']), null, args)

  // test-plans lines: intermediary = bytes of that interval; final = totals, time from before dial
  const t0 = performance.now()
  let last = t0
  let upInterval = 0
  let downInterval = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    console.log(JSON.stringify({ type: 'intermediary', timeSeconds: (now - last) / 1000, uploadBytes: upInterval, downloadBytes: downInterval }))
    last = now
    upInterval = 0
    downInterval = 0
  }, 1000)

  let uploaded = 0
  let downloaded = 0
  let stream
  try {
    const connection = await node.dial(target, options)
    const tConnected = performance.now()
    process.stderr.write(`connected to ${connection.remotePeer} after ${(tConnected - t0).toFixed(1)} ms (${args.transport}, ${connection.encryption}, ${connection.multiplexer})\n`)
    const tStream = performance.now()
    stream = await connection.newStream(PROTOCOL, options)

    const header = new Uint8Array(HEADER_LEN)
    new DataView(header.buffer).setBigUint64(0, BigInt(download), false)
    if (!stream.send(header)) await stream.onDrain(options)
    await sendAll(stream, upload, (n) => { uploaded += n; upInterval += n }, options)
    await stream.close(options)

    let tFirstByte
    for await (const chunk of stream) {
      tFirstByte ??= performance.now()
      downloaded += chunk.byteLength
      downInterval += chunk.byteLength
      if (controller.signal.aborted) throw controller.signal.reason
    }
    const tDone = performance.now()
    if (downloaded !== download) {
      throw new Error(`expected to receive ${download} bytes, but received ${downloaded}`)
    }
    clearInterval(ticker)
    finished = true
    console.log(JSON.stringify({ type: 'final', timeSeconds: (tDone - t0) / 1000, uploadBytes: uploaded, downloadBytes: downloaded }))
    // As yamux-perf's client: upload = stream open to the first byte back (the server sends
    // only after it has drained the upload), download = from there to the last byte.
    tFirstByte ??= tDone
    process.stderr.write(`${phase('upload', uploaded, tFirstByte - tStream)}, ${phase('download', downloaded, tDone - tFirstByte)}\n`)
  } catch (err) {
    clearInterval(ticker)
    stream?.abort(err instanceof Error ? err : new Error(String(err)))
    fail(`perf run against ${target} failed after ${uploaded} bytes up, ${downloaded} down: ${describe(err)}`)
  }
  // Close politely (FIN, GoAway) but never hang on it.
  setTimeout(() => process.exit(0), 2000).unref()
  await node.stop().catch(() => {})
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------

let parsed
try {
  parsed = parseArgs({
    options: {
      'run-server': { type: 'boolean', default: false },
      'server-address': { type: 'string' },
      'upload-bytes': { type: 'string' },
      'download-bytes': { type: 'string' },
      'key-seed': { type: 'string' },
      timeout: { type: 'string' },
      'ping-interval': { type: 'string' },
      'ping-timeout': { type: 'string' },
      transport: { type: 'string' },
      security: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  }).values
} catch (err) {
  fail(`${err.message}\n${usage()}`)
}
if (parsed.help) {
  process.stdout.write(`${usage()}\n`)
  process.exit(0)
}
parsed.transport = choice('transport', TRANSPORTS, parsed.transport)
parsed.security = choice('security', SECURITY, parsed.security)
if (parsed['run-server']) {
  for (const flag of ['upload-bytes', 'download-bytes', 'timeout']) {
    if (parsed[flag] !== undefined) fail(`--${flag} is a client flag`)
  }
  await runServer(parsed)
} else {
  if (parsed['server-address'] === undefined) fail(`--server-address is required\n${usage()}`)
  await runClient(parsed)
}
