// The `unified` mode: the environment contract of libp2p/unified-testing's perf images
// (perf/lib/run-single-test.sh): one binary, both roles, configured by IS_DIALER, REDIS_ADDR,
// TEST_KEY, TRANSPORT, SECURE_CHANNEL, MUXER, DEBUG, LISTENER_IP and, for the dialer,
// UPLOAD_BYTES, DOWNLOAD_BYTES, UPLOAD_ITERATIONS, DOWNLOAD_ITERATIONS, LATENCY_ITERATIONS and
// DURATION. The listener SETs <TEST_KEY>_listener_multiaddr in Redis and serves /perf/1.0.0 until
// SIGTERM; the dialer polls that key, dials once and runs the iterations one stream after the
// other, then prints the harness's YAML on stdout (logs on stderr).
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"github.com/redis/go-redis/v9"
)

// redisWait bounds the wait for Redis and, in the dialer, for the listener's key.
const redisWait = 60 * time.Second

// redisPoll is how often the dialer asks for the key.
const redisPoll = 250 * time.Millisecond

// unifiedConfig is the parsed environment.
type unifiedConfig struct {
	isDialer   bool
	redisAddr  string
	testKey    string
	listenerIP net.IP
	debug      bool
	upload     uint64
	download   uint64
	uploadN    uint64
	downloadN  uint64
	latencyN   uint64
}

// unifiedEnv reads and checks the contract's variables; a cell we do not serve is refused
// with the reason.
func unifiedEnv() (*unifiedConfig, error) {
	required := func(name string) (string, error) {
		v, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("%s is not set (unified-testing's perf harness sets it)", name)
		}
		return v, nil
	}
	boolean := func(name, v string) (bool, error) {
		switch v {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, fmt.Errorf("%s=%q: expected true or false", name, v)
	}
	choice := func(name string, choices []string, reason string) (string, error) {
		v, err := required(name)
		if err != nil {
			return "", err
		}
		if !slices.Contains(choices, v) {
			return "", fmt.Errorf("%s=%s: not supported, %s", name, v, reason)
		}
		return v, nil
	}
	c := &unifiedConfig{}
	v, err := required("IS_DIALER")
	if err != nil {
		return nil, err
	}
	if c.isDialer, err = boolean("IS_DIALER", v); err != nil {
		return nil, err
	}
	if v := os.Getenv("DEBUG"); v != "" {
		if c.debug, err = boolean("DEBUG", v); err != nil {
			return nil, err
		}
	}
	if c.redisAddr, err = required("REDIS_ADDR"); err != nil {
		return nil, err
	}
	if h, p, err := net.SplitHostPort(c.redisAddr); err != nil || h == "" || p == "0" || !isPort(p) {
		return nil, fmt.Errorf("REDIS_ADDR=%q: expected host:port, e.g. perf-redis:6379", c.redisAddr)
	}
	if c.testKey, err = required("TEST_KEY"); err != nil {
		return nil, err
	}
	if len(c.testKey) != 8 || strings.Trim(c.testKey, "0123456789abcdefABCDEF") != "" {
		return nil, fmt.Errorf("TEST_KEY=%q: expected 8 hex digits, e.g. a1b2c3d4", c.testKey)
	}
	transport, err := choice("TRANSPORT", []string{"tcp", "ws"}, "this image serves tcp and ws")
	if err != nil {
		return nil, err
	}
	useWebsocket = transport == "ws"
	if securityChoice, err = choice("SECURE_CHANNEL", []string{"noise", "tls"}, "this image serves noise and tls"); err != nil {
		return nil, err
	}
	if _, err := choice("MUXER", []string{"yamux"}, "this image serves yamux"); err != nil {
		return nil, err
	}
	if !c.isDialer {
		ip := os.Getenv("LISTENER_IP")
		if ip == "" {
			ip = "0.0.0.0"
		}
		if c.listenerIP = net.ParseIP(ip); c.listenerIP == nil || c.listenerIP.To4() == nil {
			return nil, fmt.Errorf("LISTENER_IP=%q: expected an IPv4 address, e.g. 0.0.0.0", ip)
		}
		return c, nil
	}
	count := func(name string, def uint64, atLeast uint64) (uint64, error) {
		v, ok := os.LookupEnv(name)
		if !ok {
			return def, nil
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < atLeast {
			return 0, fmt.Errorf("%s=%q: expected a count of at least %d", name, v, atLeast)
		}
		return n, nil
	}
	for _, f := range []struct {
		name    string
		to      *uint64
		def     uint64
		atLeast uint64
	}{
		{"UPLOAD_BYTES", &c.upload, 1 << 30, 0},
		{"DOWNLOAD_BYTES", &c.download, 1 << 30, 0},
		{"UPLOAD_ITERATIONS", &c.uploadN, 10, 1},
		{"DOWNLOAD_ITERATIONS", &c.downloadN, 10, 1},
		{"LATENCY_ITERATIONS", &c.latencyN, 100, 1},
	} {
		if *f.to, err = count(f.name, f.def, f.atLeast); err != nil {
			return nil, err
		}
	}
	if v, ok := os.LookupEnv("DURATION"); ok {
		if d, err := strconv.ParseFloat(v, 64); err != nil || d < 0 || math.IsInf(d, 0) || math.IsNaN(d) {
			return nil, fmt.Errorf("DURATION=%q: expected seconds, e.g. 20", v)
		}
	}
	return c, nil
}

func isPort(p string) bool {
	_, err := strconv.ParseUint(p, 10, 16)
	return err == nil
}

func listenerKey(testKey string) string { return testKey + "_listener_multiaddr" }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "unified: "+format+"\n", args...)
}

