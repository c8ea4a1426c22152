package blocksync

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

const testChainID = "gridmint-test"

// blockTag is the type tag the test chain's validators sign.
const blockTag wallet.Tag = "gridmint/test-block/v1"

// testChain is a chain of blocks shaped like a node's decided blocks: a
// height, a payload (the block), and a certificate of 3 validator
// signatures over the height and the payload's SHA-256.
type testChain struct {
	vals   []*wallet.PrivateKey
	pubs   []*wallet.PublicKey
	blocks [][]byte // blocks[h-1] is height h
}

type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func newValidators(tb testing.TB, n int) ([]*wallet.PrivateKey, []*wallet.PublicKey) {
	tb.Helper()
	r := seededReader{rand.NewChaCha8([32]byte{7})}
	var ks []*wallet.PrivateKey
	var ps []*wallet.PublicKey
	for range n {
		k, err := wallet.GenerateKeyFrom(r)
		if err != nil {
			tb.Fatal(err)
		}
		ks = append(ks, k)
		ps = append(ps, k.Public())
	}
	return ks, ps
}

func signedBody(h uint64, digest [32]byte) []byte {
	e := codec.NewEncoder(41)
	e.Uint64(h)
	e.Fixed(digest[:])
	return e.Bytes()
}

// encodeBlock: version 1 (u8), height (u64), payload (bytes), then one
// 65-byte signature per validator.
func (c *testChain) encodeBlock(tb testing.TB, h uint64, payload []byte) []byte {
	digest := sha256.Sum256(payload)
	body := signedBody(h, digest)
	e := codec.NewEncoder(len(payload) + 16 + 65*len(c.vals))
	e.Uint8(1)
	e.Uint64(h)
	e.BytesVar(payload)
	for _, k := range c.vals {
		sig, err := k.SignTyped(blockTag, testChainID, body)
		if err != nil {
			tb.Fatal(err)
		}
		e.Fixed(sig[:])
	}
	return e.Bytes()
}

func newTestChain(tb testing.TB, n, payloadBytes int) *testChain {
	tb.Helper()
	ks, ps := newValidators(tb, 3)
	c := &testChain{vals: ks, pubs: ps}
	c.extend(tb, n, payloadBytes)
	return c
}

func (c *testChain) extend(tb testing.TB, n, payloadBytes int) {
	r := rand.New(rand.NewPCG(uint64(len(c.blocks)), 1))
	for range n {
		h := uint64(len(c.blocks) + 1)
		payload := make([]byte, payloadBytes)
		for i := range payload {
			payload[i] = byte(r.Uint32())
		}
		c.blocks = append(c.blocks, c.encodeBlock(tb, h, payload))
	}
}

type decodedBlock struct {
	height uint64
	digest [32]byte
}

// testApp verifies blocks as a node does (decode, 3 signature
// verifications) and appends them in order.
type testApp struct {
	pubs     []*wallet.PublicKey
	height   atomic.Uint64
	mu       sync.Mutex
	digests  [][32]byte
	prepares atomic.Int64
}

// newTestApp verifies against precomputed copies of pubs, as a node keeps
// its validator set's keys.
func newTestApp(pubs []*wallet.PublicKey) *testApp {
	pre := make([]*wallet.PublicKey, len(pubs))
	for i, p := range pubs {
		pre[i] = p.Precomputed()
	}
	return &testApp{pubs: pre}
}

func (a *testApp) Height() uint64 { return a.height.Load() }

