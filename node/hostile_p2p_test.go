package node

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/p2p/blocksync"
	"github.com/gridmint/gridmint/wallet"
)

// rawPeer is a hostile libp2p host on 127.0.0.1 with a bare gossipsub
// router (no validators, no scoring): it publishes whatever it is given on
// the chain's topics, past everything gridmint's own Host would check.
type rawPeer struct {
	h      host.Host
	ps     *pubsub.PubSub
	topics map[p2p.TopicID]*pubsub.Topic
	cancel context.CancelFunc
}

func newRawPeer(t *testing.T, targets []*p2p.Host) *rawPeer {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(), libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithFloodPublish(true),
		pubsub.WithMessageIdFn(func(m *pb.Message) string { s := sha256.Sum256(m.Data); return string(s[:]) }),
		pubsub.WithMaxMessageSize(8<<20),
		pubsub.WithPeerOutboundQueueSize(4096),
	)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawPeer{h: h, ps: ps, topics: map[p2p.TopicID]*pubsub.Topic{}, cancel: cancel}
	t.Cleanup(func() { cancel(); _ = h.Close() })
	for _, id := range []p2p.TopicID{p2p.TopicConsensus, p2p.TopicTx, p2p.TopicReading} {
		top, err := ps.Join(targets[0].TopicName(id))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := top.Subscribe(); err != nil {
			t.Fatal(err)
		}
		r.topics[id] = top
	}
	for _, tg := range targets {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		err := h.Connect(cctx, peer.AddrInfo{ID: tg.ID(), Addrs: tg.LibP2P().Addrs()})
		ccancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "the hostile peer sees every validator on every topic", func() bool {
		for _, top := range r.topics {
			ps := top.ListPeers()
			for _, tg := range targets {
				if !slices.Contains(ps, tg.ID()) {
					return false
				}
			}
		}
		return true
	})
	return r
}

// publish sends data on topic; after the validators drop the peer,
// Publish has nobody to send to, which is not an error.
func (r *rawPeer) publish(t *testing.T, id p2p.TopicID, data []byte) {
	if err := r.topics[id].Publish(context.Background(), data); err != nil {
		t.Logf("hostile publish on %s: %v", id, err)
	}
}

// lyingStore is a block sync store that claims a height far ahead and
// serves garbage for every block.
type lyingStore struct{ height uint64 }

func (s lyingStore) Base() uint64   { return 1 }
func (s lyingStore) Height() uint64 { return s.height }
func (s lyingStore) Block(h uint64) ([]byte, error) {
	return []byte(fmt.Sprintf("not block %d", h)), nil
}

// cutOff: every validator has banned p and holds no connection to it.
func (tn *p2pTestnet) cutOff(p peer.ID) bool {
	for _, n := range tn.nets {
		if !n.Host().Banned(p) || slices.Contains(n.Host().Peers(), p) {
			return false
		}
	}
	return true
}