// runUnified is the `unified` mode's main.
func runUnified() error {
	c, err := unifiedEnv()
	if err != nil {
		return fmt.Errorf("unified-testing environment: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: c.redisAddr, MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), redisWait)
	defer cancel()
	if err := waitForRedis(ctx, rdb); err != nil {
		return fmt.Errorf("redis at %s: %w", c.redisAddr, err)
	}
	if c.isDialer {
		return unifiedDial(ctx, c, rdb)
	}
	return unifiedListen(ctx, c, rdb)
}

// waitForRedis retries PING until it answers (the Redis container may start after us).
func waitForRedis(ctx context.Context, rdb *redis.Client) error {
	for {
		err := rdb.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(redisPoll):
		}
	}
}

// addressTowards is the local IP on the route to addr (a connected UDP socket sends nothing):
// the address the dialer reaches us at when we listen on 0.0.0.0.
func addressTowards(addr string) (net.IP, error) {
	conn, err := net.Dial("udp4", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP, nil
}

func unifiedListen(ctx context.Context, c *unifiedConfig, rdb *redis.Client) error {
	ws := ""
	if useWebsocket {
		ws = "/ws"
	}
	listen, err := multiaddr.NewMultiaddr(fmt.Sprintf("/ip4/%s/tcp/0%s", c.listenerIP, ws))
	if err != nil {
		return err
	}
	h, err := newHost(nil, listen)
	if err != nil {
		return fmt.Errorf("starting host: %w", err)
	}
	defer h.Close()
	h.SetStreamHandler(protocolID, handlePerf)
	addrs := h.Network().ListenAddresses()
	if len(addrs) == 0 {
		return errors.New("no listen address")
	}
	port, err := addrs[0].ValueForProtocol(multiaddr.P_TCP)
	if err != nil {
		return err
	}
	ip := c.listenerIP
	if ip.IsUnspecified() {
		if ip, err = addressTowards(c.redisAddr); err != nil {
			return fmt.Errorf("finding the address towards %s: %w", c.redisAddr, err)
		}
	}
	full := fmt.Sprintf("/ip4/%s/tcp/%s%s/p2p/%s", ip, port, ws, h.ID())
	key := listenerKey(c.testKey)
	if err := rdb.Set(ctx, key, full, 0).Err(); err != nil {
		return fmt.Errorf("redis SET %s: %w", key, err)
	}
	logf("listening on %s, published under %s", full, key)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	<-term
	return nil
}

func unifiedDial(ctx context.Context, c *unifiedConfig, rdb *redis.Client) error {
	key := listenerKey(c.testKey)
	var value string
	for {
		v, err := rdb.Get(ctx, key).Result()
		if err == nil {
			value = v
			break
		}
		if !errors.Is(err, redis.Nil) {
			return fmt.Errorf("redis GET %s: %w", key, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no listener address under %s in Redis after %v", key, redisWait)
		case <-time.After(redisPoll):
		}
	}
	addr, err := multiaddr.NewMultiaddr(value)
	if err != nil {
		return fmt.Errorf("listener address %q under %s: %w", value, key, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return fmt.Errorf("listener address %q under %s: %w", value, key, err)
	}
	h, err := newHost(nil, nil)
	if err != nil {
		return fmt.Errorf("starting host: %w", err)
	}
	defer h.Close()
	logf("dialing %s", value)
	if err := h.Connect(context.Background(), *info); err != nil {
		return fmt.Errorf("connecting to %s: %w", value, err)
	}
	measure := func(what string, upload, download, iterations uint64) (*stats, error) {
		samples := make([]float64, 0, iterations)
		for i := uint64(1); i <= iterations; i++ {
			elapsed, err := perfRun(h, info.ID, upload, download)
			if err != nil {
				return nil, fmt.Errorf("%s iteration %d: %w", what, i, err)
			}
			value := elapsed.Seconds() * 1e3
			if what != "latency" {
				value = float64(max(upload, download)) * 8 / elapsed.Seconds() / 1e9
			}
			if c.debug {
				logf("%s %d/%d: %.3f", what, i, iterations, value)
			}
			samples = append(samples, value)
		}
		logf("%s: %d iterations done", what, iterations)
		return summarize(samples), nil
	}
	up, err := measure("upload", c.upload, 0, c.uploadN)
	if err != nil {
		return err
	}
	down, err := measure("download", 0, c.download, c.downloadN)
	if err != nil {
		return err
	}
	lat, err := measure("latency", 1, 1, c.latencyN)
	if err != nil {
		return err
	}
	fmt.Printf("# Upload measurement\n%s\n# Download measurement\n%s\n# Latency measurement\n%s",
		up.yaml("upload", "Gbps", 2), down.yaml("download", "Gbps", 2), lat.yaml("latency", "ms", 3))
	return nil
}

// perfRun is one perf stream, timed from opening it to the last byte.
func perfRun(h host.Host, id peer.ID, upload, download uint64) (time.Duration, error) {
	start := time.Now()
	s, err := h.NewStream(context.Background(), id, protocolID)
	if err != nil {
		return 0, fmt.Errorf("opening a perf stream: %w", err)
	}
	defer s.Close()
	if _, err := transfer(s, upload, download, &counters{}); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// stats is one block of the harness's YAML.
type stats struct {
	min, q1, median, q3, max float64
	outliers, samples        []float64
}

// quantile interpolates linearly between the two nearest ranks of sorted (position p·(n−1)).
func quantile(sorted []float64, p float64) float64 {
	at := p * float64(len(sorted)-1)
	lo, hi := int(math.Floor(at)), int(math.Ceil(at))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(at-float64(lo))
}

// summarize gives the quartiles, the outliers beyond 1.5·IQR and min/max of the other samples.
func summarize(samples []float64) *stats {
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	s := &stats{samples: samples, q1: quantile(sorted, 0.25), median: quantile(sorted, 0.5), q3: quantile(sorted, 0.75)}
	low, high := s.q1-1.5*(s.q3-s.q1), s.q3+1.5*(s.q3-s.q1)
	outlier := func(v float64) bool { return v < low || v > high }
	s.min, s.max = math.Inf(1), math.Inf(-1)
	for _, v := range sorted {
		if !outlier(v) {
			s.min, s.max = min(s.min, v), max(s.max, v)
		}
	}
	s.outliers = []float64{}
	for _, v := range samples {
		if outlier(v) {
			s.outliers = append(s.outliers, v)
		}
	}
	return s
}

func (s *stats) yaml(name, unit string, decimals int) string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', decimals, 64) }
	list := func(vs []float64) string {
		items := make([]string, len(vs))
		for i, v := range vs {
			items[i] = num(v)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return fmt.Sprintf("%s:\n  iterations: %d\n  min: %s\n  q1: %s\n  median: %s\n  q3: %s\n  max: %s\n  outliers: %s\n  samples: %s\n  unit: %s\n",
		name, len(s.samples), num(s.min), num(s.q1), num(s.median), num(s.q3), num(s.max),
		list(s.outliers), list(s.samples), unit)
}
