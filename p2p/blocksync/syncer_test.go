package blocksync

import (
	"bufio"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmint/gridmint/codec"
)

func testConfig() Config {
	c := DefaultConfig()
	c.BatchBlocks = 32
	c.RequestTimeout = 5 * time.Second
	c.Tick = 20 * time.Millisecond
	return c
}

func TestSyncFromThreePeers(t *testing.T) {
	const n = 600
	c := newTestChain(t, n, 256)
	client := newHost(t)
	var stores []*memStore
	for range 3 {
		st := newMemStore(c, n)
		stores = append(stores, st)
		serve(t, client, st, ServerConfig{RequestsPerSecond: 1000, Burst: 1000})
	}
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, testConfig())
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app, c, n)
	for i, st := range stores {
		// Every peer answers the first status round before any span is
		// assigned, and spans go round robin: each serves some blocks.
		if st.served.Load() == 0 {
			t.Errorf("peer %d served no blocks", i)
		}
		t.Logf("peer %d served %d blocks", i, st.served.Load())
	}
	p := s.Progress()
	if p.State != StateCaughtUp || p.Current != n || p.Target != n || p.StartHeight != 0 || p.Peers != 3 {
		t.Fatalf("progress %+v", p)
	}
}

// corruptStore serves blocks with one payload byte flipped: well-formed,
// but their certificate no longer verifies.
type corruptStore struct{ *memStore }

func (s corruptStore) Block(h uint64) ([]byte, error) {
	b, err := s.memStore.Block(h)
	if err != nil {
		return nil, err
	}
	b = append([]byte(nil), b...)
	b[12] ^= 0x40
	return b, nil
}

type banRecorder struct {
	mu   sync.Mutex
	bans map[peer.ID]error
}

func (r *banRecorder) onBan(p peer.ID, reason error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bans == nil {
		r.bans = make(map[peer.ID]error)
	}
	r.bans[p] = reason
}

func (r *banRecorder) get(p peer.ID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bans[p]
}

func (r *banRecorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bans)
}

func TestCorruptPeerBanned(t *testing.T) {
	const n = 400
	c := newTestChain(t, n, 200)
	client := newHost(t)
	cfg := ServerConfig{RequestsPerSecond: 1000, Burst: 1000}
	serve(t, client, newMemStore(c, n), cfg)
	bad := serve(t, client, corruptStore{newMemStore(c, n)}, cfg)
	serve(t, client, newMemStore(c, n), cfg)

	clock := newFakeClock()
	var rec banRecorder
	sc := testConfig()
	sc.Now, sc.OnBan, sc.BanDuration = clock.Now, rec.onBan, time.Hour
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, sc)
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app, c, n)

	if err := rec.get(bad.ID()); !errors.Is(err, ErrBadBlock) {
		t.Fatalf("corrupt peer: ban reason %v", err)
	}
	if rec.len() != 1 {
		t.Fatalf("%d peers banned, want 1", rec.len())
	}
	if ok, _ := s.Bans().Banned(bad.ID()); !ok {
		t.Fatal("corrupt peer not in the ban list")
	}
	clock.Advance(time.Hour - time.Second)
	if ok, _ := s.Bans().Banned(bad.ID()); !ok {
		t.Fatal("ban expired early")
	}
	clock.Advance(time.Second)
	if ok, _ := s.Bans().Banned(bad.ID()); ok {
		t.Fatal("ban did not expire")
	}
}

// liarStore claims a height it does not have.
type liarStore struct {
	*memStore
	claim uint64
}

func (s liarStore) Height() uint64 { return s.claim }

func TestLyingPeerBanned(t *testing.T) {
	const n = 300
	c := newTestChain(t, n, 200)
	client := newHost(t)
	cfg := ServerConfig{RequestsPerSecond: 1000, Burst: 1000}
	serve(t, client, newMemStore(c, n), cfg)
	liar := serve(t, client, liarStore{newMemStore(c, n), 1000}, cfg)
	serve(t, client, newMemStore(c, n), cfg)

	var rec banRecorder
	sc := testConfig()
	clock := newFakeClock()
	sc.Now, sc.OnBan = clock.Now, rec.onBan
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, sc)
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app, c, n)
	if err := rec.get(liar.ID()); !errors.Is(err, ErrLiedHeight) {
		t.Fatalf("liar: ban reason %v", err)
	}
	if p := s.Progress(); p.Target != n || p.Peers != 2 || p.Banned != 1 {
		t.Fatalf("progress %+v", p)
	}
}

