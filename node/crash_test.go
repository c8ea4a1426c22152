package node

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/wallet"
)

// signLog is every consensus message each validator signed, as seen on
// the wire (every message a validator process sent) and in its WAL (the
// signed records a restarted process found). A validator may send the
// same message again (rebroadcast, or re-sent from its WAL after a
// restart) but never sign a second, different one for the same step.
type signLog struct {
	votes     map[stepKey]consensus.Vote
	proposals map[stepKey]consensus.Proposal
	seen      int // signed messages recorded
	conflicts []string
	// precommitted is the highest height each validator sent a precommit
	// for a block at.
	precommitted map[wallet.Address]uint64
}

type stepKey struct {
	val    wallet.Address
	height uint64
	round  int32
	typ    consensus.VoteType // 0 for a proposal
}

func newSignLog() *signLog {
	return &signLog{votes: map[stepKey]consensus.Vote{}, proposals: map[stepKey]consensus.Proposal{},
		precommitted: map[wallet.Address]uint64{}}
}

func (s *signLog) add(from string, m *consensus.Message) {
	switch m.Kind {
	case consensus.MsgVote:
		v := *m.Vote
		s.seen++
		k := stepKey{v.Validator, v.Height, v.Round, v.Type}
		old, ok := s.votes[k]
		if !ok {
			s.votes[k] = v
			return
		}
		// Different blocks is double-signing; a different timestamp for
		// the same block means the validator signed the step twice, which
		// an honest restart from the WAL never does either.
		if old.BlockHash != v.BlockHash || old.TimestampMs != v.TimestampMs {
			s.conflicts = append(s.conflicts, fmt.Sprintf("%s: %s signed vote %d at h=%d r=%d twice: %x@%d and %x@%d",
				from, v.Validator.Hex(), v.Type, v.Height, v.Round, old.BlockHash[:4], old.TimestampMs, v.BlockHash[:4], v.TimestampMs))
		}
	case consensus.MsgProposal:
		p := *m.Proposal
		s.seen++
		k := stepKey{p.Proposer, p.Height, p.Round, 0}
		old, ok := s.proposals[k]
		if !ok {
			s.proposals[k] = p
			return
		}
		if old.ValueHash() != p.ValueHash() || old.ValidRound != p.ValidRound {
			s.conflicts = append(s.conflicts, fmt.Sprintf("%s: %s proposed twice at h=%d r=%d", from, p.Proposer.Hex(), p.Height, p.Round))
		}
	}
}

// has reports whether exactly this vote or proposal was seen before.
func (s *signLog) has(m *consensus.Message) bool {
	switch m.Kind {
	case consensus.MsgVote:
		v := m.Vote
		old, ok := s.votes[stepKey{v.Validator, v.Height, v.Round, v.Type}]
		return ok && old.BlockHash == v.BlockHash && old.TimestampMs == v.TimestampMs && old.Signature == v.Signature
	case consensus.MsgProposal:
		p := m.Proposal
		old, ok := s.proposals[stepKey{p.Proposer, p.Height, p.Round, 0}]
		return ok && old.ValueHash() == p.ValueHash() && old.ValidRound == p.ValidRound && old.Signature == p.Signature
	}
	return false
}

// sent records a message a validator process sent.
func (s *signLog) sent(i int, topic Topic, data []byte) {
	if topic != TopicConsensus {
		return
	}
	var m consensus.Message
	if codec.Decode(data, &m) != nil {
		return
	}
	s.add(fmt.Sprintf("validator %d sent", i), &m)
	if v := m.Vote; m.Kind == consensus.MsgVote && v.Type == consensus.Precommit && !v.BlockHash.IsNil() {
		s.precommitted[v.Validator] = max(s.precommitted[v.Validator], v.Height)
	}
}

// fromWAL records the signed records in a node's WAL.
func (s *signLog) fromWAL(t *testing.T, i int, n *Node) int {
	t.Helper()
	entries, err := consensus.ReadWAL(n.wal)
	if err != nil {
		t.Fatalf("validator %d: WAL after restart: %v", i, err)
	}
	count := 0
	for k := range entries {
		if entries[k].Kind == consensus.WALSigned {
			s.add(fmt.Sprintf("validator %d WAL", i), entries[k].Msg)
			count++
		}
	}
	return count
}

