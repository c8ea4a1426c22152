package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmint/gridmint/wallet"
)

const chain = "gridmint-test"

// testKey is a deterministic node key.
func testKey(t testing.TB, seed uint64) *wallet.PrivateKey {
	t.Helper()
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	k, err := wallet.GenerateKeyFrom(rand.NewChaCha8(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fast shortens timers; the score parameters stay the production ones.
func fast() *knobs {
	return &knobs{
		inspectEvery:   50 * time.Millisecond,
		discoverEvery:  100 * time.Millisecond,
		advertiseRetry: 100 * time.Millisecond,
		backoffMin:     50 * time.Millisecond,
		backoffMax:     time.Second,
		banFor:         time.Minute,
	}
}

type hostOpt func(*Config)

func bootstrap(hs ...*Host) hostOpt {
	return func(c *Config) {
		for _, h := range hs {
			c.Bootstrap = append(c.Bootstrap, h.Addrs()...)
		}
	}
}

func noDHT(c *Config) { c.knobs.noDHT = true }

var seed uint64

func newHost(t testing.TB, chainID string, opts ...hostOpt) *Host {
	t.Helper()
	cfg := LoopbackConfig()
	cfg.knobs = fast()
	for _, o := range opts {
		o(&cfg)
	}
	seed++
	h, err := New(context.Background(), cfg, testKey(t, seed), chainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type delivery struct {
	topic TopicID
	from  peer.ID
	data  string
}

// inbox joins all topics with validate and collects deliveries.
type inbox struct {
	mu  sync.Mutex
	got []delivery
	ch  chan delivery
}

func join(t testing.TB, h *Host, validate Validator) *inbox {
	t.Helper()
	if validate == nil {
		validate = func(peer.ID, []byte) Verdict { return Accept }
	}
	in := &inbox{ch: make(chan delivery, 4096)}
	for _, topic := range allTopics {
		err := h.Join(topic, validate, func(tp TopicID, from peer.ID, data []byte) {
			d := delivery{tp, from, string(data)}
			in.mu.Lock()
			in.got = append(in.got, d)
			in.mu.Unlock()
			select {
			case in.ch <- d:
			default:
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return in
}

func (in *inbox) has(data string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.ContainsFunc(in.got, func(d delivery) bool { return d.data == data })
}

func (in *inbox) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.got)
}

func connected(a, b *Host) bool { return slices.Contains(a.Peers(), b.ID()) }

func subscribed(a *Host, t TopicID, bs ...*Host) bool {
	ps := a.TopicPeers(t)
	for _, b := range bs {
		if !slices.Contains(ps, b.ID()) {
			return false
		}
	}
	return true
}

func inMesh(a *Host, t TopicID, bs ...*Host) bool {
	ps := a.MeshPeers(t)
	for _, b := range bs {
		if !slices.Contains(ps, b.ID()) {
			return false
		}
	}
	return true
}

func TestIdentityIsNodeKey(t *testing.T) {
	k := testKey(t, 999)
	cfg := LoopbackConfig()
	cfg.knobs = fast()
	cfg.knobs.noDHT = true
	h1, err := New(context.Background(), cfg, k, chain, nil)
	if err != nil {
		t.Fatal(err)
	}
	id1 := h1.ID()
	if err := h1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h1.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	pub, err := crypto.UnmarshalSecp256k1PublicKey(k.Public().Compressed())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := peer.IDFromPublicKey(pub)
	if id1 != want {
		t.Fatalf("peer id %s, want %s (from the node key)", id1, want)
	}
	h2, err := New(context.Background(), cfg, k, chain, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if h2.ID() != id1 {
		t.Fatal("peer id changed across restarts")
	}
}

// TestBootstrapStarGossip: three hosts bootstrap to a hub (no DHT); a
// message published by a leaf reaches every other host through the hub.
func TestBootstrapStarGossip(t *testing.T) {
	hub := newHost(t, chain, noDHT)
	hubIn := join(t, hub, nil)
	var leaves []*Host
	var ins []*inbox
	for range 3 {
		l := newHost(t, chain, noDHT, bootstrap(hub))
		ins = append(ins, join(t, l, nil))
		leaves = append(leaves, l)
	}
	waitFor(t, "leaves connected to the hub", func() bool {
		return connected(leaves[0], hub) && connected(leaves[1], hub) && connected(leaves[2], hub)
	})
	waitFor(t, "tx subscriptions known", func() bool {
		return subscribed(hub, TopicTx, leaves...) && subscribed(leaves[0], TopicTx, hub)
	})
	waitFor(t, "the hub's tx mesh", func() bool { return inMesh(hub, TopicTx, leaves...) })
	if err := leaves[0].Publish(TopicTx, []byte("tx-1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tx-1 everywhere", func() bool {
		return hubIn.has("tx-1") && ins[1].has("tx-1") && ins[2].has("tx-1")
	})
	if ins[0].has("tx-1") {
		t.Fatal("own publication delivered to its author")
	}
	if slices.Contains(leaves[1].Peers(), leaves[2].ID()) {
		t.Fatal("leaves connected without DHT or bootstrap")
	}
}

// TestDHTDiscovery: five hosts each given only the first as bootstrap end
// up connected to all others through the DHT, and gossip reaches all.
func TestDHTDiscovery(t *testing.T) {
	first := newHost(t, chain)
	hs := []*Host{first}
	ins := []*inbox{join(t, first, nil)}
	for range 4 {
		h := newHost(t, chain, bootstrap(first))
		hs = append(hs, h)
		ins = append(ins, join(t, h, nil))
	}
	waitFor(t, "full mesh through DHT discovery", func() bool {
		for _, a := range hs {
			if len(a.Peers()) < len(hs)-1 {
				return false
			}
		}
		return true
	})
	waitFor(t, "reading subscriptions known", func() bool {
		for i, a := range hs {
			others := slices.Delete(slices.Clone(hs), i, i+1)
			if !subscribed(a, TopicReading, others...) {
				return false
			}
		}
		return true
	})
	for i, h := range hs {
		if err := h.Publish(TopicReading, fmt.Appendf(nil, "reading-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every reading at every other host", func() bool {
		for j, in := range ins {
			for i := range hs {
				if i != j && !in.has(fmt.Sprintf("reading-%d", i)) {
					return false
				}
			}
		}
		return true
	})
	// Everything that was dialled is on loopback.
	for _, h := range hs {
		for _, c := range h.LibP2P().Network().Conns() {
			if !isLoopback(c.RemoteMultiaddr()) {
				t.Fatalf("connection to %s", c.RemoteMultiaddr())
			}
		}
	}
}

// TestRejectStopsForwarding: on a line a - b - c, a message b rejects
// never reaches c, and a's score at b falls below zero.
func TestRejectStopsForwarding(t *testing.T) {
	a := newHost(t, chain, noDHT)
	b := newHost(t, chain, noDHT, bootstrap(a))
	c := newHost(t, chain, noDHT, bootstrap(b))
	join(t, a, nil)
	bIn := join(t, b, func(_ peer.ID, data []byte) Verdict {
		if bytes.HasPrefix(data, []byte("bad")) {
			return Reject
		}
		return Accept
	})
	cIn := join(t, c, nil)
	waitFor(t, "line subscriptions", func() bool {
		return subscribed(a, TopicTx, b) && subscribed(b, TopicTx, a, c) && subscribed(c, TopicTx, b)
	})
	waitFor(t, "b's tx mesh", func() bool { return inMesh(b, TopicTx, a, c) })
	if connected(a, c) {
		t.Fatal("a and c connected directly")
	}
	if err := a.Publish(TopicTx, []byte("bad-1")); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(TopicTx, []byte("good-1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "good-1 at c", func() bool { return cIn.has("good-1") })
	waitFor(t, "a's score at b below zero", func() bool {
		s, ok := b.Score(a.ID())
		return ok && s < 0
	})
	if bIn.has("bad-1") || cIn.has("bad-1") {
		t.Fatal("rejected message delivered or forwarded")
	}
	if s, _ := b.Score(a.ID()); s > -90 || s < -110 {
		// one invalid tx costs -1000 x 0.1 = -100; one first delivery earns 0.1
		t.Fatalf("score %v after one invalid tx, want about -100", s)
	}
}

// TestGraylistDisconnects: a peer that sends only invalid messages falls
// below the graylist threshold, is disconnected and cannot reconnect.
func TestGraylistDisconnects(t *testing.T) {
	victim := newHost(t, chain, noDHT)
	victimIn := join(t, victim, func(peer.ID, []byte) Verdict { return Reject })
	attacker := newHost(t, chain, noDHT, bootstrap(victim))
	join(t, attacker, nil)
	waitFor(t, "subscriptions", func() bool {
		return subscribed(attacker, TopicTx, victim) && subscribed(victim, TopicTx, attacker)
	})
	for i := range 10 {
		if err := attacker.Publish(TopicTx, fmt.Appendf(nil, "garbage-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "attacker banned and disconnected", func() bool {
		return victim.Banned(attacker.ID()) && !connected(victim, attacker)
	})
	if s, _ := victim.Score(attacker.ID()); s >= graylistThreshold {
		t.Fatalf("score %v, want below %d", s, graylistThreshold)
	}
	if victimIn.count() != 0 {
		t.Fatal("invalid messages delivered")
	}
	// Reconnecting is refused by the victim's gater, and so is the other
	// direction.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	vi := peer.AddrInfo{ID: victim.ID(), Addrs: victim.LibP2P().Addrs()}
	if err := attacker.LibP2P().Connect(ctx, vi); err == nil {
		// The connection may be torn down after the handshake; it must not stay.
		waitFor(t, "banned reconnection closed", func() bool { return !connected(victim, attacker) })
	}
	ai := peer.AddrInfo{ID: attacker.ID(), Addrs: attacker.LibP2P().Addrs()}
	if err := victim.LibP2P().Connect(ctx, ai); err == nil {
		t.Fatal("victim dialled a banned peer")
	}
}

// TestWrongChainDoesNotMix: hosts of two chains, connected, never see each
// other's gossip or DHT.
func TestWrongChainDoesNotMix(t *testing.T) {
	x := newHost(t, "gridmint-a")
	y := newHost(t, "gridmint-b", bootstrap(x))
	z := newHost(t, "gridmint-b", bootstrap(y))
	xIn := join(t, x, nil)
	join(t, y, nil)
	zIn := join(t, z, nil)
	waitFor(t, "y and z on chain b", func() bool {
		return connected(x, y) && subscribed(y, TopicTx, z) && subscribed(z, TopicTx, y)
	})
	if err := y.Publish(TopicTx, []byte("b-tx")); err != nil {
		t.Fatal(err)
	}
	if err := x.Publish(TopicTx, []byte("a-tx")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b-tx at z", func() bool { return zIn.has("b-tx") })
	waitFor(t, "z in y's DHT", func() bool { return y.kdht.RoutingTable().Find(z.ID()) != "" })
	if xIn.count() != 0 || zIn.has("a-tx") {
		t.Fatal("gossip crossed chains")
	}
	if len(x.TopicPeers(TopicTx)) != 0 || slices.Contains(y.TopicPeers(TopicTx), x.ID()) {
		t.Fatal("a host of another chain is a topic peer")
	}
	if x.kdht.RoutingTable().Find(y.ID()) != "" || y.kdht.RoutingTable().Find(x.ID()) != "" {
		t.Fatal("DHTs of two chains mixed")
	}
	if x.TopicName(TopicTx) == y.TopicName(TopicTx) || x.ProtocolID("blocks/1") == y.ProtocolID("blocks/1") {
		t.Fatal("names not per chain")
	}
}

// TestOversizedDropped: a message above the receiver's topic bound is
// rejected (and counted), the sender refuses to publish one above its own.
func TestOversizedDropped(t *testing.T) {
	small := func(c *Config) { c.MaxMessageBytes.Tx = 2048 }
	a := newHost(t, chain, noDHT)
	b := newHost(t, chain, noDHT, small, bootstrap(a))
	join(t, a, nil)
	bIn := join(t, b, nil)
	waitFor(t, "subscriptions", func() bool { return subscribed(a, TopicTx, b) && subscribed(b, TopicTx, a) })
	big := strings.Repeat("x", 4096)
	if err := a.Publish(TopicTx, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(TopicTx, []byte("small")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "big counted and small delivered", func() bool { return b.Oversized(TopicTx) == 1 && bIn.has("small") })
	if bIn.has(big) {
		t.Fatal("oversized message delivered")
	}
	if err := b.Publish(TopicTx, []byte(big)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("publishing above the bound: %v, want ErrTooLarge", err)
	}
	if err := b.Publish(TopicTx, make([]byte, DefaultMaxMessageBytes().Consensus)); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
}

// TestLoopbackOnly: non-loopback listen, announce and bootstrap addresses
// are filtered or refused, and the gater refuses to dial or accept one.
func TestLoopbackOnly(t *testing.T) {
	h := newHost(t, chain, noDHT, func(c *Config) {
		c.Listen = append(c.Listen, "/ip4/0.0.0.0/tcp/0")
		c.Announce = []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/192.0.2.7/tcp/4001", "/ip4/0.0.0.0/tcp/4001"}
	})
	got := h.Addrs()
	want := []string{"/ip4/127.0.0.1/tcp/4001/p2p/" + h.ID().String()}
	if !slices.Equal(got, want) {
		t.Fatalf("addrs %v, want %v", got, want)
	}
	for _, a := range h.LibP2P().Network().ListenAddresses() {
		if !isLoopback(a) {
			t.Fatalf("listening on %s", a)
		}
	}
	g := h.gater
	pub := ma.StringCast("/ip4/192.0.2.7/tcp/4001")
	if g.InterceptAddrDial(h.ID(), pub) || !g.InterceptAddrDial(h.ID(), ma.StringCast("/ip4/127.0.0.9/udp/1/quic-v1")) {
		t.Fatal("gater dial filter")
	}
	if g.InterceptAccept(connAddrs{pub}) || !g.InterceptAccept(connAddrs{ma.StringCast("/ip6/::1/tcp/5")}) {
		t.Fatal("gater accept filter")
	}

	bad := map[string]func(*Config){
		"listen none left": func(c *Config) { c.Listen = []string{"/ip4/0.0.0.0/tcp/0"} },
		"bootstrap public": func(c *Config) {
			c.Bootstrap = []string{"/ip4/192.0.2.7/tcp/4001/p2p/" + h.ID().String()}
		},
		"bootstrap no id": func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"} },
		"bad multiaddr":   func(c *Config) { c.Announce = []string{"/ip4/nope"} },
		"max peers":       func(c *Config) { c.MaxPeers = 0 },
		"limits":          func(c *Config) { c.Limits.FDs = 1 },
	}
	for name, mut := range bad {
		cfg := LoopbackConfig()
		mut(&cfg)
		if _, err := New(context.Background(), cfg, testKey(t, 1), chain, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := New(context.Background(), LoopbackConfig(), testKey(t, 1), "Bad Chain", nil); !errors.Is(err, ErrConfig) {
		t.Errorf("bad chain id: %v", err)
	}
}

type connAddrs struct{ remote ma.Multiaddr }

func (c connAddrs) LocalMultiaddr() ma.Multiaddr  { return ma.StringCast("/ip4/127.0.0.1/tcp/1") }
func (c connAddrs) RemoteMultiaddr() ma.Multiaddr { return c.remote }

// TestMDNSAndNATWiring checks the wiring of mDNS and port mapping without
// starting either (both send to the LAN).
func TestMDNSAndNATWiring(t *testing.T) {
	// Port mapping: the option is in the libp2p configuration exactly
	// when configured.
	for _, on := range []bool{false, true} {
		cfg := LoopbackConfig()
		cfg.NATPortMap = on
		p, err := cfg.validate()
		if err != nil {
			t.Fatal(err)
		}
		var lc config.Config
		if err := lc.Apply(hostOptions(&cfg, p, nil, nil, nil, newGater(true))...); err != nil {
			t.Fatal(err)
		}
		if (lc.NATManager != nil) != on {
			t.Fatalf("NATPortMap %v: NAT manager set %v", on, lc.NATManager != nil)
		}
		if !lc.RelayCustom || lc.Relay {
			t.Fatal("relay not disabled")
		}
	}
	if d := DefaultConfig(); !d.MDNS || !d.NATPortMap || d.LoopbackOnly {
		t.Fatal("a home's defaults: mDNS and port mapping on")
	}
	if l := LoopbackConfig(); l.MDNS || l.NATPortMap || !l.LoopbackOnly {
		t.Fatal("loopback config must send nothing to the LAN")
	}

	// mDNS: with MDNS set, the service is built and started at New and
	// closed at Close; here a fake stands in for it.
	fake := &fakeMDNS{}
	h := newHost(t, chain, noDHT, func(c *Config) {
		c.MDNS = true
		c.knobs.newMDNS = func(*Host) mdnsService { fake.built++; return fake }
	})
	if fake.built != 1 || fake.started != 1 {
		t.Fatalf("mdns built %d started %d", fake.built, fake.started)
	}
	// The real constructor builds (without starting) a service under the
	// chain's name; its notifee dials what it finds.
	if defaultMDNS(h) == nil || mdnsServiceName(chain) != "gridmint-"+chain {
		t.Fatal("default mdns")
	}
	other := newHost(t, chain, noDHT)
	mdnsNotifee{h}.HandlePeerFound(peer.AddrInfo{ID: other.ID(), Addrs: other.LibP2P().Addrs()})
	waitFor(t, "mdns peer dialled", func() bool { return connected(h, other) })
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if fake.closed != 1 {
		t.Fatal("mdns not closed")
	}
	noMDNS := &fakeMDNS{}
	newHost(t, chain, noDHT, func(c *Config) { c.knobs.newMDNS = func(*Host) mdnsService { noMDNS.built++; return noMDNS } })
	if noMDNS.built != 0 {
		t.Fatal("mdns built without MDNS")
	}
}

type fakeMDNS struct{ built, started, closed int }

func (f *fakeMDNS) Start() error { f.started++; return nil }
func (f *fakeMDNS) Close() error { f.closed++; return nil }

// TestBootstrapRedial: a bootstrap peer that is down at start, and one that
// goes away and comes back, is dialled again.
func TestBootstrapRedial(t *testing.T) {
	k := testKey(t, 4242)
	cfg := LoopbackConfig()
	cfg.knobs = fast()
	cfg.knobs.noDHT = true
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	hub, err := New(context.Background(), cfg, k, chain, nil)
	if err != nil {
		t.Fatal(err)
	}
	addrs := hub.Addrs()
	leaf := newHost(t, chain, noDHT, func(c *Config) { c.Bootstrap = addrs })
	waitFor(t, "leaf connected", func() bool { return len(leaf.Peers()) == 1 })
	if err := hub.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leaf disconnected", func() bool { return len(leaf.Peers()) == 0 })
	// The same identity on the same port comes back.
	cfg.Listen = []string{strings.Split(addrs[0], "/p2p/")[0]}
	hub2, err := New(context.Background(), cfg, k, chain, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hub2.Close()
	waitFor(t, "leaf redialled the hub", func() bool { return slices.Contains(leaf.Peers(), hub2.ID()) })
}

func TestRequestResponse(t *testing.T) {
	a := newHost(t, chain, noDHT)
	b := newHost(t, chain, noDHT, bootstrap(a))
	a.HandleRequests("echo/1", 64, 5*time.Second, func(_ context.Context, from peer.ID, req []byte) ([]byte, error) {
		if from != b.ID() {
			return nil, fmt.Errorf("from %s", from)
		}
		if string(req) == "fail" {
			return nil, errors.New("no such block")
		}
		return append([]byte("echo:"), req...), nil
	})
	waitFor(t, "connected", func() bool { return connected(b, a) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := b.Request(ctx, a.ID(), "echo/1", []byte("hi"), 64)
	if err != nil || string(resp) != "echo:hi" {
		t.Fatalf("%q %v", resp, err)
	}
	if _, err := b.Request(ctx, a.ID(), "echo/1", []byte("fail"), 64); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "no such block") {
		t.Fatalf("handler error: %v", err)
	}
	if _, err := b.Request(ctx, a.ID(), "echo/1", make([]byte, 65), 64); err == nil {
		t.Fatal("oversized request answered")
	}
	if _, err := b.Request(ctx, a.ID(), "echo/1", []byte(strings.Repeat("y", 60)), 8); err == nil {
		t.Fatal("oversized response accepted")
	}
	if _, err := b.Request(ctx, a.ID(), "nope/1", nil, 8); err == nil {
		t.Fatal("unknown protocol answered")
	}
}

func TestGossipAdapterAndJoinErrors(t *testing.T) {
	a := newHost(t, chain, noDHT)
	b := newHost(t, chain, noDHT, bootstrap(a))
	join(t, a, nil)
	bIn := join(t, b, nil)
	if err := a.Join(TopicTx, nil, nil); !errors.Is(err, ErrJoined) {
		t.Fatal(err)
	}
	if err := a.Join(9, nil, nil); !errors.Is(err, ErrUnknownTopic) {
		t.Fatal(err)
	}
	if err := newHost(t, chain, noDHT).Publish(TopicTx, nil); !errors.Is(err, ErrNotJoined) {
		t.Fatal(err)
	}
	waitFor(t, "subscriptions", func() bool { return subscribed(a, TopicConsensus, b) })
	Gossip{a}.Broadcast(1, []byte("vote"))
	d := <-bIn.ch
	if d.topic != TopicConsensus || d.data != "vote" || d.from != a.ID() {
		t.Fatalf("%+v", d)
	}
}

// TestCloseLeavesNoGoroutines: hosts with the DHT, gossip and bootstrap
// redialling stop every goroutine they started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	run := func() {
		var hs []*Host
		cfg := LoopbackConfig()
		for i := range 3 {
			c := cfg
			c.knobs = fast()
			for _, h := range hs {
				c.Bootstrap = append(c.Bootstrap, h.Addrs()...)
			}
			h, err := New(context.Background(), c, testKey(t, uint64(100+i)), chain, nil)
			if err != nil {
				t.Fatal(err)
			}
			join(t, h, nil)
			hs = append(hs, h)
		}
		waitFor(t, "connected", func() bool { return len(hs[0].Peers()) == 2 && subscribed(hs[0], TopicTx, hs[1], hs[2]) })
		if err := hs[0].Publish(TopicTx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	run() // process-wide goroutines libp2p starts once (resolvers, pools)
	waitFor(t, "goroutines settle", func() bool { return true })
	before := runtime.NumGoroutine()
	run()
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDuplicatesDroppedBeforeValidation: the same bytes from two peers, or
// twice from one, reach the validator once (message id = SHA-256 of data).
func TestDuplicatesDroppedBeforeValidation(t *testing.T) {
	a := newHost(t, chain, noDHT)
	c := newHost(t, chain, noDHT)
	b := newHost(t, chain, noDHT, bootstrap(a, c))
	join(t, a, nil)
	join(t, c, nil)
	var mu sync.Mutex
	calls := map[string]int{}
	bIn := join(t, b, func(_ peer.ID, data []byte) Verdict {
		mu.Lock()
		calls[string(data)]++
		mu.Unlock()
		return Accept
	})
	waitFor(t, "subscriptions", func() bool {
		return subscribed(b, TopicTx, a, c) && subscribed(a, TopicTx, b) && subscribed(c, TopicTx, b)
	})
	if err := a.Publish(TopicTx, []byte("dup")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dup at b", func() bool { return bIn.has("dup") })
	if err := c.Publish(TopicTx, []byte("dup")); err != nil {
		t.Fatal(err)
	}
	// Each marker follows its sender's copy of dup on the same stream, and
	// the router decides on a duplicate before it queues the next message.
	for _, h := range []*Host{a, c} {
		if err := h.Publish(TopicTx, []byte("marker-"+h.ID().String())); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "markers at b", func() bool {
		return bIn.has("marker-"+a.ID().String()) && bIn.has("marker-"+c.ID().String())
	})
	mu.Lock()
	defer mu.Unlock()
	if calls["dup"] != 1 {
		t.Fatalf("validator saw dup %d times, want 1", calls["dup"])
	}
	n := 0
	for _, d := range bIn.got {
		if d.data == "dup" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("dup delivered %d times", n)
	}
}

// TestUselessFloodGraylists: a peer whose messages the validator Ignores
// and charges with Penalize (well formed, validly signed, useless by the
// node's state) costs nothing for the first 20, and is graylisted,
// disconnected and banned a few messages past 36; an honest peer that
// sends 20 is not touched.
func TestUselessFloodGraylists(t *testing.T) {
	var victim *Host
	victim = newHost(t, chain, noDHT)
	victimIn := join(t, victim, func(from peer.ID, data []byte) Verdict {
		if strings.HasPrefix(string(data), "useless") {
			victim.Penalize(from)
		}
		return Ignore
	})
	honest := newHost(t, chain, noDHT, bootstrap(victim))
	join(t, honest, nil)
	flooder := newHost(t, chain, noDHT, bootstrap(victim))
	join(t, flooder, nil)
	waitFor(t, "subscriptions", func() bool {
		return subscribed(victim, TopicTx, honest, flooder) && subscribed(honest, TopicTx, victim) && subscribed(flooder, TopicTx, victim)
	})
	for i := range uselessFree {
		if err := honest.Publish(TopicTx, fmt.Appendf(nil, "useless-honest-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 {
		if err := flooder.Publish(TopicTx, fmt.Appendf(nil, "useless-flood-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "flooder banned and disconnected", func() bool {
		return victim.Banned(flooder.ID()) && !connected(victim, flooder)
	})
	waitFor(t, "the honest peer's messages counted", func() bool {
		victim.useless.mu.Lock()
		defer victim.useless.mu.Unlock()
		return victim.useless.m[honest.ID()].n >= uselessFree-0.01
	})
	if s, _ := victim.Score(flooder.ID()); s >= graylistThreshold {
		t.Fatalf("flooder score %v, want below %d", s, graylistThreshold)
	}
	if victim.Banned(honest.ID()) || !connected(victim, honest) {
		t.Fatal("the honest peer was cut off")
	}
	if s := victim.useless.score(honest.ID()); s != 0 {
		t.Fatalf("honest peer's P5 %v, want 0 for %d useless messages", s, uselessFree)
	}
	if victimIn.count() != 0 {
		t.Fatal("ignored messages delivered")
	}
}

// TestUselessDecay: the count halves every uselessHalfLife and is
// forgotten below one; the score is quadratic past uselessFree.
func TestUselessDecay(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	u := newUseless()
	u.now = func() time.Time { return now }
	p := peer.ID("p")
	for range 30 {
		u.add(p)
	}
	if s := u.score(p); s != uselessWeight*10*10 {
		t.Fatalf("30 useless: %v, want %v", s, uselessWeight*100)
	}
	now = now.Add(uselessHalfLife)
	if s := u.score(p); s != 0 { // 15 left
		t.Fatalf("after a half-life: %v, want 0", s)
	}
	for range 25 { // 40
		u.add(p)
	}
	if s := u.score(p); s < uselessWeight*20*20-1e-6 || s > uselessWeight*20*20+1e-6 {
		t.Fatalf("40 useless: %v, want %v", s, uselessWeight*400)
	}
	now = now.Add(10 * uselessHalfLife)
	if s := u.score(p); s != 0 || len(u.m) != 0 {
		t.Fatalf("after ten half-lives: %v, %d kept; want 0 and forgotten", s, len(u.m))
	}
}
