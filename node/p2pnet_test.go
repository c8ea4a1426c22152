package node

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/p2p/blocksync"
	"github.com/gridmint/gridmint/wallet"
)

// p2pTestnet is n validators, each a Node on a P2PNet over a real libp2p
// host on 127.0.0.1, each Run on its own goroutine.
type p2pTestnet struct {
	g      *ledger.Genesis
	vals   []*wallet.PrivateKey
	cons   []*wallet.PrivateKey
	nets   []*P2PNet
	nodes  []*Node
	cancel []context.CancelFunc
	done   []chan error

	mu    sync.Mutex
	roots []map[uint64][32]byte // per node: state root after each height
}

func p2pGenesis(n int, seed uint64) (*ledger.Genesis, []*wallet.PrivateKey, []*wallet.PrivateKey) {
	g := &ledger.Genesis{ChainID: "gridmint-p2ptest", GenesisTime: 0, Params: ledger.DefaultParams()}
	g.GenesisTime = time.Now().Unix() / int64(g.Params.IntervalSeconds) * int64(g.Params.IntervalSeconds)
	var vals, cons []*wallet.PrivateKey
	for i := range n {
		vk, ck := derivedKey(seed, "validator", i), derivedKey(seed, "consensus", i)
		vals, cons = append(vals, vk), append(cons, ck)
		g.Validators = append(g.Validators, ledger.GenesisValidator{Address: vk.Address(), ConsensusKey: ck.Public().Compressed(), Stake: 100_000 * ledger.BaseUnitsPerFLX})
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: vk.Address(), Balance: 1_000 * ledger.BaseUnitsPerFLX})
	}
	return g, vals, cons
}

// fastTimeouts keep a test's rounds short (the rules are the same).
func fastTimeouts() consensus.Timeouts {
	return consensus.Timeouts{ProposeMs: 1500, ProposeDeltaMs: 250, PrevoteMs: 500, PrevoteDeltaMs: 250,
		PrecommitMs: 500, PrecommitDeltaMs: 250, RebroadcastMs: 1000}
}

func newP2PTestnet(t *testing.T, n int) *p2pTestnet { return newP2PTestnetWith(t, n, false) }

// newP2PTestnetWith is newP2PTestnet, with a BlockSync on every node if
// blockSync.
func newP2PTestnetWith(t *testing.T, n int, blockSync bool) *p2pTestnet {
	t.Helper()
	return newP2PTestnetOf(t, n, blockSync, func(*ledger.Genesis) {})
}

