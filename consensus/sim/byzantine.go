package sim

import (
	"math/rand/v2"
	"slices"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
)

// send hands one of n's outgoing messages to the network, as n's behaviour
// dictates. Byzantine nodes run the honest engine (so they know what an
// honest node would send) and lie at the edge.
func (s *Sim) send(n *node, m *consensus.Message) {
	switch n.behave {
	case Honest:
		enc := codec.Encode(m)
		s.checkSigned(n, m, enc)
		s.broadcast(n, enc, nil)
	case Silent:
	case Equivocator:
		if m.Kind == consensus.MsgProposal && m.Proposal.Proposer == n.addr {
			alt := s.altProposal(n, m.Proposal)
			s.split(n, codec.Encode(m), codec.Encode(alt))
			return
		}
		// It also backs each of its two values with its votes, one to
		// each half: the strongest attack a single proposer can make.
		if m.Kind == consensus.MsgVote && m.Vote.Validator == n.addr && !m.Vote.BlockHash.IsNil() {
			if _, ok := s.altHash[roundKey{m.Vote.Height, m.Vote.Round}]; ok {
				s.split(n, codec.Encode(m), codec.Encode(s.altVote(n, m.Vote)))
				return
			}
		}
		s.broadcast(n, codec.Encode(m), nil)
	case DoubleVoter:
		if m.Kind == consensus.MsgVote && m.Vote.Validator == n.addr {
			s.split(n, codec.Encode(m), codec.Encode(s.altVote(n, m.Vote)))
			return
		}
		s.broadcast(n, codec.Encode(m), nil)
	case Garbage:
		s.broadcast(n, s.garbage(n, m), nil)
	case Amnesiac:
		if m.Kind == consensus.MsgProposal && m.Proposal.Proposer == n.addr {
			s.broadcast(n, s.amnesiacProposal(n, m.Proposal), nil)
			return
		}
		if m.Kind == consensus.MsgVote && m.Vote.Validator == n.addr && m.Vote.Type == consensus.Prevote {
			s.broadcast(n, s.amnesiacPrevote(n, m.Vote), nil)
			return
		}
		s.broadcast(n, codec.Encode(m), nil)
	case InvalidProposer:
		if m.Kind == consensus.MsgProposal && m.Proposal.Proposer == n.addr {
			s.broadcast(n, codec.Encode(s.invalidProposal(n, m.Proposal)), nil)
			return
		}
		s.broadcast(n, codec.Encode(m), nil)
	}
}

// split sends a to even-indexed peers and b to odd-indexed ones.
func (s *Sim) split(n *node, a, b []byte) {
	s.broadcast(n, a, func(p int) bool { return p%2 == 0 })
	s.broadcast(n, b, func(p int) bool { return p%2 == 1 })
}

// altProposal is a second, valid, signed proposal for the same height and
// round with a different value.
func (s *Sim) altProposal(n *node, p *consensus.Proposal) *consensus.Message {
	value := p.Value
	var b block
	if codec.Decode(p.Value, &b) == nil {
		b.Nonce ^= 1 << 63
		value = codec.Encode(&b)
	} else {
		value = append(slices.Clone(value), 0)
	}
	alt := &consensus.Proposal{Height: p.Height, Round: p.Round, ValidRound: p.ValidRound, Value: value, Proposer: p.Proposer}
	sig, err := n.signer.SignTyped(consensus.TagProposal, s.sc.ChainID, alt.SignBytes())
	if err != nil {
		s.fail(err)
	}
	alt.Signature = sig
	s.altHash[roundKey{p.Height, p.Round}] = alt.ValueHash()
	return &consensus.Message{Kind: consensus.MsgProposal, Proposal: alt}
}

// roundKey names a round of a height.
type roundKey struct {
	height uint64
	round  int32
}

// invalidProposal re-signs p with a value that fails validation: its
// block time is not the one its parent commit fixes.
func (s *Sim) invalidProposal(n *node, p *consensus.Proposal) *consensus.Message {
	var b block
	if codec.Decode(p.Value, &b) == nil {
		b.TimeMs++
	}
	bad := &consensus.Proposal{Height: p.Height, Round: p.Round, ValidRound: -1, Value: codec.Encode(&b), Proposer: p.Proposer}
	sig, err := n.signer.SignTyped(consensus.TagProposal, s.sc.ChainID, bad.SignBytes())
	if err != nil {
		s.fail(err)
	}
	bad.Signature = sig
	return &consensus.Message{Kind: consensus.MsgProposal, Proposal: bad}
}

// altVote is a signed vote conflicting with v. The Byzantine validators
// collude: if an equivocating proposer sent a second value this round, the
// conflicting vote is for that value; otherwise it is nil for a block and a
// random block for nil.
func (s *Sim) altVote(n *node, v *consensus.Vote) *consensus.Message {
	alt := *v
	if h, ok := s.altHash[roundKey{v.Height, v.Round}]; ok && h != v.BlockHash {
		alt.BlockHash = h
	} else if v.BlockHash.IsNil() {
		for i := range alt.BlockHash {
			alt.BlockHash[i] = byte(s.rng.Uint32())
		}
	} else {
		alt.BlockHash = consensus.NilHash
	}
	sig, err := n.signer.SignTyped(consensus.TagVote, s.sc.ChainID, alt.SignBytes())
	if err != nil {
		s.fail(err)
	}
	alt.Signature = sig
	return &consensus.Message{Kind: consensus.MsgVote, Vote: &alt}
}

