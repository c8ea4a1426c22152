package node

import (
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/wallet"
)

// TestGossipVerdictClasses: each class of message a hostile peer sends
// (TestHostilePeers sends them all at once) gets its verdict, whether the
// node still sees it, and whether its sender is charged as useless:
// Reject for what is invalid whatever the state; Ignore, not forwarded,
// for what cannot be checked or is stale or useless by the state.
func TestGossipVerdictClasses(t *testing.T) {
	g, vals, cons := p2pGenesis(1, 44)
	g.GenesisTime -= 86_400 // the intervals of the last day have ended
	nowMs := (g.GenesisTime + 86_400) * 1000
	n, err := NewNode(NodeConfig{Name: "v", Dir: t.TempDir(), Genesis: g, Account: vals[0], ConsKey: cons[0],
		Net: nopNet{}, BlockIntervalMs: 200, Timeouts: fastTimeouts()}, nowMs)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	net := &P2PNet{Now: func() int64 { return nowMs }}
	chainID := g.ChainID
	cur := uint64(86_400 / int64(g.Params.IntervalSeconds))
	tx := func(k *wallet.PrivateKey, nonce, fee uint64) []byte {
		x := &ledger.Tx{Nonce: nonce, Fee: fee, Payload: &ledger.Transfer{To: wallet.Address{9}, Amount: 1}}
		if err := x.Sign(k, chainID); err != nil {
			t.Fatal(err)
		}
		return x.Encode()
	}
	reading := func(k *wallet.PrivateKey, interval uint64) []byte {
		r := meter.Reading{Site: k.Address(), Interval: interval, Counter: 1, GridImportWh: 100}
		if err := r.Sign(k, chainID); err != nil {
			t.Fatal(err)
		}
		return r.Encode()
	}
	vote := func(k *wallet.PrivateKey, typ consensus.VoteType, height uint64) []byte {
		v := &consensus.Vote{Type: typ, Height: height, TimestampMs: nowMs, Validator: k.Address()}
		sig, err := k.SignTyped(consensus.TagVote, chainID, v.SignBytes())
		if err != nil {
			t.Fatal(err)
		}
		v.Signature = sig
		return codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: v})
	}
	outsider := derivedKey(44, "outsider", 0)
	low := n.Ledger().Height() // 0: the next height is 1
	for _, c := range []struct {
		name    string
		topic   Topic
		data    []byte
		want    p2p.Verdict
		local   bool // delivered to the node although Ignored
		useless bool // charged to the sender
	}{
		{"funded tx", TopicTx, tx(vals[0], 0, g.Params.MinFee), p2p.Accept, false, false},
		{"tx with a nonce ahead", TopicTx, tx(vals[0], 5, g.Params.MinFee), p2p.Accept, false, false},
		{"unfunded tx", TopicTx, tx(outsider, 0, g.Params.MinFee), p2p.Ignore, false, true},
		{"tx below the minimum fee", TopicTx, tx(vals[0], 0, g.Params.MinFee-1), p2p.Ignore, false, true},
		{"reading of an unregistered site", TopicReading, reading(outsider, cur-1), p2p.Ignore, false, true},
		{"validator's vote, next height", TopicConsensus, vote(cons[0], consensus.Prevote, low+1), p2p.Accept, false, false},
		{"non-validator's vote, next height", TopicConsensus, vote(outsider, consensus.Prevote, low+1), p2p.Reject, false, false},
		{"vote far ahead", TopicConsensus, vote(outsider, consensus.Prevote, low+1_000), p2p.Ignore, true, false},
	} {
		v, local := n.gossipVerdict(c.topic, c.data)
		useless := false
		if v == p2p.Accept {
			v, useless = net.stateVerdict(n, c.topic, c.data)
		}
		if v != c.want || local != c.local || useless != c.useless {
			t.Errorf("%s: verdict %v local %v useless %v; want %v %v %v", c.name, v, local, useless, c.want, c.local, c.useless)
		}
	}
	// Of the committed height only precommits are checked; a prevote is
	// stale. Pretend the ledger is at 2 (the set is the same).
	hs := n.next.Load()
	n.next.Store(&heightSets{low: 2, sets: [2]*consensus.ValidatorSet{hs.sets[1], hs.sets[1]}})
	for _, c := range []struct {
		name string
		data []byte
		want p2p.Verdict
	}{
		{"precommit of the committed height", vote(cons[0], consensus.Precommit, 2), p2p.Accept},
		{"non-validator's precommit of the committed height", vote(outsider, consensus.Precommit, 2), p2p.Reject},
		{"prevote of the committed height", vote(outsider, consensus.Prevote, 2), p2p.Ignore},
		{"vote below the committed height", vote(outsider, consensus.Precommit, 1), p2p.Ignore},
	} {
		if v, local := n.gossipVerdict(TopicConsensus, c.data); v != c.want || local {
			t.Errorf("%s: %v local %v, want %v and not local", c.name, v, local, c.want)
		}
	}
}