// newP2PTestnetOf is newP2PTestnetWith with p2pGenesis(n, 41) changed by
// edit first.
func newP2PTestnetOf(t *testing.T, n int, blockSync bool, edit func(*ledger.Genesis)) *p2pTestnet {
	t.Helper()
	g, vals, cons := p2pGenesis(n, 41)
	edit(g)
	tn := &p2pTestnet{g: g, vals: vals, cons: cons}
	dir := t.TempDir()
	var boot []string
	for i := range n {
		cfg := p2p.LoopbackConfig()
		cfg.Listen = cfg.Listen[:1] // TCP only: half the sockets
		cfg.Bootstrap = boot
		h, err := p2p.New(context.Background(), cfg, derivedKey(41, "node", i), g.ChainID, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range h.Addrs() {
			boot = append(boot, a+"/p2p/"+h.ID().String())
		}
		tn.nets = append(tn.nets, NewP2PNet(h, nil))
		tn.roots = append(tn.roots, map[uint64][32]byte{})
	}
	for i := range n {
		i := i
		nd, err := NewNode(NodeConfig{Name: fmt.Sprintf("v%d", i), Dir: fmt.Sprintf("%s/v%d", dir, i), Genesis: g,
			Account: vals[i], ConsKey: cons[i], Net: tn.nets[i], BlockIntervalMs: 200, Timeouts: fastTimeouts(),
			OnCommit: func(n *Node, b *ledger.Block, _ *ledger.BlockResult) {
				tn.mu.Lock()
				tn.roots[i][n.Ledger().Height()] = n.Ledger().StateRoot()
				tn.mu.Unlock()
			}}, time.Now().UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		tn.nodes = append(tn.nodes, nd)
		if blockSync {
			tn.nets[i].Sync = NewBlockSync(tn.nets[i], nd, blocksync.Config{}, blocksync.ServerConfig{})
		}
	}
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		tn.cancel, tn.done = append(tn.cancel, cancel), append(tn.done, done)
		go func() { done <- tn.nets[i].Run(ctx, tn.nodes[i]) }()
	}
	t.Cleanup(func() {
		for i := range tn.nodes {
			tn.stop(t, i)
		}
	})
	return tn
}

// stop ends node i's loop, then closes its host, then the node: nothing
// arrives after the node is closed.
func (tn *p2pTestnet) stop(t *testing.T, i int) {
	if tn.nodes[i] == nil {
		return
	}
	tn.cancel[i]()
	if err := <-tn.done[i]; err != nil {
		t.Errorf("node %d: %v", i, err)
	}
	if err := tn.nets[i].Host().Close(); err != nil {
		t.Errorf("node %d host: %v", i, err)
	}
	if err := tn.nodes[i].Close(); err != nil {
		t.Errorf("node %d: %v", i, err)
	}
	tn.nodes[i] = nil
}

func (tn *p2pTestnet) rootAt(i int, h uint64) ([32]byte, bool) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	r, ok := tn.roots[i][h]
	return r, ok
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestP2PNetCommits: four validators on real libp2p hosts on loopback,
// each driven in real time by its P2PNet, commit blocks with the same
// state root at every height; a transaction submitted at one node is
// committed at all four.
func TestP2PNetCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time network")
	}
	tn := newP2PTestnet(t, 4)
	const target = 4
	waitFor(t, time.Minute, "every node at the same root at height 4", func() bool {
		r0, ok := tn.rootAt(0, target)
		for i := 1; ok && i < 4; i++ {
			var r [32]byte
			r, ok = tn.rootAt(i, target)
			ok = ok && r == r0
		}
		return ok
	})
	// A transfer from validator 1, submitted at node 2.
	to := derivedKey(41, "someone", 0).Address()
	tx := &ledger.Tx{Nonce: 0, Fee: tn.g.Params.MinFee, Payload: &ledger.Transfer{To: to, Amount: 12_345}}
	if err := tx.Sign(tn.vals[1], tn.g.ChainID); err != nil {
		t.Fatal(err)
	}
	if !tn.nets[2].Submit(TopicTx, tx.Encode()) {
		t.Fatal("submit refused")
	}
	waitFor(t, time.Minute, "the transfer committed at every node", func() bool {
		for i := range 4 {
			a, err := tn.nodes[i].Ledger().Account(to)
			if err != nil || a.Balance != 12_345 {
				return false
			}
		}
		return true
	})
	for i := range 4 {
		st := tn.nets[i].Status()
		if !st.Validator || st.Peers == 0 || st.ChainID != tn.g.ChainID {
			t.Fatalf("node %d status %+v", i, st)
		}
		for k := range tn.nets[i].Rejected {
			if tn.nets[i].Rejected[k].Load() != 0 {
				t.Fatalf("node %d rejected an honest message", i)
			}
		}
	}
}

