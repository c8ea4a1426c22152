package consensus

import (
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

// SignedStep returns the height, round and step of a body this package
// signs (a vote's or a proposal's SignBytes under its tag), for a signer
// that must know what it is asked to sign: the double-sign guard
// (consensus/privval) orders signatures by (height, round, step), with a
// proposal at StepPropose, a prevote at StepPrevote and a precommit at
// StepPrecommit, as CometBFT's priv_validator_state does.
func SignedStep(tag wallet.Tag, body []byte) (uint64, int32, Step, error) {
	switch tag {
	case TagVote:
		v, err := VoteFromSignBytes(body, wallet.Signature{})
		if err != nil {
			return 0, 0, 0, err
		}
		if v.Type == Prevote {
			return v.Height, v.Round, StepPrevote, nil
		}
		return v.Height, v.Round, StepPrecommit, nil
	case TagProposal:
		d := codec.NewDecoder(body)
		d.Version(proposalVersion)
		p := Proposal{Height: d.Uint64(), Round: int32(d.Uint32()), ValidRound: int32(d.Uint32())}
		var h Hash
		d.Fixed(h[:])
		d.Fixed(p.Proposer[:])
		if err := d.Finish(); err != nil {
			return 0, 0, 0, fmt.Errorf("consensus: proposal sign bytes: %w", err)
		}
		if err := p.check(); err != nil {
			return 0, 0, 0, err
		}
		return p.Height, p.Round, StepPropose, nil
	}
	return 0, 0, 0, fmt.Errorf("consensus: %q is not a tag this package signs", tag)
}

// VoteFromSignBytes rebuilds a vote from its signed body and signature
// (a vote's body holds every field but the signature), for a signer that
// kept what it signed.
func VoteFromSignBytes(body []byte, sig wallet.Signature) (*Vote, error) {
	v := &Vote{Signature: sig}
	d := codec.NewDecoder(body)
	d.Version(voteVersion)
	v.Type = VoteType(d.Uint8())
	v.Height = d.Uint64()
	v.Round = int32(d.Uint32())
	d.Fixed(v.BlockHash[:])
	v.TimestampMs = d.Int64()
	d.Fixed(v.Validator[:])
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("consensus: vote sign bytes: %w", err)
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	return v, nil
}
