// Command go-libp2p-perf is a go-libp2p /perf/1.0.0 peer (server and client) over TCP + Noise +
// yamux only, with the command line of the test-plans perf binaries. yamux-perf's interop tests
// run it against our own stack.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-libp2p/p2p/transport/websocket"
	goyamux "github.com/libp2p/go-yamux/v5"
	"github.com/multiformats/go-multiaddr"
)

// protocolID is the perf protocol of libp2p/specs perf/perf.md.
const protocolID = "/perf/1.0.0"

// blockSize is the size of each write, as in the other go and js perf peers.
const blockSize = 64 << 10

func main() {
	if len(os.Args) == 2 && os.Args[1] == "unified" {
		// libp2p/unified-testing's perf image contract (unified.go), configured by environment.
		if err := runUnified(); err != nil {
			fail(err)
		}
		return
	}
	runServer := flag.Bool("run-server", false, "serve /perf/1.0.0 forever")
	address := flag.String("server-address", "", "server: IP:PORT or multiaddr to listen on; client: IP:PORT or multiaddr to dial")
	uploadBytes := flag.Uint64("upload-bytes", 0, "client: bytes to send")
	downloadBytes := flag.Uint64("download-bytes", 0, "client: bytes to request back")
	keySeed := flag.Uint64("key-seed", 0, "server key seed; the client expects this seed's peer id when the address has no /p2p/")
	transport := flag.String("transport", "tcp", "tcp, or ws (WebSocket: an IP:PORT address gets /ws)")
	timeout := flag.Float64("timeout", 120, "client: give up after this many seconds (0 = never)")
	security := flag.String("security", "noise", "noise, tls (/tls/1.0.0, go-libp2p's p2p/security/tls), or plaintext (/plaintext/2.0.0, go-libp2p's insecure transport)")
	flag.Parse()
	switch *security {
	case "noise", "tls", "plaintext":
		securityChoice = *security
	default:
		fail(fmt.Errorf("--security %q: noise, tls or plaintext", *security))
	}

	if *address == "" {
		fail(errors.New("--server-address is required"))
	}
	switch *transport {
	case "tcp":
	case "ws":
		useWebsocket = true
	default:
		fail(fmt.Errorf("--transport %q: tcp or ws", *transport))
	}
	var err error
	if *runServer {
		err = serve(*address, *keySeed)
	} else {
		err = runClient(*address, *keySeed, *uploadBytes, *downloadBytes, *timeout)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	os.Exit(1)
}

// seededKey returns the Ed25519 key whose 32-byte seed holds n little-endian in its first 8
// bytes and zeros after; seed 0 is the test-plans server key
// 12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN.
func seededKey(n uint64) (crypto.PrivKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	binary.LittleEndian.PutUint64(seed, n)
	return crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
}

// securityChoice is the one security transport of the host (the --security flag): noise, tls
// or plaintext (/plaintext/2.0.0).
var securityChoice = "noise"

// useWebsocket adds go-libp2p's WebSocket transport and puts /ws on IP:PORT addresses (the
// --transport flag).
var useWebsocket bool

// newHost builds a host with TCP + Noise (or TLS, or plaintext) + yamux and nothing else (no
// relay, no resource limits). Identify and the libp2p ping handler stay on, as in every basic
// host.
func newHost(key crypto.PrivKey, listen multiaddr.Multiaddr) (host.Host, error) {
	opts := []libp2p.Option{
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableRelay(),
	}
	if useWebsocket {
		opts = append(opts, libp2p.Transport(websocket.New))
	}
	switch securityChoice {
	case "plaintext":
		opts = append(opts, libp2p.NoSecurity)
	case "tls":
		opts = append(opts, libp2p.Security(libp2ptls.ID, libp2ptls.New))
	default:
		opts = append(opts, libp2p.Security(noise.ID, noise.New))
	}
	if key != nil {
		opts = append(opts, libp2p.Identity(key))
	}
	if listen != nil {
		opts = append(opts, libp2p.ListenAddrs(listen))
	} else {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	return libp2p.New(opts...)
}

// tcpMultiaddr turns "IP:PORT" into /ip4|ip6/IP/tcp/PORT; a string starting with "/" is parsed as
// a multiaddr.
func tcpMultiaddr(address string) (multiaddr.Multiaddr, error) {
	if strings.HasPrefix(address, "/") {
		return multiaddr.NewMultiaddr(address)
	}
	hostPart, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("--server-address %q: %w", address, err)
	}
	ip := net.ParseIP(hostPart)
	if ip == nil {
		return nil, fmt.Errorf("--server-address %q: not an IP literal", address)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("--server-address %q: bad port", address)
	}
	family := "ip4"
	if ip.To4() == nil {
		family = "ip6"
	}
	ws := ""
	if useWebsocket {
		ws = "/ws"
	}
	return multiaddr.NewMultiaddr(fmt.Sprintf("/%s/%s/tcp/%s%s", family, ip, port, ws))
}

// serve listens, prints the listen multiaddr with /p2p/ as the first stdout line and serves
// /perf/1.0.0 until killed.
func serve(address string, keySeed uint64) error {
	listen, err := tcpMultiaddr(address)
	if err != nil {
		return err
	}
	key, err := seededKey(keySeed)
	if err != nil {
		return err
	}
	h, err := newHost(key, listen)
	if err != nil {
		return fmt.Errorf("starting host: %w", err)
	}
	h.SetStreamHandler(protocolID, handlePerf)
	addrs := h.Network().ListenAddresses()
	if len(addrs) == 0 {
		return errors.New("no listen address")
	}
	p2p, err := multiaddr.NewComponent("p2p", h.ID().String())
	if err != nil {
		return err
	}
	fmt.Println(addrs[0].Encapsulate(p2p.Multiaddr()))
	select {}
}

// handlePerf serves one perf stream: read the u64 request, drain the upload to EOF, then send
// the requested bytes and close.
func handlePerf(s network.Stream) {
	start := time.Now()
	peerID := s.Conn().RemotePeer()
	received, sent, err := servePerf(s)
	if err != nil {
		_ = s.Reset()
		fmt.Fprintf(os.Stderr, "perf stream failed: peer=%s uploadBytes=%d downloadBytes=%d error=%v\n",
			peerID, received, sent, err)
		return
	}
	_ = s.Close()
	fmt.Fprintf(os.Stderr, "perf stream done: peer=%s uploadBytes=%d downloadBytes=%d seconds=%.6f yamux_rtt_ms=%.6f\n",
		peerID, received, sent, time.Since(start).Seconds(), yamuxRTT(s.Conn()))
}

// yamuxRTT is go-yamux's smoothed RTT of the connection in milliseconds (0 = no pong yet). It
// comes from the ping go-yamux sends at session start and then every 30 s; go-yamux doubles a
// receive window only when the previous update was less than 4 of these RTTs ago.
func yamuxRTT(c network.Conn) float64 {
	var session *goyamux.Session
	if !c.As(&session) {
		return -1
	}
	return ms(session.RTT())
}

func servePerf(s network.Stream) (received, sent uint64, err error) {
	var header [8]byte
	if _, err := io.ReadFull(s, header[:]); err != nil {
		return 0, 0, fmt.Errorf("reading the request: %w", err)
	}
	want := binary.BigEndian.Uint64(header[:])
	n, err := io.Copy(io.Discard, s)
	received = uint64(n)
	if err != nil {
		return received, 0, fmt.Errorf("draining the upload: %w", err)
	}
	buf := make([]byte, blockSize)
	for sent < want {
		chunk := buf[:min(uint64(len(buf)), want-sent)]
		n, err := s.Write(chunk)
		sent += uint64(n)
		if err != nil {
			return received, sent, fmt.Errorf("sending: %w", err)
		}
	}
	if err := s.CloseWrite(); err != nil {
		return received, sent, fmt.Errorf("closing the write side: %w", err)
	}
	return received, sent, nil
}

// report is one test-plans JSON line.
type report struct {
	Type          string  `json:"type"`
	TimeSeconds   float64 `json:"timeSeconds"`
	UploadBytes   uint64  `json:"uploadBytes"`
	DownloadBytes uint64  `json:"downloadBytes"`
}

func printReport(r report) {
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
}

// counters feed the once-per-second intermediary lines.
type counters struct {
	uploaded, downloaded atomic.Uint64
}

// reportEverySecond prints an intermediary line per second with the bytes of that interval until
// stop is closed; done is closed once it has printed its last line.
func reportEverySecond(c *counters, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	last := time.Now()
	var lastUp, lastDown uint64
	for {
		select {
		case <-stop:
			return
		case now := <-ticker.C:
			up, down := c.uploaded.Load(), c.downloaded.Load()
			printReport(report{"intermediary", now.Sub(last).Seconds(), up - lastUp, down - lastDown})
			last, lastUp, lastDown = now, up, down
		}
	}
}

// runClient dials the server, runs one perf stream and prints the JSON lines.
func runClient(address string, keySeed, upload, download uint64, timeoutSeconds float64) error {
	info, err := serverInfo(address, keySeed)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if timeoutSeconds > 0 {
		limit := time.Duration(timeoutSeconds * float64(time.Second))
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
		// A guard in case something blocks without watching the context.
		time.AfterFunc(limit+5*time.Second, func() {
			fail(fmt.Errorf("timed out after %v", limit))
		})
	}
	h, err := newHost(nil, nil)
	if err != nil {
		return fmt.Errorf("starting host: %w", err)
	}
	defer h.Close()

	var c counters
	stop, done := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go reportEverySecond(&c, stop, done)
	err = clientStream(ctx, h, info, upload, download, &c)
	elapsed := time.Since(start)
	close(stop)
	<-done
	if err != nil {
		return err
	}
	printReport(report{"final", elapsed.Seconds(), c.uploaded.Load(), c.downloaded.Load()})
	return nil
}

// serverInfo is the address to dial with the peer id Noise must authenticate: the one in the
// multiaddr, or else the id of the --key-seed key (test-plans dials the zero-seed id).
func serverInfo(address string, keySeed uint64) (*peer.AddrInfo, error) {
	addr, err := tcpMultiaddr(address)
	if err != nil {
		return nil, err
	}
	if _, err := addr.ValueForProtocol(multiaddr.P_P2P); err == nil {
		return peer.AddrInfoFromP2pAddr(addr)
	}
	key, err := seededKey(keySeed)
	if err != nil {
		return nil, err
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &peer.AddrInfo{ID: id, Addrs: []multiaddr.Multiaddr{addr}}, nil
}

func clientStream(ctx context.Context, h host.Host, info *peer.AddrInfo, upload, download uint64, c *counters) error {
	start := time.Now()
	if err := h.Connect(ctx, *info); err != nil {
		return fmt.Errorf("connecting to %s: %w", info, err)
	}
	connected := time.Now()
	s, err := h.NewStream(ctx, info.ID, protocolID)
	if err != nil {
		return fmt.Errorf("opening a perf stream: %w", err)
	}
	opened := time.Now()
	defer s.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(deadline)
	}

	firstByte, err := transfer(s, upload, download, c)
	if err != nil {
		return err
	}
	done := time.Now()
	// A human summary on stderr, timed like yamux-perf's: the upload runs from the stream's
	// opening to the first download byte (the server sends nothing before it drained the
	// upload), the download from there to EOF.
	state := s.Conn().ConnState()
	fmt.Fprintf(os.Stderr, "connect   %.3f ms (%s, %s, %s, early muxer %t, identify), stream open %.3f ms\n",
		ms(connected.Sub(start)), state.Transport, state.Security, state.StreamMultiplexer,
		state.UsedEarlyMuxerNegotiation, ms(opened.Sub(connected)))
	fmt.Fprintf(os.Stderr, "yamux rtt %.6f ms (go-yamux's, from its own pings; 0 = no pong)\n", yamuxRTT(s.Conn()))
	fmt.Fprintf(os.Stderr, "upload    %d B in %.3f s: %.1f MiB/s\n", upload, firstByte.Sub(opened).Seconds(), mibps(upload, firstByte.Sub(opened)))
	fmt.Fprintf(os.Stderr, "download  %d B in %.3f s: %.1f MiB/s\n", download, done.Sub(firstByte).Seconds(), mibps(download, done.Sub(firstByte)))
	return nil
}

// transfer runs one perf stream's payload: the u64 request and the upload, FIN, then the
// download to EOF; it returns when the first download byte arrived (the end of the upload's
// time) and fails unless exactly download bytes came back.
func transfer(s network.Stream, upload, download uint64, c *counters) (firstByte time.Time, err error) {
	// The u64 request goes out in the same write as the start of the upload, so it travels in
	// one frame (the js server needs that).
	buf := make([]byte, blockSize)
	binary.BigEndian.PutUint64(buf, download)
	first := min(uint64(blockSize-8), upload)
	if _, err := s.Write(buf[:8+first]); err != nil {
		return firstByte, fmt.Errorf("sending the request: %w", err)
	}
	clear(buf[:8])
	c.uploaded.Add(first)
	for sent := first; sent < upload; {
		n, err := s.Write(buf[:min(uint64(len(buf)), upload-sent)])
		sent += uint64(n)
		c.uploaded.Add(uint64(n))
		if err != nil {
			return firstByte, fmt.Errorf("uploading after %d bytes: %w", sent, err)
		}
	}
	if err := s.CloseWrite(); err != nil {
		return firstByte, fmt.Errorf("closing the write side: %w", err)
	}

	var received uint64
	for {
		n, err := s.Read(buf)
		if n > 0 && received == 0 {
			firstByte = time.Now()
		}
		received += uint64(n)
		c.downloaded.Add(uint64(n))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return firstByte, fmt.Errorf("downloading after %d bytes: %w", received, err)
		}
	}
	if received != download {
		return firstByte, fmt.Errorf("received %d bytes, requested %d", received, download)
	}
	if firstByte.IsZero() { // nothing requested: the upload ends at EOF
		firstByte = time.Now()
	}
	return firstByte, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

func mibps(bytes uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / (1 << 20) / d.Seconds()
}
