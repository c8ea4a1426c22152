package node

import (
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
)

// height is validator i's committed height.
func (d *Devnet) height(i int) uint64 { return d.nodes[i].Ledger().Height() }

// runUntil runs the network until cond holds or the virtual time passes
// limitMs from now; it reports whether cond held.
func (d *Devnet) runUntil(t *testing.T, limitMs int64, cond func() bool) bool {
	t.Helper()
	deadline := d.net.Now() + limitMs
	if err := d.net.Run(func() bool { return cond() || d.net.Now() >= deadline }, nil); err != nil {
		t.Fatal(err)
	}
	return cond()
}

// TestSilentValidators: with 4 equal validators, one silent does not stop
// the chain; two do (no quorum); when they return, it resumes and all agree.
func TestSilentValidators(t *testing.T) {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 0, Seed: 11, Blocks: 1 << 40, Deterministic: true, BlockIntervalMs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= 10 }) {
		t.Fatalf("no progress: height %d", d.height(0))
	}
	d.net.SetDown(3, true)
	h := d.height(0)
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= h+10 }) {
		t.Fatalf("one silent validator stopped the chain at %d", d.height(0))
	}
	d.net.SetDown(2, true)
	h = d.height(0)
	// Let any height in flight finish, then nothing more may be decided.
	d.runUntil(t, 10_000, func() bool { return false })
	h = d.height(0)
	if d.runUntil(t, 300_000, func() bool { return d.height(0) > h }) {
		t.Fatalf("two of four silent, yet height %d > %d", d.height(0), h)
	}
	d.net.SetDown(2, false)
	d.net.SetDown(3, false)
	if !d.runUntil(t, 600_000, func() bool {
		return d.height(0) >= h+10 && d.height(2) >= h+10 && d.height(3) >= h+10
	}) {
		t.Fatalf("did not resume: heights %d %d %d %d", d.height(0), d.height(1), d.height(2), d.height(3))
	}
	// Compare roots at a common height.
	common := min(d.height(0), d.height(1), d.height(2), d.height(3))
	want, _ := d.nodes[0].Ledger().Block(common)
	for i := 1; i < 4; i++ {
		b, err := d.nodes[i].Ledger().Block(common)
		if err != nil || b.Hash() != want.Hash() {
			t.Fatalf("validator %d disagrees at height %d: %v", i, common, err)
		}
	}
}

// TestBadInputCounted: garbage and forgeries on every topic change nothing
// (all validators keep agreeing) and are counted.
func TestBadInputCounted(t *testing.T) {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 1, Seed: 12, Blocks: 1 << 40, Deterministic: true, BlockIntervalMs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= 5 }) {
		t.Fatal("no progress")
	}
	// A vote signed by a key that is not a validator's, garbage, a reading
	// for a site signed by another key, a transaction replayed after it
	// was committed.
	stranger := derivedKey(99, "stranger", 0)
	home := d.fleet.Homes[0]
	r := meter.Reading{Site: home.Site(), Interval: 1, Counter: 1, GridImportWh: 5}
	r.Sign(stranger, d.genesis.ChainID) // fails: stranger is not the site key
	sig2, _ := stranger.SignTyped(meter.ReadingTag, d.genesis.ChainID, r.Body())
	r.Sig = sig2
	tx := &ledger.Tx{Nonce: 0, Fee: d.genesis.Params.MinFee, Payload: &ledger.Transfer{To: stranger.Address(), Amount: 1}}
	tx.Sign(d.owners[0], d.genesis.ChainID)
	raw := tx.Encode()
	d.client.Broadcast(TopicTx, raw)
	h := d.height(0)
	d.runUntil(t, 600_000, func() bool { return d.height(0) >= h+3 })
	before := map[Topic]uint64{}
	for _, n := range d.nodes {
		for k, c := range n.Bad {
			before[k] += c
		}
	}
	v := &consensus.Vote{Type: consensus.Prevote, Height: d.height(0) + 1, Validator: stranger.Address()}
	sig, _ := stranger.SignTyped("gridmint/vote/v1", d.genesis.ChainID, v.SignBytes())
	v.Signature = sig
	d.client.Broadcast(TopicConsensus, []byte{0xff, 1, 2})
	d.client.Broadcast(TopicConsensus, codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: v}))
	d.client.Broadcast(TopicTx, []byte("not a transaction"))
	d.client.Broadcast(TopicTx, raw) // replayed: its nonce is used
	d.client.Broadcast(TopicReading, r.Encode())
	d.client.Broadcast(TopicReading, []byte{1})
	h = d.height(0)
	d.runUntil(t, 600_000, func() bool { return d.height(0) >= h+5 })
	after := map[Topic]uint64{}
	for _, n := range d.nodes {
		for k, c := range n.Bad {
			after[k] += c
		}
	}
	// Each of the 4 validators counts each bad message once.
	for topic, want := range map[Topic]uint64{TopicConsensus: 8, TopicTx: 8, TopicReading: 8} {
		if got := after[topic] - before[topic]; got != want {
			t.Errorf("topic %d: %d counted, want %d", topic, got, want)
		}
	}
	s, err := d.summarize()
	if err != nil || !s.RootsAgree {
		t.Fatalf("roots agree %v, %v", s.RootsAgree, err)
	}
	if acc, _ := d.nodes[0].Ledger().Account(stranger.Address()); acc.Balance != 1 {
		t.Fatalf("replayed transfer applied twice: balance %d", acc.Balance)
	}
}

// TestValidatorRestart: a validator stopped mid-run restarts from its data
// directory, catches up, ends on the same blocks as the others, and nobody
// double-signs (no evidence, no slash).
func TestValidatorRestart(t *testing.T) {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 2, Seed: 13, Blocks: 1 << 40, Deterministic: true, BlockIntervalMs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= 8 }) {
		t.Fatal("no progress")
	}
	for round := 0; round < 3; round++ {
		i := 1 + round%3
		if err := d.RestartValidator(i); err != nil {
			t.Fatal(err)
		}
		h := d.height(0)
		if !d.runUntil(t, 600_000, func() bool { return d.height(i) >= h+8 && d.height(0) >= h+8 }) {
			t.Fatalf("round %d: validator %d at %d, validator 0 at %d", round, i, d.height(i), d.height(0))
		}
		// It votes again: its precommit is in a certificate after the restart.
		signed := false
		for k := h + 1; k <= d.height(i); k++ {
			c := consensusDecisionFromStore(t, d.nodes[i], k).Commit
			for _, s := range c.Sigs {
				signed = signed || s.Validator == d.conKeys[i].Address()
			}
		}
		if !signed {
			t.Fatalf("round %d: validator %d caught up but never signed again", round, i)
		}
	}
	common := min(d.height(0), d.height(1), d.height(2), d.height(3))
	want, _ := d.nodes[0].Ledger().Block(common)
	for i := 1; i < 4; i++ {
		b, err := d.nodes[i].Ledger().Block(common)
		if err != nil || b.Hash() != want.Hash() {
			t.Fatalf("validator %d disagrees at height %d: %v", i, common, err)
		}
	}
	for h := uint64(1); h <= common; h++ {
		res, err := d.nodes[0].Ledger().Results(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range res.Events {
			if ev.Kind == ledger.EventSlashed {
				t.Fatalf("height %d: a validator was slashed after a restart", h)
			}
		}
		for _, rc := range res.Receipts {
			if rc.Type == ledger.TxEvidence {
				t.Fatalf("height %d: evidence of double-signing after a restart", h)
			}
		}
	}
}