// garbage is what a garbage node sends instead of m: random bytes, m's
// encoding with bytes flipped, or a well-formed message with a bad
// signature, possibly claiming a huge round or another validator.
func (s *Sim) garbage(n *node, m *consensus.Message) []byte {
	r := s.rng
	switch r.IntN(5) {
	case 0:
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	case 1:
		b := codec.Encode(m)
		for k := 1 + r.IntN(4); k > 0; k-- {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		}
		return b
	case 2:
		if m.Kind == consensus.MsgVote {
			v := *m.Vote
			v.Round = int32(r.IntN(consensus.MaxRound))
			v.Signature[5] ^= 1
			return codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: &v})
		}
	case 3:
		if m.Kind == consensus.MsgVote {
			// A vote in another validator's name, with our own signature.
			v := *m.Vote
			v.Validator = s.nodes[r.IntN(len(s.nodes))].addr
			return codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: &v})
		}
	}
	b := codec.Encode(m)
	return b[:r.IntN(len(b))]
}

// memWAL is an in-memory WAL that can crash: records appended without a
// sync are lost, all or a random prefix of them, as with a real file whose
// tail was in the page cache.
type memWAL struct {
	durable, pending [][]byte
}

func (w *memWAL) Append(recs [][]byte, sync bool) error {
	for _, r := range recs {
		w.pending = append(w.pending, slices.Clone(r))
	}
	if sync {
		w.durable = append(w.durable, w.pending...)
		w.pending = nil
	}
	return nil
}

func (w *memWAL) ReadAll() ([][]byte, error) {
	return append(slices.Clone(w.durable), w.pending...), nil
}

func (w *memWAL) Replace(recs [][]byte) error {
	w.durable = nil
	for _, r := range recs {
		w.durable = append(w.durable, slices.Clone(r))
	}
	w.pending = nil
	return nil
}

func (w *memWAL) crash(r *rand.Rand) {
	k := r.IntN(len(w.pending) + 1)
	w.durable = append(w.durable, w.pending[:k]...)
	w.pending = nil
}

var _ consensus.WAL = (*memWAL)(nil)

// noteProposal records, for an amnesiac node, the first valid proposal it
// receives in each round.
func (s *Sim) noteProposal(n *node, m *consensus.Message) {
	if m.Kind != consensus.MsgProposal {
		return
	}
	p := m.Proposal
	k := roundKey{p.Height, p.Round}
	if _, ok := n.seenProposal[k]; ok || p.Height != uint64(len(n.app.chain))+1 {
		return
	}
	if n.app.ValidateValue(p.Height, p.Value) != nil {
		return
	}
	if n.seenProposal == nil {
		n.seenProposal = map[roundKey]consensus.Hash{}
	}
	n.seenProposal[k] = p.ValueHash()
}

// amnesiacPrevote is what an amnesiac sends for its engine's prevote v: a
// prevote for the round's proposal where the engine (bound by its lock)
// prevoted otherwise, signed once per round and re-sent as it was.
func (s *Sim) amnesiacPrevote(n *node, v *consensus.Vote) []byte {
	k := roundKey{v.Height, v.Round}
	if b, ok := n.amnesiaVote[k]; ok {
		return b
	}
	out := v
	if h, ok := n.seenProposal[k]; ok && v.BlockHash != h {
		alt := *v
		alt.BlockHash = h
		sig, err := n.signer.SignTyped(consensus.TagVote, s.sc.ChainID, alt.SignBytes())
		if err != nil {
			s.fail(err)
		}
		alt.Signature = sig
		out = &alt
		if st := n.eng.Status(); st.Height == v.Height && st.LockedRound >= 0 && st.LockedHash != h {
			s.res.LockIgnored++
		}
	}
	b := codec.Encode(&consensus.Message{Kind: consensus.MsgVote, Vote: out})
	if n.amnesiaVote == nil {
		n.amnesiaVote = map[roundKey][]byte{}
	}
	n.amnesiaVote[k] = b
	return b
}

// amnesiacProposal is what an amnesiac proposes for its engine's proposal
// p: having forgotten its valid value too, a fresh value with vr = -1
// where the engine re-proposes a valid value (signed once per round). It
// then prevotes for it, against its lock.
func (s *Sim) amnesiacProposal(n *node, p *consensus.Proposal) []byte {
	k := roundKey{p.Height, p.Round}
	if b, ok := n.amnesiaProposal[k]; ok {
		return b
	}
	out := p
	if p.ValidRound >= 0 {
		var b block
		value := append(slices.Clone(p.Value), 0)
		if codec.Decode(p.Value, &b) == nil {
			b.Nonce ^= 1 << 62
			value = codec.Encode(&b)
		}
		fresh := &consensus.Proposal{Height: p.Height, Round: p.Round, ValidRound: -1, Value: value, Proposer: p.Proposer}
		sig, err := n.signer.SignTyped(consensus.TagProposal, s.sc.ChainID, fresh.SignBytes())
		if err != nil {
			s.fail(err)
		}
		fresh.Signature = sig
		out = fresh
	}
	if n.seenProposal == nil {
		n.seenProposal = map[roundKey]consensus.Hash{}
	}
	n.seenProposal[k] = out.ValueHash()
	b := codec.Encode(&consensus.Message{Kind: consensus.MsgProposal, Proposal: out})
	if n.amnesiaProposal == nil {
		n.amnesiaProposal = map[roundKey][]byte{}
	}
	n.amnesiaProposal[k] = b
	return b
}
