package consensus

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

const evidenceVersion = 1

// ErrBadEvidence is returned for evidence that does not prove double signing.
var ErrBadEvidence = errors.New("consensus: invalid evidence")

// DuplicateVoteEvidence proves that one validator signed two different votes
// of the same type at the same height and round: the equivocation that
// Tendermint's safety argument assumes only Byzantine validators commit, and
// that the ledger slashes.
//
// Two votes that differ only in their timestamp are not evidence: an honest
// validator restarting from its WAL re-sends its old vote, never a new one,
// but the rule stays on block hashes, as in CometBFT.
//
// Canonical encoding (version 1): u8 version | vote A | vote B, with
// A.BlockHash < B.BlockHash (byte order), so each pair has one encoding.
type DuplicateVoteEvidence struct {
	VoteA, VoteB Vote
}

// NewDuplicateVoteEvidence orders a and b canonically.
func NewDuplicateVoteEvidence(a, b *Vote) *DuplicateVoteEvidence {
	if bytes.Compare(a.BlockHash[:], b.BlockHash[:]) > 0 {
		a, b = b, a
	}
	return &DuplicateVoteEvidence{VoteA: *a, VoteB: *b}
}

// EncodeTo writes the canonical encoding.
func (ev *DuplicateVoteEvidence) EncodeTo(e *codec.Encoder) {
	e.Uint8(evidenceVersion)
	ev.VoteA.EncodeTo(e)
	ev.VoteB.EncodeTo(e)
}

// DecodeFrom reads the canonical encoding and checks that the two votes
// conflict.
func (ev *DuplicateVoteEvidence) DecodeFrom(d *codec.Decoder) {
	d.Version(evidenceVersion)
	ev.VoteA.DecodeFrom(d)
	ev.VoteB.DecodeFrom(d)
	if d.Err() != nil {
		return
	}
	if err := ev.check(); err != nil {
		d.Fail(err)
	}
}

func (ev *DuplicateVoteEvidence) check() error {
	a, b := &ev.VoteA, &ev.VoteB
	switch {
	case a.Validator != b.Validator:
		return fmt.Errorf("%w: votes by different validators", ErrBadEvidence)
	case a.Type != b.Type || a.Height != b.Height || a.Round != b.Round:
		return fmt.Errorf("%w: votes for different steps", ErrBadEvidence)
	case bytes.Compare(a.BlockHash[:], b.BlockHash[:]) >= 0:
		return fmt.Errorf("%w: block hashes equal or not in order", ErrBadEvidence)
	}
	return nil
}

// Height is the height of the double-signed votes.
func (ev *DuplicateVoteEvidence) Height() uint64 { return ev.VoteA.Height }

// Offender is the validator that double-signed.
func (ev *DuplicateVoteEvidence) Offender() wallet.Address { return ev.VoteA.Validator }

// VerifyDuplicateVoteEvidence is the pure check the node hands the ledger:
// given the chain id, the canonical encoding of a DuplicateVoteEvidence and
// the public key the ledger holds for the accused validator (the consensus
// key of the validator set at that height), it returns the offender and the
// height, or an error. It holds no engine state and needs no validator set,
// so the ledger can call it without importing the engine's types beyond
// this function.
func VerifyDuplicateVoteEvidence(chainID string, encoded []byte, pub *wallet.PublicKey) (offender wallet.Address, height uint64, err error) {
	var ev DuplicateVoteEvidence
	if err := codec.Decode(encoded, &ev); err != nil {
		return wallet.Address{}, 0, fmt.Errorf("%w: %w", ErrBadEvidence, err)
	}
	if pub == nil {
		return wallet.Address{}, 0, fmt.Errorf("%w: no public key", ErrBadEvidence)
	}
	val := &Validator{Address: pub.Address(), PubKey: pub, Power: 1}
	if ev.Offender() != val.Address {
		return wallet.Address{}, 0, fmt.Errorf("%w: key is not the offender's", ErrBadEvidence)
	}
	if err := ev.verifySignatures(chainID, val); err != nil {
		return wallet.Address{}, 0, fmt.Errorf("%w: %w", ErrBadEvidence, err)
	}
	return ev.Offender(), ev.Height(), nil
}

