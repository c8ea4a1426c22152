package blocksync

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gridmint/gridmint/codec"
)

// stallAboveStore claims height claim but serves only up to the memStore's
// height; a read above it blocks until release is closed.
type stallAboveStore struct {
	*memStore
	claim   uint64
	release chan struct{}
	asked   atomic.Int64 // reads above the real height
}

func (s *stallAboveStore) Height() uint64 { return s.claim }

func (s *stallAboveStore) Block(h uint64) ([]byte, error) {
	if h > s.memStore.Height() {
		s.asked.Add(1)
		<-s.release
		return nil, errors.New("released")
	}
	return s.memStore.Block(h)
}

// TestStallingLiarDoesNotHoldSync: a peer claims 1,000 blocks, serves the
// 300 the others have and stalls above them. It cannot be proven to lie
// (it never refuses), so it is not banned, but after MaxFailures failed
// requests its height stops counting: Run ends at the others' 300.
func TestStallingLiarDoesNotHoldSync(t *testing.T) {
	const n = 300
	c := newTestChain(t, n, 200)
	client := newHost(t)
	cfg := ServerConfig{RequestsPerSecond: 1000, Burst: 1000}
	serve(t, client, newMemStore(c, n), cfg)
	serve(t, client, newMemStore(c, n), cfg)
	liar := &stallAboveStore{memStore: newMemStore(c, n), claim: 1000, release: make(chan struct{})}
	liarHost := serve(t, client, liar, cfg)
	t.Cleanup(func() { close(liar.release) })

	var rec banRecorder
	sc := testConfig()
	sc.RequestTimeout = 300 * time.Millisecond
	sc.RetryBackoff = 20 * time.Millisecond
	sc.OnBan = rec.onBan
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, sc)
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app, c, n)
	if liar.asked.Load() == 0 {
		t.Fatal("the liar was never asked above 300")
	}
	if err := rec.get(liarHost.ID()); err != nil {
		t.Fatalf("a peer that only stalls is banned: %v", err)
	}
	if p := s.Progress(); p.Target != n || p.Peers != 2 || p.State != StateCaughtUp {
		t.Fatalf("progress %+v", p)
	}
}

// runGoroutines counts the goroutines of a Run (its loop, workers,
// applier, fetchers, status askers).
func runGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "blocksync.(*run)")
}

// TestCancelStopsEverything: cancelling a sync that is halfway (its only
// peer stalls above height 96, three batches of 32) makes Run return the context's error with
// every goroutine of the run gone and no App call afterwards.
func TestCancelStopsEverything(t *testing.T) {
	const n = 300
	c := newTestChain(t, n, 200)
	client := newHost(t)
	st := &stallAboveStore{memStore: newMemStore(c, 96), claim: n, release: make(chan struct{})}
	serve(t, client, st, ServerConfig{RequestsPerSecond: 1000, Burst: 1000})
	t.Cleanup(func() { close(st.release) })

	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, testConfig())
	done, cancel := runSync(t, s)
	waitProgress(t, s, "height 96", func(p Progress) bool { return p.Current >= 96 })
	if runGoroutines() == 0 {
		t.Fatal("no run goroutines seen while running")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if g := runGoroutines(); g != 0 {
		t.Fatalf("%d run goroutines left after Run returned", g)
	}
	prepares, height := app.prepares.Load(), app.Height()
	if height != 96 {
		t.Fatalf("height %d, want 96", height)
	}
	checkChain(t, app, c, 96)
	if p := s.Progress(); p.State != StateIdle {
		t.Fatalf("progress after cancel %+v", p)
	}
	if got := app.prepares.Load(); got != prepares {
		t.Fatalf("Prepare called %d times after Run returned", got-prepares)
	}
}

// epochApp can verify a block only once the block that ends the previous
// epoch of epochBlocks is applied, as a node that learns each epoch's
// validator set from the chain.
type epochApp struct {
	*testApp
	epochBlocks uint64
	notYet      atomic.Int64
}

func (a *epochApp) Prepare(h uint64, raw []byte) (Prepared, error) {
	if epochStart := (h - 1) / a.epochBlocks * a.epochBlocks; a.Height() < epochStart {
		a.notYet.Add(1)
		return nil, fmt.Errorf("height %d: set of epoch from %d: %w", h, epochStart+1, ErrNotYet)
	}
	return a.testApp.Prepare(h, raw)
}

// TestNotYetRetried: blocks of a later epoch are prepared again once the
// epoch before is applied, and no peer is banned for them.
func TestNotYetRetried(t *testing.T) {
	const n = 400
	c := newTestChain(t, n, 200)
	client := newHost(t)
	cfg := ServerConfig{RequestsPerSecond: 1000, Burst: 1000}
	serve(t, client, newMemStore(c, n), cfg)
	serve(t, client, newMemStore(c, n), cfg)
	var rec banRecorder
	sc := testConfig()
	sc.OnBan = rec.onBan
	app := &epochApp{testApp: newTestApp(c.pubs), epochBlocks: 50}
	s := NewSyncer(client, testChainID, app, sc)
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app.testApp, c, n)
	if app.notYet.Load() == 0 {
		t.Fatal("no block was ever not yet verifiable: the test tests nothing")
	}
	if rec.len() != 0 {
		t.Fatalf("%d peers banned", rec.len())
	}
	t.Logf("%d not-yet answers", app.notYet.Load())
}

// notYetForeverApp says ErrNotYet for one height even when it is next:
// that block is bad, and its sender is banned.
type notYetForeverApp struct {
	*testApp
	bad uint64
}

func (a *notYetForeverApp) Prepare(h uint64, raw []byte) (Prepared, error) {
	if h == a.bad {
		return nil, fmt.Errorf("never: %w", ErrNotYet)
	}
	return a.testApp.Prepare(h, raw)
}

func TestNotYetAtNextHeightBans(t *testing.T) {
	const n = 100
	c := newTestChain(t, n, 200)
	client := newHost(t)
	bad := serve(t, client, newMemStore(c, n), ServerConfig{RequestsPerSecond: 1000, Burst: 1000})
	var rec banRecorder
	sc := testConfig()
	sc.OnBan = rec.onBan
	app := &notYetForeverApp{testApp: newTestApp(c.pubs), bad: 60}
	s := NewSyncer(client, testChainID, app, sc)
	runSync(t, s)
	waitProgress(t, s, "the ban", func(p Progress) bool { return p.Banned == 1 })
	if err := rec.get(bad.ID()); !errors.Is(err, ErrBadBlock) {
		t.Fatalf("ban reason %v", err)
	}
	p := waitProgress(t, s, "no peers", func(p Progress) bool { return p.State == StateNoPeers })
	if p.Current != 59 {
		t.Fatalf("progress %+v, want 59 applied", p)
	}
}

// TestOversizedResponseRefused: a peer announcing a response frame longer
// than the request allows is refused before the frame is read, as a bad
// response.
func TestOversizedResponseRefused(t *testing.T) {
	client := newHost(t)
	big := newHost(t)
	big.SetStreamHandler(ProtocolID(testChainID), func(st network.Stream) {
		defer st.Close()
		var e codec.Encoder
		e.Uvarint(uint64(blocksFrameBytes(4, 1000)) + 1)
		_, _ = st.Write(e.Bytes())
	})
	connect(t, client, big)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := NewClient(client, testChainID).Blocks(ctx, big.ID(), 1, 4, 1000)
	if !errors.Is(err, ErrBadResponse) || !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized frame: %v", err)
	}
}
