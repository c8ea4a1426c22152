package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/p2p"
)

// TestCatchUpLiarBanned: a peer that answers a catch-up request (the
// catchup/1 protocol of a P2PNet without block sync) with a broken
// response, or with a message that is not a decided block, is cut off:
// banned by the host and disconnected.
func TestCatchUpLiarBanned(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time network")
	}
	g, vals, cons := p2pGenesis(1, 45)
	cfg := p2p.LoopbackConfig()
	cfg.Listen = cfg.Listen[:1]
	h, err := p2p.New(context.Background(), cfg, derivedKey(45, "node", 0), g.ChainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	net := NewP2PNet(h, nil)
	n, err := NewNode(NodeConfig{Name: "v", Dir: t.TempDir(), Genesis: g, Account: vals[0], ConsKey: cons[0], Net: net,
		BlockIntervalMs: 200, Timeouts: fastTimeouts()}, time.Now().UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- net.Run(ctx, n) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		h.Close()
		n.Close()
	}()
	vote := codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: &consensus.Vote{Type: consensus.Prevote, Height: 2}})
	for i, resp := range [][]byte{{0, 0}, EncodeBlocks([][]byte{vote})} {
		lcfg := p2p.LoopbackConfig()
		lcfg.Listen = lcfg.Listen[:1]
		lcfg.Bootstrap = []string{h.Addrs()[0]}
		liar, err := p2p.New(context.Background(), lcfg, derivedKey(45, "liar", i), g.ChainID, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer liar.Close()
		liar.HandleRequests(catchUpProto, 8, catchUpTimeout, func(context.Context, peer.ID, []byte) ([]byte, error) { return resp, nil })
		waitFor(t, 30*time.Second, "the liar connected", func() bool { return slices.Contains(h.Peers(), liar.ID()) })
		waitFor(t, 30*time.Second, "no catch-up under way", func() bool { return !net.catching.Load() })
		net.RequestBlocks(n.Ledger().Height() + 1)
		waitFor(t, 30*time.Second, "the liar banned and disconnected", func() bool {
			return h.Banned(liar.ID()) && !slices.Contains(h.Peers(), liar.ID())
		})
	}
}