// TestHostilePeers: four validators, each a Node on a P2PNet over a real
// libp2p host on 127.0.0.1 (block interval 200 ms, fast timeouts, block
// sync on), and two hostile hosts built on bare go-libp2p-pubsub, each
// connected to all four and joined to the chain's three topics.
//
// Hostile peer A sends, on every topic, in bursts until every validator
// has cut it off:
//
//   - consensus: undecodable bytes, a message over the 4 MiB + 64 KiB
//     bound, the replay of a committed decision and of one of its
//     precommits, a validator's vote signed
//     for another chain, a vote by a non-validator for the next height and
//     one for a height 1,000 ahead;
//   - tx: undecodable bytes, 256 KiB + 1, the replay of a committed
//     transfer, a transfer signed for another chain, one with a used nonce,
//     one from an unfunded account;
//   - reading: undecodable bytes, 1 KiB + 1, a reading signed for another
//     chain, a reading of an unregistered site.
//
// Hostile peer B floods valid-looking messages: distinct, validly signed
// transfers from an unfunded account and readings of unregistered sites,
// at about 1,000 messages/s, until cut off.
//
// Hostile peer C lies on the block sync protocol: its one gossip message
// is a vote of height 2^20 (Ignored, but seen by each validator's engine,
// which takes it as a sign that it is behind and starts block sync), and
// its block sync server claims height 2^20 and serves garbage. Block sync
// bans it, and through its OnBan hook the host disconnects and bans it.
//
// A also replays and forges readings of a registered site whose key it
// holds (a compromised meter): its committed reading, a second one for
// that interval, one of an interval 10 ahead.
//
// Holds: every node keeps running and the four agree on every block and
// root, and no validator cut another off; no hostile transaction or reading is in any block, and the ledger
// shows none (no balance moved, no nonce used, no site); the chain
// commits at least a quarter of the blocks it committed in a window of the
// same length before the attack; both hostile peers fall below the
// graylist threshold (-2500) at every validator, which disconnects and
// bans them; C is banned by every validator's block sync and cut off; the malformed and wrong-chain messages were Rejected and the
// oversized ones counted per topic, the useless ones charged (P5).
//
// Measured on this machine (2 cores shared with other work, load 7-10,
// 11 runs without -race; the test logs these figures each run):
//
//	blocks in 8 s before / during:  27-36 / 19-35 (ratio 0.61-1.06, median 0.97)
//	median block interval:          222-290 ms before, 221-345 ms during
//	A, B cut off by all 4 after:    0.45-2.1 s (the first or second score
//	                                inspection, which runs every second)
//	C cut off by all 4 after:       0.25-1.0 s (block sync's first request)
//	lowest score (graylist -2500):  A -9,476 to -29,425; B -3,594 to -15,952
//
// With -race: 24 / 6-8 blocks (median 430 / 874 ms) and cut-offs after
// 6-10 s, as B's flood of signed messages, at race speed, fills the
// validators' validation queues; the rate bound is not asserted there.
// 19-21 s per run (30 s with -race).
func TestHostilePeers(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time network")
	}
	// Genesis a day ago: the metering intervals before now have ended, so
	// a reading of the last one is valid.
	tn := newP2PTestnetOf(t, 4, true, func(g *ledger.Genesis) { g.GenesisTime -= 86_400 })
	chainID := tn.g.ChainID
	hosts := make([]*p2p.Host, len(tn.nets))
	for i, n := range tn.nets {
		hosts[i] = n.Host()
	}
	waitFor(t, time.Minute, "height 3 at every node", func() bool {
		for i := range tn.nodes {
			if tn.nodes[i].Ledger().Height() < 3 {
				return false
			}
		}
		return true
	})

	// A committed transfer: the material of the replays.
	dest := derivedKey(61, "dest", 0).Address()
	good := &ledger.Tx{Nonce: 0, Fee: tn.g.Params.MinFee, Payload: &ledger.Transfer{To: dest, Amount: 1_000}}
	if err := good.Sign(tn.vals[1], chainID); err != nil {
		t.Fatal(err)
	}
	if !tn.nets[2].Submit(TopicTx, good.Encode()) {
		t.Fatal("submit refused")
	}
	waitFor(t, time.Minute, "the transfer committed at every node", func() bool {
		for _, n := range tn.nodes {
			if a, err := n.Ledger().Account(dest); err != nil || a.Balance != 1_000 {
				return false
			}
		}
		return true
	})
	// A registered site whose key the attacker holds (a compromised
	// meter), with one reading on chain.
	meterKey := derivedKey(61, "meter", 0)
	pop, err := meterKey.SignTyped(ledger.SitePoPTag, chainID, ledger.SitePoPBody(tn.vals[2].Address()))
	if err != nil {
		t.Fatal(err)
	}
	reg := &ledger.Tx{Nonce: 0, Fee: tn.g.Params.MinFee, Payload: &ledger.RegisterSite{SiteKey: meterKey.Public().Compressed(), PoP: pop,
		Zone: devnetZone, LatE6: 38_580_000, LonE6: -121_490_000, Devices: []ledger.Device{{Kind: ledger.DeviceMeter, NameplateW: 25_000}}}}
	if err := reg.Sign(tn.vals[2], chainID); err != nil {
		t.Fatal(err)
	}
	if !tn.nets[3].Submit(TopicTx, reg.Encode()) {
		t.Fatal("submit refused")
	}
	siteCounter := func(n *Node) uint64 {
		st, ok, err := n.Ledger().Site(meterKey.Address())
		if err != nil || !ok {
			return 0
		}
		return st.Counter + 1 // 1: registered, 2: one reading on chain
	}
	waitFor(t, time.Minute, "the site registered at every node", func() bool {
		for _, n := range tn.nodes {
			if siteCounter(n) < 1 {
				return false
			}
		}
		return true
	})
	nowInterval := func() uint64 {
		return uint64((time.Now().Unix() - tn.g.GenesisTime) / int64(tn.g.Params.IntervalSeconds))
	}
	goodReading := meter.Reading{Site: meterKey.Address(), Interval: nowInterval() - 1, Counter: 1, GridImportWh: 300}
	if err := goodReading.Sign(meterKey, chainID); err != nil {
		t.Fatal(err)
	}
	if !tn.nets[0].Submit(TopicReading, goodReading.Encode()) {
		t.Fatal("submit refused")
	}
	waitFor(t, time.Minute, "the reading on chain at every node", func() bool {
		for _, n := range tn.nodes {
			if siteCounter(n) < 2 {
				return false
			}
		}
		return true
	})
	decided := tn.nodes[0].ServeBlocks(2, 1)
	if len(decided) != 1 {
		t.Fatal("no decided block 2 to replay")
	}
	// And one of the precommits that decided it, as it was gossiped.
	var dm consensus.Message
	if err := codec.Decode(decided[0], &dm); err != nil || dm.Decided == nil || len(dm.Decided.Commit.Sigs) == 0 {
		t.Fatalf("decided block 2: %v", err)
	}
	cm, cs := dm.Decided.Commit, dm.Decided.Commit.Sigs[0]
	committedVote := codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: &consensus.Vote{Type: consensus.Precommit,
		Height: cm.Height, Round: cm.Round, BlockHash: cm.BlockHash, TimestampMs: cs.TimestampMs, Validator: cs.Validator, Signature: cs.Signature}})

	// The block rate before the attack, over a window of the attack's length.
	const window = 8 * time.Second
	before0, t0 := tn.nodes[0].Ledger().Height(), time.Now()
	waitFor(t, 2*window, "the baseline window", func() bool { return time.Since(t0) >= window })
	// (The hostile peers connect and subscribe at the end of it: that
	// much they may do; the attack begins with their first message.)
	a := newRawPeer(t, hosts)
	b := newRawPeer(t, hosts)
	c := newRawPeer(t, hosts) // the block sync liar
	blocksync.NewServer(c.h, chainID, lyingStore{height: 1 << 20}, blocksync.ServerConfig{})
	before1 := tn.nodes[0].Ledger().Height()
	attackStart := time.Now()
	r := rand.New(rand.NewPCG(61, 16))
	sizes := p2p.DefaultMaxMessageBytes()
	junk := func(n int) []byte {
		out := make([]byte, n)
		for i := range out {
			out[i] = byte(r.Uint32())
		}
		return out
	}
	// The oversized messages: drawn once (the attacker's CPU is the
	// validators' on this machine), made distinct per burst by a serial.
	big := map[p2p.TopicID][]byte{p2p.TopicConsensus: junk(sizes.Consensus + 1), p2p.TopicTx: junk(sizes.Tx + 1), p2p.TopicReading: junk(sizes.Reading + 1)}
	tooBig := func(id p2p.TopicID, serial int) []byte {
		b := slices.Clone(big[id])
		binary.BigEndian.PutUint64(b, uint64(serial))
		return b
	}
	var mu sync.Mutex // the flood goroutine adds to these too
	var hostileTxs, hostileReadings [][32]byte
	hostileSites := map[wallet.Address]bool{} // unregistered
	signTx := func(k *wallet.PrivateKey, nonce uint64, chain string, to wallet.Address, amount uint64) []byte {
		tx := &ledger.Tx{Nonce: nonce, Fee: tn.g.Params.MinFee, Payload: &ledger.Transfer{To: to, Amount: amount}}
		if err := tx.Sign(k, chain); err != nil {
			panic(err) // a valid key always signs
		}
		mu.Lock()
		hostileTxs = append(hostileTxs, tx.Hash())
		mu.Unlock()
		return tx.Encode()
	}
	curInterval := nowInterval
	signReading := func(k *wallet.PrivateKey, chain string, interval, counter uint64) []byte {
		m := meter.Reading{Site: k.Address(), Interval: interval, Counter: counter, GridImportWh: 300 + uint32(counter)}
		if k == meterKey {
			m.PrevHash = goodReading.Hash()
		}
		if err := m.Sign(k, chain); err != nil {
			panic(err)
		}
		mu.Lock()
		if k != meterKey {
			hostileSites[k.Address()] = true
		}
		hostileReadings = append(hostileReadings, m.Hash())
		mu.Unlock()
		return m.Encode()
	}
	signVote := func(k *wallet.PrivateKey, chain string, height uint64) []byte {
		v := &consensus.Vote{Type: consensus.Prevote, Height: height, Round: 0, TimestampMs: time.Now().UnixMilli(), Validator: k.Address()}
		sig, err := k.SignTyped(consensus.TagVote, chain, v.SignBytes())
		if err != nil {
			t.Fatal(err)
		}
		v.Signature = sig
		return codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: v})
	}
	const other = "gridmint-other"
	outsider := derivedKey(61, "outsider", 0) // neither funded nor a validator
	unreg := derivedKey(61, "unregistered-site", 0)

	// The lowest score each validator gave each hostile peer, sampled at
	// its inspections (every second; a graylisted peer is banned at the
	// first below -2500, after which its score decays back towards 0).
	var minMu sync.Mutex
	minScores, bannedAt := map[peer.ID][]float64{}, map[peer.ID][]time.Duration{}
	for _, p := range []peer.ID{a.h.ID(), b.h.ID(), c.h.ID()} {
		minScores[p], bannedAt[p] = make([]float64, len(hosts)), make([]time.Duration, len(hosts))
	}
	sampleStop, sampleDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampleDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			minMu.Lock()
			for p, ms := range minScores {
				for i, h := range hosts {
					if s, ok := h.Score(p); ok {
						ms[i] = min(ms[i], s)
					}
					if bannedAt[p][i] == 0 && h.Banned(p) {
						bannedAt[p][i] = time.Since(attackStart)
					}
				}
			}
			minMu.Unlock()
			select {
			case <-sampleStop:
				return
			case <-tick.C:
			}
		}
	}()

	// Hostile peer B: the flood, on its own goroutine until cut off.
	floodDone := make(chan int, 1)
	go func() {
		flooder := derivedKey(61, "flooder", 0)
		tick := time.NewTicker(time.Millisecond) // the flood's rate: about 1,000 messages/s
		defer tick.Stop()
		sent := 0
		for i := 0; i < 20_000 && !tn.cutOff(b.h.ID()); i++ {
			<-tick.C
			if i%2 == 0 {
				b.publish(t, p2p.TopicTx, signTx(flooder, uint64(i/2), chainID, dest, 1))
			} else {
				site := derivedKey(61, "flood-site", i/2)
				b.publish(t, p2p.TopicReading, signReading(site, chainID, curInterval()-1, 1))
			}
			sent++
		}
		floodDone <- sent
	}()

	// C's one gossip message: a vote of a height far ahead, which each
	// validator's engine sees (as a sign that it is behind) and which
	// sends it to block sync, where C claims 2^20 blocks and serves garbage.
	c.publish(t, p2p.TopicConsensus, signVote(derivedKey(61, "liar", 0), chainID, 1<<20))

	// Hostile peer A: every class in each burst, the merely ignored ones
	// first, until every validator has cut it off.
	bursts := 0
	// At most 10 bursts: the attacker shares the two cores with the
	// validators, and more would measure its CPU, not their defence.
	for !tn.cutOff(a.h.ID()) && bursts < 10 {
		low := tn.nodes[0].Ledger().Height() + 1
		// Replays and state-dependent ones.
		a.publish(t, p2p.TopicConsensus, decided[0])
		a.publish(t, p2p.TopicConsensus, committedVote)
		a.publish(t, p2p.TopicTx, good.Encode())
		a.publish(t, p2p.TopicTx, signTx(tn.vals[1], 0, chainID, dest, uint64(2_000+bursts))) // used nonce
		a.publish(t, p2p.TopicTx, signTx(outsider, uint64(bursts), chainID, dest, 5))         // unfunded
		a.publish(t, p2p.TopicReading, signReading(unreg, chainID, curInterval()-1, uint64(1+bursts)))
		a.publish(t, p2p.TopicReading, goodReading.Encode())                                               // replay
		a.publish(t, p2p.TopicReading, signReading(meterKey, chainID, goodReading.Interval, uint64(1)))    // a second one of its interval
		a.publish(t, p2p.TopicReading, signReading(meterKey, chainID, curInterval()+10, uint64(2+bursts))) // from the future
		a.publish(t, p2p.TopicConsensus, signVote(outsider, chainID, low+1_000))
		// Invalid whatever the state, in the order that lets most reach
		// the validators before the router ignores the peer (three
		// rejected consensus messages take it past the graylist threshold,
		// after which gossipsub drops everything it sends unvalidated).
		if bursts == 0 {
			a.publish(t, p2p.TopicConsensus, tooBig(p2p.TopicConsensus, bursts))
		}
		a.publish(t, p2p.TopicTx, tooBig(p2p.TopicTx, bursts))
		a.publish(t, p2p.TopicReading, tooBig(p2p.TopicReading, bursts))
		a.publish(t, p2p.TopicTx, signTx(tn.vals[1], 1, other, dest, 7))
		a.publish(t, p2p.TopicReading, signReading(unreg, other, curInterval()-1, 1))
		a.publish(t, p2p.TopicTx, junk(40+r.IntN(200)))
		a.publish(t, p2p.TopicReading, junk(40+r.IntN(200)))
		a.publish(t, p2p.TopicConsensus, signVote(outsider, chainID, low))
		a.publish(t, p2p.TopicConsensus, signVote(tn.cons[1], other, low))
		a.publish(t, p2p.TopicConsensus, junk(40+r.IntN(200)))
		bursts++
		waitFor(t, 10*time.Second, "the burst handled", func() bool {
			return tn.cutOff(a.h.ID()) || time.Since(attackStart) > time.Duration(bursts)*200*time.Millisecond
		})
	}
	waitFor(t, time.Minute, "hostile peer A cut off", func() bool { return tn.cutOff(a.h.ID()) })
	cutA := time.Since(attackStart)
	var cutB time.Duration
	waitFor(t, time.Minute, "hostile peer B cut off", func() bool { return tn.cutOff(b.h.ID()) })
	cutB = time.Since(attackStart)
	flooded := <-floodDone
	waitFor(t, time.Minute, "hostile peer C (block sync) cut off", func() bool { return tn.cutOff(c.h.ID()) })
	for i, n := range tn.nets {
		if banned, why := n.Sync.(*BlockSync).Syncer().Bans().Banned(c.h.ID()); !banned {
			t.Errorf("validator %d: block sync did not ban C", i)
		} else if i == 0 {
			t.Logf("block sync ban of C: %v", why)
		}
	}

	// Reconnecting is refused.
	for _, h := range hosts {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.h.Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: h.LibP2P().Addrs()})
		cancel()
	}
	waitFor(t, 10*time.Second, "A's reconnections closed", func() bool { return tn.cutOff(a.h.ID()) })

	// The attack window: as long as the baseline.
	waitFor(t, 2*window+time.Minute, "the attack window", func() bool { return time.Since(attackStart) >= window })
	during := tn.nodes[0].Ledger().Height()
	attackEnd := time.Now()

	// Every node still runs, and they agree.
	for i := range tn.nodes {
		if len(tn.done[i]) != 0 {
			t.Fatalf("node %d stopped: %v", i, <-tn.done[i])
		}
	}
	hEnd := during
	defer func() {
		if t.Failed() {
			for i, n := range tn.nets {
				st := n.Status()
				t.Logf("node %d: height %d sync %s blocksync %s round %d peers %d", i, tn.nodes[i].Ledger().Height(), st.Sync, st.BlockSync, st.Round, st.Peers)
			}
		}
	}()
	waitFor(t, time.Minute, "every node 2 blocks past the attack", func() bool {
		for _, n := range tn.nodes {
			if n.Ledger().Height() < hEnd+2 {
				return false
			}
		}
		return true
	})
	common := tn.nodes[0].Ledger().Height()
	for _, n := range tn.nodes {
		common = min(common, n.Ledger().Height())
	}
	r0, _ := tn.rootAt(0, common)
	for i := 1; i < len(tn.nodes); i++ {
		if ri, ok := tn.rootAt(i, common); !ok || ri != r0 {
			t.Fatalf("node %d disagrees at height %d", i, common)
		}
	}

	// No validator was turned against another (an honest relay scored
	// down for what a hostile peer made it forward).
	for i, h := range hosts {
		for j, o := range hosts {
			if i != j && (h.Banned(o.ID()) || !slices.Contains(h.Peers(), o.ID())) {
				t.Fatalf("validator %d cut off validator %d (score %v)", i, j, func() float64 { s, _ := h.Score(o.ID()); return s }())
			}
		}
	}

	// Nothing hostile in any block or in the ledger.
	l := tn.nodes[0].Ledger()
	var times []int64
	for h := uint64(1); h <= common; h++ {
		blk, err := l.Block(h)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, blk.Header.TimeMs)
		for _, raw := range blk.Txs {
			tx, err := ledger.DecodeTx(raw)
			if err != nil {
				t.Fatalf("block %d holds an undecodable tx", h)
			}
			if slices.Contains(hostileTxs, tx.Hash()) {
				t.Fatalf("block %d holds a hostile tx %x", h, tx.Hash())
			}
			if rs, ok := tx.Payload.(*ledger.Readings); ok {
				for _, m := range rs.Readings {
					if hostileSites[m.Site] || slices.Contains(hostileReadings, m.Hash()) {
						t.Fatalf("block %d holds a hostile reading (site %s)", h, m.Site)
					}
				}
			}
		}
	}
	if acc, _ := l.Account(dest); acc.Balance != 1_000 {
		t.Fatalf("dest balance %d, want 1000 (the one good transfer)", acc.Balance)
	}
	if c := siteCounter(tn.nodes[0]); c != 2 {
		t.Fatalf("the compromised site has %d readings on chain, want 1 (the good one)", c-1)
	}
	if acc, _ := l.Account(tn.vals[1].Address()); acc.Nonce != 1 {
		t.Fatalf("validator 1 nonce %d, want 1", acc.Nonce)
	}
	for _, k := range []*wallet.PrivateKey{outsider, derivedKey(61, "flooder", 0)} {
		if acc, _ := l.Account(k.Address()); acc.Nonce != 0 || acc.Balance != 0 {
			t.Fatalf("hostile account %s: %+v", k.Address(), acc)
		}
	}
	for s := range hostileSites {
		if _, ok, _ := l.Site(s); ok {
			t.Fatalf("hostile site %s registered", s)
		}
	}

	// Scores, bans and the verdict counters.
	close(sampleStop)
	<-sampleDone
	minScore := func(p peer.ID) float64 {
		m := 0.0
		for i, s := range minScores[p] {
			if s >= -2500 {
				t.Fatalf("validator %d: lowest score of %s %.0f, want below -2500", i, p.ShortString(), s)
			}
			m = min(m, s)
		}
		return m
	}
	sa, sb := minScore(a.h.ID()), minScore(b.h.ID())
	var rejected, ignored, useless [4]uint64
	var oversized [4]uint64
	for _, n := range tn.nets {
		for k := range 4 {
			rejected[k] += n.Rejected[k].Load()
			ignored[k] += n.Ignored[k].Load()
			useless[k] += n.Useless[k].Load()
			oversized[k] += n.Host().Oversized(p2p.TopicID(k))
		}
	}
	for _, k := range []Topic{TopicConsensus, TopicTx, TopicReading} {
		if rejected[k] == 0 {
			t.Errorf("nothing rejected on %s", p2p.TopicID(k))
		}
		if oversized[k] == 0 {
			t.Errorf("nothing oversized counted on %s", p2p.TopicID(k))
		}
	}
	if useless[TopicTx] == 0 || useless[TopicReading] == 0 {
		t.Errorf("useless messages charged: %v", useless)
	}

	// Block rate: before, during (counts in equal windows) and the median
	// interval of the block times inside each window.
	medianGap := func(from, to time.Time) int64 {
		var gaps []int64
		for i := 1; i < len(times); i++ {
			if times[i-1] >= from.UnixMilli() && times[i] <= to.UnixMilli() {
				gaps = append(gaps, times[i]-times[i-1])
			}
		}
		if len(gaps) == 0 {
			return -1
		}
		sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
		return gaps[len(gaps)/2]
	}
	nBefore, nDuring := before1-before0, during-before1
	cutC := slices.Max(bannedAt[c.h.ID()]) // the waits above end after A's and B's
	t.Logf("banned by validator 0..3 after: A %v, B %v, C %v", bannedAt[a.h.ID()], bannedAt[b.h.ID()], bannedAt[c.h.ID()])
	msg := fmt.Sprintf("blocks in %s: %d before the attack (median interval %d ms), %d during it (median %d ms); "+
		"A cut off by all 4 after %s (%d bursts), min score %.0f; B after %s (%d messages), min score %.0f; C (block sync liar) after %s; "+
		"rejected %v ignored %v useless %v oversized %v (by topic, all validators)",
		window, nBefore, medianGap(t0, attackStart), nDuring, medianGap(attackStart, attackEnd),
		cutA.Round(time.Millisecond), bursts, sa, cutB.Round(time.Millisecond), flooded, sb, cutC.Round(time.Millisecond), rejected[1:], ignored[1:], useless[1:], oversized[1:])
	t.Log(msg)
	// The bound is generous on purpose (the attacker shares the two
	// cores with the validators, and -race slows everything): the chain
	// must keep a quarter of its rate. Without -race it keeps all of it.
	// With -race on a loaded machine it fell to a fifth once: there the
	// chain need only keep committing (the wait above).
	if !raceDetector && (nDuring*4 < nBefore || nDuring < 3) {
		t.Fatalf("block rate fell by more than 4x: %s", msg)
	}
}
