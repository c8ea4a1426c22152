package consensus

import (
	"errors"
	"fmt"
)

// CheckSignature verifies the signature a vote or a proposal carries
// against set, the validator set of the message's height, through ver,
// with no engine state: it is what a gossip validator or a network worker
// runs on all cores before the engine sees the message, so that with a
// caching verifier (CachingVerifier, the one the engine verifies through)
// the engine's own check is a cache hit. It checks the message's form and
// that its signer is in set; whether the proposer is the round's is the
// engine's rule. A decided value is not checked here: its certificate is
// checked against the receiver's own chain (VerifyCommit). The caller
// must pass the set of m.Height(). Pure and safe for concurrent use
// (given a Verifier that is).
func CheckSignature(chainID string, set *ValidatorSet, ver Verifier, m *Message) error {
	switch m.Kind {
	case MsgVote:
		v := m.Vote
		if v == nil {
			return errors.New("consensus: vote message without a vote")
		}
		i := set.Index(v.Validator)
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrUnknownValidator, v.Validator.Hex())
		}
		return v.Verify(chainID, &set.Validators[i], ver)
	case MsgProposal:
		p := m.Proposal
		if p == nil {
			return errors.New("consensus: proposal message without a proposal")
		}
		i := set.Index(p.Proposer)
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrUnknownValidator, p.Proposer.Hex())
		}
		return p.Verify(chainID, &set.Validators[i], ver)
	}
	return nil
}