// TestP2PNetCatchUp: a validator stopped while the others commit comes
// back on the same data directory and catches up by the catch-up
// request (Transport.RequestBlocks) to the same root.
func TestP2PNetCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time network")
	}
	tn := newP2PTestnet(t, 4)
	waitFor(t, time.Minute, "height 2 at node 3", func() bool { _, ok := tn.rootAt(3, 2); return ok })
	dir := tn.nodes[3].cfg.Dir
	tn.stop(t, 3)
	h3 := func() uint64 {
		tn.mu.Lock()
		defer tn.mu.Unlock()
		return uint64(len(tn.roots[3]))
	}()
	waitFor(t, time.Minute, "three validators 5 heights past the stopped one", func() bool {
		_, ok := tn.rootAt(0, h3+5)
		return ok
	})
	// Back, with a new host on the same key, bootstrapping to node 0.
	cfg := p2p.LoopbackConfig()
	cfg.Listen = cfg.Listen[:1]
	h0 := tn.nets[0].Host()
	cfg.Bootstrap = []string{h0.Addrs()[0] + "/p2p/" + h0.ID().String()}
	h, err := p2p.New(context.Background(), cfg, derivedKey(41, "node", 3), tn.g.ChainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	tn.nets[3] = NewP2PNet(h, nil)
	nd, err := NewNode(NodeConfig{Name: "v3", Dir: dir, Genesis: tn.g, Account: tn.vals[3], ConsKey: tn.cons[3], Net: tn.nets[3],
		BlockIntervalMs: 200, Timeouts: fastTimeouts()}, time.Now().UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	tn.nodes[3] = nd
	ctx, cancel := context.WithCancel(context.Background())
	tn.cancel[3], tn.done[3] = cancel, make(chan error, 1)
	go func() { tn.done[3] <- tn.nets[3].Run(ctx, nd) }()
	waitFor(t, time.Minute, "node 3 back at node 0's height and root", func() bool {
		h := nd.Ledger().Height()
		r, ok := tn.rootAt(0, h)
		return h > h3+5 && ok && r == nd.Ledger().StateRoot()
	})
}

// TestGossipVerdict: the topic validators' answers, and each signature
// verified once: a transaction the validator accepted enters the mempool
// with no second recovery.
func TestGossipVerdict(t *testing.T) {
	g, vals, cons := p2pGenesis(1, 43)
	n, err := NewNode(NodeConfig{Name: "v", Dir: t.TempDir(), Genesis: g, Account: vals[0], ConsKey: cons[0],
		Net: nopNet{}, BlockIntervalMs: 200, Timeouts: fastTimeouts()}, g.GenesisTime*1000)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	tx := &ledger.Tx{Nonce: 0, Fee: g.Params.MinFee, Payload: &ledger.Transfer{To: derivedKey(43, "x", 0).Address(), Amount: 1}}
	if err := tx.Sign(vals[0], g.ChainID); err != nil {
		t.Fatal(err)
	}
	raw := tx.Encode()
	r0 := n.Sigs().Recoveries()
	if v := n.GossipVerdict(TopicTx, raw); v != p2p.Accept {
		t.Fatalf("valid tx: %v", v)
	}
	if r := n.Sigs().Recoveries(); r != r0+1 {
		t.Fatalf("validator ran %d recoveries, want 1", r-r0)
	}
	if err := n.Deliver(TopicTx, raw); err != nil || n.Pool.Len() != 1 {
		t.Fatalf("deliver: %v, pool %d", err, n.Pool.Len())
	}
	if r := n.Sigs().Recoveries(); r != r0+1 {
		t.Fatalf("the mempool verified again: %d recoveries", r-r0)
	}
	// Another chain's signature, a flipped signature byte, garbage: Reject.
	other := *tx
	if err := other.Sign(vals[0], "gridmint-other"); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(raw)
	bad[len(bad)-2] ^= 1
	for name, data := range map[string][]byte{"wrong chain": other.Encode(), "bad signature": bad, "garbage": {1, 2, 3}} {
		if v := n.GossipVerdict(TopicTx, data); v != p2p.Reject {
			t.Errorf("%s tx: %v, want Reject", name, v)
		}
		if v := n.GossipVerdict(TopicReading, data); v != p2p.Reject {
			t.Errorf("%s reading: %v, want Reject", name, v)
		}
		if v := n.GossipVerdict(TopicConsensus, data); v != p2p.Reject {
			t.Errorf("%s consensus: %v, want Reject", name, v)
		}
	}
	// A vote of a height below the ledger's is stale: Ignore. The ledger
	// is at 0, so pretend it is at 5.
	n.next.Store(&heightSets{low: 5})
	vote := codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: &consensus.Vote{Type: consensus.Prevote, Height: 2}})
	if v := n.GossipVerdict(TopicConsensus, vote); v != p2p.Ignore {
		t.Fatalf("stale vote: %v, want Ignore", v)
	}
}

type nopNet struct{}

func (nopNet) Broadcast(Topic, []byte) {}
func (nopNet) RequestBlocks(uint64)    {}

func TestDecodeBlocks(t *testing.T) {
	msgs := [][]byte{{1}, {2, 3}, bytes.Repeat([]byte{4}, 300)}
	got, err := DecodeBlocks(EncodeBlocks(msgs))
	if err != nil || len(got) != 3 || !bytes.Equal(got[2], msgs[2]) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for name, b := range map[string][]byte{
		"stray":  {0, 0},
		"empty":  {0, 0, 0, 0},
		"short":  {0, 0, 0, 5, 1},
		"excess": EncodeBlocks(make65()),
	} {
		if _, err := DecodeBlocks(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func make65() [][]byte {
	out := make([][]byte, catchUpBlocks+1)
	for i := range out {
		out[i] = []byte{byte(i)}
	}
	return out
}

func FuzzDecodeBlocks(f *testing.F) {
	f.Add(EncodeBlocks([][]byte{{1}, {2, 3}}))
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := DecodeBlocks(b)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeBlocks(msgs), b) {
			t.Fatal("not canonical")
		}
	})
}
