package p2p

import (
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestShedIf: while the shed test holds, messages on its topic are
// Ignored before the validator (not delivered, counted); other topics and,
// once it no longer holds, its own topic are delivered.
func TestShedIf(t *testing.T) {
	a := newHost(t, chain, noDHT)
	b := newHost(t, chain, noDHT, bootstrap(a))
	var shedding atomic.Bool
	shedding.Store(true)
	b.ShedIf(TopicTx, shedding.Load)
	var validated atomic.Int64
	join(t, a, nil)
	bIn := join(t, b, func(peer.ID, []byte) Verdict { validated.Add(1); return Accept })
	waitFor(t, "subscriptions", func() bool {
		return subscribed(a, TopicTx, b) && subscribed(a, TopicConsensus, b) && subscribed(b, TopicTx, a)
	})
	if err := a.Publish(TopicTx, []byte("shed me")); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(TopicConsensus, []byte("vote")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tx shed, vote delivered", func() bool { return b.Shed(TopicTx) == 1 && bIn.has("vote") })
	if bIn.has("shed me") || validated.Load() != 1 {
		t.Fatalf("shed message delivered or validated (%d validations)", validated.Load())
	}
	shedding.Store(false)
	if err := a.Publish(TopicTx, []byte("keep me")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tx delivered", func() bool { return bIn.has("keep me") })
	if b.Shed(TopicTx) != 1 || b.Shed(TopicConsensus) != 0 {
		t.Fatalf("shed counts %d %d", b.Shed(TopicTx), b.Shed(TopicConsensus))
	}
}
