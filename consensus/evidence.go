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
var ErrBadEvidence = errors.New("consensus: invalid duplicate-vote evidence")

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
	for _, v := range []*Vote{&ev.VoteA, &ev.VoteB} {
		if err := v.Verify(chainID, val, WalletVerifier{}); err != nil {
			return wallet.Address{}, 0, fmt.Errorf("%w: %w", ErrBadEvidence, err)
		}
	}
	return ev.Offender(), ev.Height(), nil
}