// Evidence is proof that a validator signed two conflicting messages: a
// *DuplicateVoteEvidence or a *DuplicateProposalEvidence. The first byte of
// every evidence encoding names its kind (EvidenceDuplicateVote,
// EvidenceDuplicateProposal), so DecodeEvidence reads any of them and no
// encoding of one kind is an encoding of the other.
type Evidence interface {
	codec.Encodable
	// Height is the height of the offence.
	Height() uint64
	// Offender is the validator that signed both messages.
	Offender() wallet.Address
	verifySignatures(chainID string, val *Validator) error
}

// Evidence kinds: the first byte of the encoding. A duplicate vote's kind
// byte is also the version byte its encoding has always had.
const (
	EvidenceDuplicateVote     uint8 = evidenceVersion
	EvidenceDuplicateProposal uint8 = 2
)

// DecodeEvidence reads the canonical encoding of any kind of evidence.
func DecodeEvidence(b []byte) (Evidence, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadEvidence)
	}
	var ev interface {
		Evidence
		codec.Decodable
	}
	switch b[0] {
	case EvidenceDuplicateVote:
		ev = &DuplicateVoteEvidence{}
	case EvidenceDuplicateProposal:
		ev = &DuplicateProposalEvidence{}
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrBadEvidence, b[0])
	}
	if err := codec.Decode(b, ev); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEvidence, err)
	}
	return ev, nil
}

// VerifyEvidence is VerifyDuplicateVoteEvidence for any kind of evidence:
// the pure check the node hands the ledger. The ledger punishes one offence
// per (validator, height), whatever its kind, once.
func VerifyEvidence(chainID string, encoded []byte, pub *wallet.PublicKey) (offender wallet.Address, height uint64, err error) {
	ev, err := DecodeEvidence(encoded)
	if err != nil {
		return wallet.Address{}, 0, err
	}
	if pub == nil {
		return wallet.Address{}, 0, fmt.Errorf("%w: no public key", ErrBadEvidence)
	}
	val := &Validator{Address: pub.Address(), PubKey: pub, Power: 1}
	if ev.Offender() != val.Address {
		return wallet.Address{}, 0, fmt.Errorf("%w: key is not the offender's", ErrBadEvidence)
	}
	if err := ev.verifySignatures(chainID, val); err != nil {
		return wallet.Address{}, 0, fmt.Errorf("%w: %w", ErrBadEvidence, err)
	}
	return ev.Offender(), ev.Height(), nil
}

func (ev *DuplicateVoteEvidence) verifySignatures(chainID string, val *Validator) error {
	for _, v := range []*Vote{&ev.VoteA, &ev.VoteB} {
		if err := v.Verify(chainID, val, WalletVerifier{}); err != nil {
			return err
		}
	}
	return nil
}

// SignedProposal is the part of a proposal that its signature covers (the
// value's hash, not the value) with the signature: enough to prove what
// the proposer signed, at a fixed size.
//
// Canonical encoding: u64 height | u32 round | u32 validRound (two's
// complement, -1 allowed) | [32] value hash | [20] proposer | [65] signature.
type SignedProposal struct {
	Height     uint64
	Round      int32
	ValidRound int32
	ValueHash  Hash
	Proposer   wallet.Address
	Signature  wallet.Signature
}

// SignedPart returns p's signed part.
func (p *Proposal) SignedPart() SignedProposal {
	return SignedProposal{Height: p.Height, Round: p.Round, ValidRound: p.ValidRound, ValueHash: p.ValueHash(),
		Proposer: p.Proposer, Signature: p.Signature}
}

// SignBytes is the body the signature covers, the same as the full
// proposal's.
func (s *SignedProposal) SignBytes() []byte {
	return proposalSignBytes(s.Height, s.Round, s.ValidRound, s.ValueHash, s.Proposer)
}

// EncodeTo writes the canonical encoding.
func (s *SignedProposal) EncodeTo(e *codec.Encoder) {
	e.Uint64(s.Height)
	e.Uint32(uint32(s.Round))
	e.Uint32(uint32(s.ValidRound))
	e.Fixed(s.ValueHash[:])
	e.Fixed(s.Proposer[:])
	e.Fixed(s.Signature[:])
}

