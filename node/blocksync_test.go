package node

import (
	"context"
	"testing"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/p2p/blocksync"
)

// TestP2PBlockSyncJoin: four validators with BlockSync commit blocks on
// real libp2p hosts on loopback; then a fifth node, not a validator, with
// an empty data directory joins, block-syncs from the four and follows:
// it reaches their height with the same state root, and every block it
// lacked came through the syncer.
func TestP2PBlockSyncJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time network")
	}
	tn := newP2PTestnetWith(t, 4, true)
	const ahead = 12
	waitFor(t, 2*time.Minute, "the validators at height 12", func() bool { _, ok := tn.rootAt(0, ahead); return ok })

	cfg := p2p.LoopbackConfig()
	cfg.Listen = cfg.Listen[:1]
	for _, net := range tn.nets {
		h := net.Host()
		cfg.Bootstrap = append(cfg.Bootstrap, h.Addrs()[0]+"/p2p/"+h.ID().String())
	}
	h, err := p2p.New(context.Background(), cfg, derivedKey(41, "node", 4), tn.g.ChainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	net := NewP2PNet(h, nil)
	tn.nets = append(tn.nets, net)
	tn.roots = append(tn.roots, map[uint64][32]byte{})
	nd, err := NewNode(NodeConfig{Name: "full", Dir: t.TempDir(), Genesis: tn.g, Net: net, BlockIntervalMs: 200, Timeouts: fastTimeouts(),
		OnCommit: func(n *Node, _ *ledger.Block, _ *ledger.BlockResult) {
			tn.mu.Lock()
			tn.roots[4][n.Ledger().Height()] = n.Ledger().StateRoot()
			tn.mu.Unlock()
		}}, time.Now().UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if nd.Ledger().Height() != 0 {
		t.Fatalf("new node at height %d", nd.Ledger().Height())
	}
	bs := NewBlockSync(net, nd, blocksync.Config{}, blocksync.ServerConfig{})
	net.Sync = bs
	tn.nodes = append(tn.nodes, nd)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	tn.cancel, tn.done = append(tn.cancel, cancel), append(tn.done, done)
	go func() { done <- net.Run(ctx, nd) }()

	// Same root as validator 0 at a height past the one it joined at.
	waitFor(t, 2*time.Minute, "the new node at validator 0's height and root", func() bool {
		h := nd.Ledger().Height()
		r, ok := tn.rootAt(0, h)
		return h > ahead && ok && r == nd.Ledger().StateRoot()
	})
	// The heights up to the one it joined at came through block sync
	// (syncedTo: the highest block the syncer handed over). Progress is
	// of the syncer's last run, which may be a short second one started
	// when a peer was seen a block or two ahead after catching up.
	p := bs.Progress()
	t.Logf("block sync: %+v", p)
	var synced uint64
	net.Do(func(n *Node) { synced = n.syncedTo })
	if synced < ahead {
		t.Fatalf("block sync handed over up to height %d (progress %+v): the blocks below %d did not come through it", synced, p, ahead)
	}
	// Every height the node committed has validator 0's root.
	tn.mu.Lock()
	for hgt, r := range tn.roots[4] {
		if r0, ok := tn.roots[0][hgt]; ok && r0 != r {
			tn.mu.Unlock()
			t.Fatalf("height %d: root %x, validator 0 has %x", hgt, r, r0)
		}
	}
	tn.mu.Unlock()
	waitFor(t, time.Minute, "the status to show block sync", func() bool {
		st := net.Status()
		return st != nil && st.BlockSync != "" && st.Height > ahead && !st.Validator
	})
	if st := net.Status(); st.SyncTarget < ahead {
		t.Fatalf("status %+v: sync target below %d", st, ahead)
	}
}