// wrongRangeHandler answers status honestly and every blocks request with
// the blocks one height above the ones asked for.
func wrongRangeHandler(c *testChain, height uint64) network.StreamHandler {
	return func(st network.Stream) {
		defer st.Close()
		raw, err := ReadFrame(bufio.NewReader(st), MaxRequestBytes)
		if err != nil {
			return
		}
		req, err := DecodeRequest(raw)
		if err != nil {
			return
		}
		resp := &Response{Kind: RespStatus, Base: 1, Height: height}
		if req.Blocks {
			resp = &Response{Kind: RespBlocks, From: req.From + 1}
			for h := req.From + 1; h <= height && h <= req.From+uint64(req.Count); h++ {
				resp.Blocks = append(resp.Blocks, c.blocks[h-1])
			}
		}
		_, _ = st.Write(AppendFrame(nil, codec.Encode(resp)))
	}
}

func TestWrongRangePeerBanned(t *testing.T) {
	const n = 300
	c := newTestChain(t, n, 200)
	client := newHost(t)
	cfg := ServerConfig{RequestsPerSecond: 1000, Burst: 1000}
	serve(t, client, newMemStore(c, n), cfg)
	shifty := newHost(t)
	shifty.SetStreamHandler(ProtocolID(testChainID), wrongRangeHandler(c, n))
	connect(t, client, shifty)

	var rec banRecorder
	sc := testConfig()
	sc.OnBan = rec.onBan
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, sc)
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app, c, n)
	if err := rec.get(shifty.ID()); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("shifting peer: ban reason %v", err)
	}
}

// stallStore answers status but blocks every block read until released.
type stallStore struct {
	*memStore
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (s *stallStore) Block(h uint64) ([]byte, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return nil, errors.New("released")
}

func TestStallingPeerTimesOut(t *testing.T) {
	const n = 300
	c := newTestChain(t, n, 200)
	client := newHost(t)
	cfg := ServerConfig{RequestsPerSecond: 1000, Burst: 1000}
	serve(t, client, newMemStore(c, n), cfg)
	stall := &stallStore{memStore: newMemStore(c, n), entered: make(chan struct{}), release: make(chan struct{})}
	staller := serve(t, client, stall, cfg)
	t.Cleanup(func() { close(stall.release) }) // runs before the hosts close
	serve(t, client, newMemStore(c, n), cfg)

	var rec banRecorder
	sc := testConfig()
	sc.RequestTimeout = 300 * time.Millisecond
	sc.RetryBackoff = 50 * time.Millisecond
	sc.OnBan = rec.onBan
	sc.Logger = testLogger(t)
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, sc)
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app, c, n)
	select {
	case <-stall.entered:
	default:
		t.Fatal("the stalling peer was never asked for blocks")
	}
	if err := rec.get(staller.ID()); err != nil {
		t.Fatalf("a slow peer is not banned, got %v", err)
	}
}

func TestNoPeersWaitsThenSyncs(t *testing.T) {
	const n = 100
	c := newTestChain(t, n, 200)
	client := newHost(t)
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, testConfig())
	if p := s.Progress(); p.State != StateIdle {
		t.Fatalf("before Run: %+v", p)
	}
	done, _ := runSync(t, s)
	p := waitProgress(t, s, "no-peers", func(p Progress) bool { return p.State == StateNoPeers })
	if p.Peers != 0 || p.Current != 0 {
		t.Fatalf("progress %+v", p)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned without peers: %v", err)
	default:
	}
	serve(t, client, newMemStore(c, n), ServerConfig{})
	waitDone(t, s, done)
	checkChain(t, app, c, n)
}

// growingStore grows every store of a group to final when it first serves
// height trigger: the chain grows while the syncer fetches it.
type growingStore struct {
	*memStore
	group   *[]*growingStore
	trigger uint64
	final   uint64
	once    *sync.Once
}

func (s *growingStore) Block(h uint64) ([]byte, error) {
	if h == s.trigger {
		s.once.Do(func() {
			for _, o := range *s.group {
				o.height.Store(s.final)
			}
		})
	}
	return s.memStore.Block(h)
}

func TestTargetMovesWhileSyncing(t *testing.T) {
	const first, final = 200, 400
	c := newTestChain(t, final, 200)
	client := newHost(t)
	var group []*growingStore
	once := new(sync.Once)
	for range 2 {
		group = append(group, &growingStore{memStore: newMemStore(c, first), group: &group, trigger: 150, final: final, once: once})
	}
	for _, st := range group {
		serve(t, client, st, ServerConfig{RequestsPerSecond: 1000, Burst: 1000})
	}
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, testConfig())
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app, c, final)
	if p := s.Progress(); p.Target != final || p.State != StateCaughtUp {
		t.Fatalf("progress %+v", p)
	}
}

func TestRunTwice(t *testing.T) {
	c := newTestChain(t, 10, 100)
	client := newHost(t)
	serve(t, client, newMemStore(c, 10), ServerConfig{})
	app := newTestApp(c.pubs)
	s := NewSyncer(client, testChainID, app, testConfig())
	done, _ := runSync(t, s)
	waitDone(t, s, done)
	checkChain(t, app, c, 10)
	// Caught up already: a second Run returns at once.
	done2, _ := runSync(t, s)
	waitDone(t, s, done2)
}