// DecodeFrom reads the canonical encoding and rejects out-of-range fields.
func (s *SignedProposal) DecodeFrom(d *codec.Decoder) {
	s.Height = d.Uint64()
	s.Round = int32(d.Uint32())
	s.ValidRound = int32(d.Uint32())
	d.Fixed(s.ValueHash[:])
	d.Fixed(s.Proposer[:])
	d.Fixed(s.Signature[:])
	if d.Err() != nil {
		return
	}
	switch {
	case s.Height == 0:
		d.Fail(ErrBadHeight)
	case s.Round < 0 || s.Round > MaxRound:
		d.Fail(fmt.Errorf("%w: %d", ErrBadRound, s.Round))
	case s.ValidRound < -1 || s.ValidRound >= s.Round:
		d.Fail(fmt.Errorf("%w: valid round %d in round %d", ErrBadRound, s.ValidRound, s.Round))
	}
}

// DuplicateProposalEvidence proves that a round's proposer signed two
// different proposals (a different value or valid round) for one height
// and round: the proposer's equivocation, punished like a double vote.
// Two signatures of the same body are not evidence.
//
// Canonical encoding: u8 EvidenceDuplicateProposal | proposal A | proposal
// B (each a SignedProposal), with A's signed body below B's in byte order,
// so each pair has one encoding.
type DuplicateProposalEvidence struct {
	ProposalA, ProposalB SignedProposal
}

// NewDuplicateProposalEvidence orders the signed parts of a and b
// canonically.
func NewDuplicateProposalEvidence(a, b *Proposal) *DuplicateProposalEvidence {
	x, y := a.SignedPart(), b.SignedPart()
	if bytes.Compare(x.SignBytes(), y.SignBytes()) > 0 {
		x, y = y, x
	}
	return &DuplicateProposalEvidence{ProposalA: x, ProposalB: y}
}

// EncodeTo writes the canonical encoding.
func (ev *DuplicateProposalEvidence) EncodeTo(e *codec.Encoder) {
	e.Uint8(EvidenceDuplicateProposal)
	ev.ProposalA.EncodeTo(e)
	ev.ProposalB.EncodeTo(e)
}

// DecodeFrom reads the canonical encoding and checks that the two
// proposals conflict.
func (ev *DuplicateProposalEvidence) DecodeFrom(d *codec.Decoder) {
	d.Version(EvidenceDuplicateProposal)
	ev.ProposalA.DecodeFrom(d)
	ev.ProposalB.DecodeFrom(d)
	if d.Err() != nil {
		return
	}
	if err := ev.check(); err != nil {
		d.Fail(err)
	}
}

func (ev *DuplicateProposalEvidence) check() error {
	a, b := &ev.ProposalA, &ev.ProposalB
	switch {
	case a.Proposer != b.Proposer:
		return fmt.Errorf("%w: proposals by different validators", ErrBadEvidence)
	case a.Height != b.Height || a.Round != b.Round:
		return fmt.Errorf("%w: proposals for different rounds", ErrBadEvidence)
	case bytes.Compare(a.SignBytes(), b.SignBytes()) >= 0:
		return fmt.Errorf("%w: proposals equal or not in order", ErrBadEvidence)
	}
	return nil
}

// Height is the height of the two proposals.
func (ev *DuplicateProposalEvidence) Height() uint64 { return ev.ProposalA.Height }

// Offender is the proposer that signed both.
func (ev *DuplicateProposalEvidence) Offender() wallet.Address { return ev.ProposalA.Proposer }

func (ev *DuplicateProposalEvidence) verifySignatures(chainID string, val *Validator) error {
	for _, p := range []*SignedProposal{&ev.ProposalA, &ev.ProposalB} {
		if err := (WalletVerifier{}).VerifyTyped(val, TagProposal, chainID, p.SignBytes(), p.Signature); err != nil {
			return fmt.Errorf("%w: proposal h=%d r=%d: %v", ErrBadSignature, p.Height, p.Round, err)
		}
	}
	return nil
}