func (a *testApp) Prepare(h uint64, raw []byte) (Prepared, error) {
	a.prepares.Add(1)
	d := codec.NewDecoder(raw)
	d.Version(1)
	height := d.Uint64()
	payload := d.BytesVar(MaxBlockBytes)
	sigs := make([]wallet.Signature, len(a.pubs))
	for i := range sigs {
		d.Fixed(sigs[i][:])
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if height != h {
		return nil, fmt.Errorf("block of height %d at %d", height, h)
	}
	digest := sha256.Sum256(payload)
	body := signedBody(h, digest)
	for i, pub := range a.pubs {
		if err := wallet.VerifyTyped(pub, blockTag, testChainID, body, sigs[i]); err != nil {
			return nil, fmt.Errorf("signature %d: %w", i, err)
		}
	}
	return &decodedBlock{height: h, digest: digest}, nil
}

func (a *testApp) Apply(p Prepared) error {
	b := p.(*decodedBlock)
	if b.height != a.height.Load()+1 {
		return fmt.Errorf("apply %d at height %d", b.height, a.height.Load())
	}
	a.mu.Lock()
	a.digests = append(a.digests, b.digest)
	a.mu.Unlock()
	a.height.Store(b.height)
	return nil
}

// payloadDigest is the SHA-256 of a test block's payload (its signatures
// unchecked: the chain is the test's own).
func payloadDigest(tb testing.TB, raw []byte) [32]byte {
	d := codec.NewDecoder(raw)
	d.Version(1)
	d.Uint64()
	payload := d.BytesVar(MaxBlockBytes)
	if err := d.Err(); err != nil {
		tb.Fatal(err)
	}
	return sha256.Sum256(payload)
}

// memStore serves a testChain up to a height.
type memStore struct {
	c      *testChain
	base   uint64
	height atomic.Uint64
	served atomic.Int64 // blocks served
}

func newMemStore(c *testChain, height uint64) *memStore {
	s := &memStore{c: c, base: 1}
	s.height.Store(height)
	return s
}

func (s *memStore) Base() uint64   { return s.base }
func (s *memStore) Height() uint64 { return s.height.Load() }
func (s *memStore) Block(h uint64) ([]byte, error) {
	if h < s.base || h > s.height.Load() || h > uint64(len(s.c.blocks)) {
		return nil, errors.New("no such block")
	}
	s.served.Add(1)
	return s.c.blocks[h-1], nil
}

func newHost(tb testing.TB) host.Host {
	tb.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	for _, a := range h.Addrs() {
		if !isLoopback(a) {
			tb.Fatalf("host listens off loopback: %s", a)
		}
	}
	return h
}

func isLoopback(a ma.Multiaddr) bool {
	v, err := a.ValueForProtocol(ma.P_IP4)
	return err == nil && len(v) > 4 && v[:4] == "127."
}

func connect(tb testing.TB, a, b host.Host) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		tb.Fatal(err)
	}
}

// serve starts a host serving store on the test chain, connected to client.
func serve(tb testing.TB, client host.Host, store Store, cfg ServerConfig) host.Host {
	tb.Helper()
	h := newHost(tb)
	srv := NewServer(h, testChainID, store, cfg)
	tb.Cleanup(srv.Close)
	connect(tb, client, h)
	return h
}

// runSync runs s in the background; the result arrives on the channel.
func runSync(tb testing.TB, s *Syncer) (<-chan error, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- s.Run(ctx)
	}()
	// Wait on finished, not done: the test may have taken Run's result.
	tb.Cleanup(func() {
		cancel()
		<-finished
	})
	return done, cancel
}

func waitDone(tb testing.TB, s *Syncer, done <-chan error) {
	tb.Helper()
	select {
	case err := <-done:
		if err != nil {
			tb.Fatalf("sync: %v", err)
		}
	case <-time.After(45 * time.Second):
		tb.Fatalf("sync did not finish within 45 s; progress %+v", s.Progress())
	}
}

// testLogger sends debug lines to tb.Log.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// waitProgress waits, on the syncer's change notifications, for cond.
func waitProgress(tb testing.TB, s *Syncer, what string, cond func(Progress) bool) Progress {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		ch := s.Changed()
		if p := s.Progress(); cond(p) {
			return p
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("timed out waiting for %s; progress %+v", what, s.Progress())
		}
	}
}

// checkChain checks that app applied exactly the chain's first n blocks.
func checkChain(tb testing.TB, app *testApp, c *testChain, n uint64) {
	tb.Helper()
	if got := app.Height(); got != n {
		tb.Fatalf("app height %d, want %d", got, n)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	for i, d := range app.digests {
		if want := payloadDigest(tb, c.blocks[i]); d != want {
			tb.Fatalf("height %d: applied digest differs", i+1)
		}
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
