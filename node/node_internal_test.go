package node

import (
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
)

// consensusDecisionFromStore rebuilds the decision of height h from what
// the node stored with the block.
func consensusDecisionFromStore(t *testing.T, n *Node, h uint64) consensus.Decision {
	t.Helper()
	cb, ok, err := n.Ledger().Aux(commitKey(h))
	if err != nil || !ok {
		t.Fatalf("certificate of %d: %v", h, err)
	}
	var c consensus.Commit
	if err := codec.Decode(cb, &c); err != nil {
		t.Fatal(err)
	}
	v, _, _ := n.Ledger().Aux(valueKey(h))
	return consensus.Decision{Height: h, Value: v, Commit: &c}
}