// noEvidence fails if any block up to h holds evidence of double-signing
// or slashes a validator.
func noEvidence(t *testing.T, n *Node, h uint64) {
	t.Helper()
	for k := uint64(1); k <= h; k++ {
		res, err := n.Ledger().Results(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range res.Events {
			if ev.Kind == ledger.EventSlashed {
				t.Fatalf("height %d: a validator was slashed", k)
			}
		}
		for _, rc := range res.Receipts {
			if rc.Type == ledger.TxEvidence {
				t.Fatalf("height %d: evidence of double-signing", k)
			}
		}
	}
}

// TestValidatorCrashes cuts the power of a random validator at seeded
// random instants, on a file system that keeps what was synced and a
// random part of what was not: between two network events, or inside an
// event right after its WAL was synced (before the messages just signed
// are sent, before a decided block is committed, in the middle of a WAL
// compaction after a commit). Each time the validator restarts on the
// crash clone, loses no block it had committed, catches up and votes
// again; nothing it signs after conflicts with what it signed before
// (checked on every message sent and every signed WAL record), nobody
// submits evidence or is slashed, and at the end all four validators have
// the same height and state root.
func TestValidatorCrashes(t *testing.T) {
	const seed = 21
	signed := newSignLog()
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 2, Seed: seed, Blocks: 1 << 40, Deterministic: true,
		BlockIntervalMs: 1000, CrashableFS: true, sent: signed.sent, walCompactEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	restarts, walSigned := 0, 0
	d.restarted = func(i int, n *Node) {
		restarts++
		walSigned += signed.fromWAL(t, i, n)
		if n.Ledger().Height() < d.crashedAt {
			t.Fatalf("validator %d restarted at height %d, but had committed %d before the crash", i, n.Ledger().Height(), d.crashedAt)
		}
	}
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= 5 }) {
		t.Fatal("no progress")
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	inEvent := 0
	for round := 0; round < 10; round++ {
		i, pct := rng.IntN(4), rng.IntN(101)
		// Run for a random while (at most ~8 blocks) so that the crash
		// falls anywhere in a height: proposal, votes, the pause after a
		// block.
		d.runUntil(t, rng.Int64N(8_000), func() bool { return false })
		if rng.IntN(2) == 0 {
			if err := d.CrashValidator(i, pct); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		} else {
			before := restarts
			d.armCrash(i, 1+rng.IntN(6), pct)
			if !d.runUntil(t, 600_000, func() bool { return restarts > before }) {
				t.Fatalf("round %d: validator %d never crashed", round, i)
			}
			inEvent++
		}
		if restarts != round+1 {
			t.Fatalf("round %d: %d restarts", round, restarts)
		}
		from := d.height(i)
		top := max(d.height(0), d.height(1), d.height(2), d.height(3))
		if !d.runUntil(t, 600_000, func() bool {
			return min(d.height(0), d.height(1), d.height(2), d.height(3)) >= top+4
		}) {
			t.Fatalf("round %d (validator %d, %d%% unsynced kept): heights %d %d %d %d, wanted %d", round, i, pct,
				d.height(0), d.height(1), d.height(2), d.height(3), top+4)
		}
		if len(signed.conflicts) > 0 {
			t.Fatalf("round %d: %q", round, signed.conflicts)
		}
		// It votes again: it sent a precommit for a block above the
		// height it restarted at.
		again := signed.precommitted[d.conKeys[i].Address()] > from
		if !again {
			t.Fatalf("round %d: validator %d caught up but never signed again", round, i)
		}
	}
	if inEvent == 0 || inEvent == 10 {
		t.Fatalf("%d of 10 crashes inside an event: the seed should give both kinds", inEvent)
	}
	// All four at one height: during the pause after a block.
	if !d.runUntil(t, 600_000, func() bool {
		h := d.height(0)
		return h > 0 && d.height(1) == h && d.height(2) == h && d.height(3) == h
	}) {
		t.Fatalf("heights never equal: %d %d %d %d", d.height(0), d.height(1), d.height(2), d.height(3))
	}
	root := d.nodes[0].Ledger().StateRoot()
	for i := 1; i < 4; i++ {
		if r := d.nodes[i].Ledger().StateRoot(); r != root {
			t.Fatalf("validator %d: state root %x, validator 0 %x", i, r[:8], root[:8])
		}
	}
	noEvidence(t, d.nodes[0], d.height(0))
	for _, n := range d.nodes {
		if n.Pool.Len() > 0 {
			for _, raw := range n.Pool.Reap(1 << 20) {
				if tx, err := ledger.DecodeTx(raw); err == nil && tx.Payload.Type() == ledger.TxEvidence {
					t.Fatalf("%s holds evidence of double-signing in its mempool", n.Name())
				}
			}
		}
	}
	if signed.seen == 0 || walSigned == 0 {
		t.Fatalf("checked %d signed messages sent, %d signed WAL records: the check saw nothing", signed.seen, walSigned)
	}
	t.Logf("%d crashes (%d inside an event), height %d, %d signed messages and %d signed WAL records checked",
		restarts, inEvent, d.height(0), signed.seen, walSigned)
}

// TestWALCompacted: with a pause between blocks (every real
// configuration), the WAL still drops the records of committed heights
// every WALCompactEvery heights, so it stays small and a restart replays
// at most that many heights.
func TestWALCompacted(t *testing.T) {
	const every = 8
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 0, Seed: 3, Blocks: 1 << 40, Deterministic: true,
		BlockIntervalMs: 1000, CrashableFS: true, walCompactEvery: every})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= 30 }) {
		t.Fatal("no progress")
	}
	for _, n := range d.nodes {
		entries, err := consensus.ReadWAL(n.wal)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Height()+every < n.Ledger().Height() {
				t.Fatalf("%s at height %d keeps a WAL record of height %d (%d records)", n.Name(), n.Ledger().Height(), e.Height(), len(entries))
			}
		}
	}
}
