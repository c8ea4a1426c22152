package consensus

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gridmint/gridmint/codec"
)

// TestEquivocatingProposerEvidence: a second, different signed proposal
// from a round's proposer is refused (the first one stays) and reported,
// once per round, as DuplicateProposalEvidence that the ledger's check
// accepts against the proposer's key; the first proposal re-sent is
// neither.
func TestEquivocatingProposerEvidence(t *testing.T) {
	h := newHarness(t)
	h.step(h.proposal(0, -1, "A"))
	h.run(`sent prevote 0 A`)
	if err := h.eng.Step(h.proposal(0, -1, "A")); err != nil {
		t.Fatalf("the same proposal again: %v", err)
	}
	h.drain()
	if len(h.evid) != 0 {
		t.Fatalf("evidence for a re-sent proposal: %d", len(h.evid))
	}
	if err := h.eng.Step(h.proposal(0, -1, "B")); !errors.Is(err, ErrEquivocatingProposer) {
		t.Fatalf("second proposal: %v", err)
	}
	h.drain()
	if len(h.evid) != 1 {
		t.Fatalf("%d evidence reports, want 1", len(h.evid))
	}
	ev, ok := h.evid[0].(*DuplicateProposalEvidence)
	if !ok {
		t.Fatalf("evidence of type %T", h.evid[0])
	}
	proposer := h.keys[h.set.ProposerIndex(1, 0)]
	if ev.Offender() != proposer.Address() || ev.Height() != 1 || ev.ProposalA.Round != 0 {
		t.Fatalf("evidence against %s at height %d round %d", ev.Offender().Hex(), ev.Height(), ev.ProposalA.Round)
	}
	hashes := map[Hash]bool{ev.ProposalA.ValueHash: true, ev.ProposalB.ValueHash: true}
	if !hashes[hashOf("A")] || !hashes[hashOf("B")] {
		t.Fatal("evidence does not hold both values' hashes")
	}
	off, height, err := VerifyEvidence(testChain, codec.Encode(ev), proposer.Public())
	if err != nil || off != proposer.Address() || height != 1 {
		t.Fatalf("VerifyEvidence: %s %d %v", off.Hex(), height, err)
	}
	// A third value in the same round: refused, no second report.
	if err := h.eng.Step(h.proposal(0, -1, "C")); !errors.Is(err, ErrEquivocatingProposer) {
		t.Fatalf("third proposal: %v", err)
	}
	h.drain()
	if len(h.evid) != 1 {
		t.Fatalf("%d evidence reports after a third proposal, want 1", len(h.evid))
	}
	h.run(`
		sent -
		state step=prevote`)
}

// TestVerifyDuplicateProposalEvidence: what VerifyEvidence and the decoder
// refuse.
func TestVerifyDuplicateProposalEvidence(t *testing.T) {
	keys := testKeys(t, 2)
	a := signedProposal(t, keys[0], 9, 2, -1, "A")
	b := signedProposal(t, keys[0], 9, 2, -1, "B")
	ev := NewDuplicateProposalEvidence(b, a)
	if bytes.Compare(ev.ProposalA.SignBytes(), ev.ProposalB.SignBytes()) >= 0 {
		t.Fatal("not in canonical order")
	}
	enc := codec.Encode(ev)
	if enc[0] != EvidenceDuplicateProposal {
		t.Fatalf("kind byte %d", enc[0])
	}
	if off, h, err := VerifyEvidence(testChain, enc, keys[0].Public()); err != nil || off != keys[0].Address() || h != 9 {
		t.Fatalf("good evidence: %v %v %v", off, h, err)
	}
	// Another valid round is another signed body: also evidence.
	vr := signedProposal(t, keys[0], 9, 2, 1, "A")
	if _, _, err := VerifyEvidence(testChain, codec.Encode(NewDuplicateProposalEvidence(a, vr)), keys[0].Public()); err != nil {
		t.Fatalf("different valid round: %v", err)
	}
	// Duplicate-vote evidence still decodes and verifies through the
	// generic functions, and the vote-only function refuses proposals.
	va, vb := signedVote(t, keys[0], Prevote, 9, 2, "A", 1), signedVote(t, keys[0], Prevote, 9, 2, "B", 1)
	venc := codec.Encode(NewDuplicateVoteEvidence(va, vb))
	if _, _, err := VerifyEvidence(testChain, venc, keys[0].Public()); err != nil {
		t.Fatalf("vote evidence through VerifyEvidence: %v", err)
	}
	if _, _, err := VerifyDuplicateVoteEvidence(testChain, enc, keys[0].Public()); !errors.Is(err, ErrBadEvidence) {
		t.Fatalf("proposal evidence through VerifyDuplicateVoteEvidence: %v", err)
	}

	tampered := bytes.Clone(enc)
	tampered[len(tampered)-10] ^= 1
	other := signedProposal(t, keys[1], 9, 2, -1, "B")
	otherRound := signedProposal(t, keys[0], 9, 3, -1, "B")
	encode := func(x, y *Proposal) []byte {
		return codec.Encode(&DuplicateProposalEvidence{ProposalA: x.SignedPart(), ProposalB: y.SignedPart()})
	}
	for name, c := range map[string]struct {
		enc   []byte
		chain string
	}{
		"tampered":      {tampered, testChain},
		"other chain":   {enc, "other"},
		"same proposal": {encode(a, a), testChain},
		"out of order":  {encode(ev.proposalB(), ev.proposalA()), testChain},
		"two proposers": {codec.Encode(NewDuplicateProposalEvidence(a, other)), testChain},
		"two rounds":    {codec.Encode(NewDuplicateProposalEvidence(a, otherRound)), testChain},
		"trailing byte": {append(bytes.Clone(enc), 0), testChain},
		"unknown kind":  {append([]byte{3}, enc[1:]...), testChain},
		"empty":         {nil, testChain},
		"truncated":     {enc[:len(enc)-1], testChain},
	} {
		if _, _, err := VerifyEvidence(c.chain, c.enc, keys[0].Public()); !errors.Is(err, ErrBadEvidence) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := VerifyEvidence(testChain, enc, keys[1].Public()); !errors.Is(err, ErrBadEvidence) {
		t.Errorf("other key: %v", err)
	}
	if _, _, err := VerifyEvidence(testChain, enc, nil); !errors.Is(err, ErrBadEvidence) {
		t.Errorf("no key: %v", err)
	}
}

func (ev *DuplicateProposalEvidence) proposalA() *Proposal { return ev.ProposalA.asProposal() }
func (ev *DuplicateProposalEvidence) proposalB() *Proposal { return ev.ProposalB.asProposal() }

// asProposal is a Proposal whose SignedPart is s (its value is not known:
// the hash is set directly).
func (s *SignedProposal) asProposal() *Proposal {
	return &Proposal{Height: s.Height, Round: s.Round, ValidRound: s.ValidRound, Proposer: s.Proposer,
		Signature: s.Signature, hash: s.ValueHash, hashSet: true}
}

func FuzzProposalEvidence(f *testing.F) { fuzzCanonical[DuplicateProposalEvidence](f) }

// FuzzDecodeEvidence: DecodeEvidence of any kind never panics, and what it
// accepts encodes back to the same bytes.
func FuzzDecodeEvidence(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvidence(b)
		if err != nil {
			return
		}
		if again := codec.Encode(ev); !bytes.Equal(again, b) {
			t.Fatalf("non-canonical input accepted:\n in %x\nout %x", b, again)
		}
	})
}
