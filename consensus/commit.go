package consensus

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

const commitVersion = 1

// Errors about commit certificates.
var (
	ErrNoQuorum        = errors.New("consensus: commit signatures hold no more than 2/3 of voting power")
	ErrCommitNotSorted = errors.New("consensus: commit signatures not sorted by validator address")
	ErrCommitMismatch  = errors.New("consensus: commit does not match")
)

// CommitSig is one validator's precommit inside a commit certificate. The
// precommit's type, height, round and block hash are the commit's, so only
// what differs per validator is kept.
type CommitSig struct {
	Validator   wallet.Address
	TimestampMs int64
	Signature   wallet.Signature
}

const commitSigLen = wallet.AddressLen + 8 + wallet.SignatureLen

// Commit is the certificate that a block was decided at a height: the
// precommits for its hash in one round, from validators holding more than
// two thirds of the voting power. Anyone holding the height's validator set
// checks it with VerifyCommit; it is what block sync hands to a node that
// is behind.
//
// Canonical encoding (version 1):
//
//	u8 version | u64 height | u32 round | [32] block hash |
//	varint count | count x ([20] validator | i64 timestamp ms | [65] signature)
//
// with signatures in strictly increasing validator address order.
type Commit struct {
	Height    uint64
	Round     int32
	BlockHash Hash
	Sigs      []CommitSig
}

// EncodeTo writes the canonical encoding.
func (c *Commit) EncodeTo(e *codec.Encoder) {
	e.Uint8(commitVersion)
	e.Uint64(c.Height)
	e.Uint32(uint32(c.Round))
	e.Fixed(c.BlockHash[:])
	e.Uvarint(uint64(len(c.Sigs)))
	for i := range c.Sigs {
		s := &c.Sigs[i]
		e.Fixed(s.Validator[:])
		e.Int64(s.TimestampMs)
		e.Fixed(s.Signature[:])
	}
}

// DecodeFrom reads the canonical encoding.
func (c *Commit) DecodeFrom(d *codec.Decoder) {
	d.Version(commitVersion)
	c.Height = d.Uint64()
	c.Round = int32(d.Uint32())
	d.Fixed(c.BlockHash[:])
	n := d.Count(MaxValidators, commitSigLen)
	c.Sigs = nil
	if n > 0 {
		c.Sigs = make([]CommitSig, n)
	}
	for i := 0; i < n && d.Err() == nil; i++ {
		s := &c.Sigs[i]
		d.Fixed(s.Validator[:])
		s.TimestampMs = d.Int64()
		d.Fixed(s.Signature[:])
	}
	if d.Err() != nil {
		return
	}
	if err := c.check(); err != nil {
		d.Fail(err)
	}
}

func (c *Commit) check() error {
	switch {
	case c.Height == 0:
		return ErrBadHeight
	case c.Round < 0 || c.Round > MaxRound:
		return fmt.Errorf("%w: %d", ErrBadRound, c.Round)
	case c.BlockHash.IsNil():
		return ErrNilBlockHash
	case len(c.Sigs) == 0 || len(c.Sigs) > MaxValidators:
		return fmt.Errorf("%w: %d signatures", ErrNoQuorum, len(c.Sigs))
	}
	for i := 1; i < len(c.Sigs); i++ {
		if bytes.Compare(c.Sigs[i-1].Validator[:], c.Sigs[i].Validator[:]) >= 0 {
			return ErrCommitNotSorted
		}
	}
	return nil
}

// vote rebuilds the precommit that sig i stands for.
func (c *Commit) vote(i int) Vote {
	s := &c.Sigs[i]
	return Vote{Type: Precommit, Height: c.Height, Round: c.Round, BlockHash: c.BlockHash,
		TimestampMs: s.TimestampMs, Validator: s.Validator, Signature: s.Signature}
}

// VerifyCommit checks that c certifies blockHash at height under set: every
// signature is a valid precommit by a member of set, and together they hold
// more than two thirds of its voting power. It is a pure function of its
// arguments, so any node (and the ledger, for evidence of a past height)
// can run it.
func VerifyCommit(chainID string, set *ValidatorSet, ver Verifier, height uint64, blockHash Hash, c *Commit) error {
	if err := c.check(); err != nil {
		return err
	}
	if c.Height != height || c.BlockHash != blockHash {
		return fmt.Errorf("%w: commit for h=%d %s, want h=%d %s", ErrCommitMismatch, c.Height, c.BlockHash, height, blockHash)
	}
	var power uint64
	for i := range c.Sigs {
		idx := set.Index(c.Sigs[i].Validator)
		if idx < 0 {
			return fmt.Errorf("%w: %s", ErrUnknownValidator, c.Sigs[i].Validator.Hex())
		}
		v := c.vote(i)
		if err := v.Verify(chainID, &set.Validators[idx], ver); err != nil {
			return err
		}
		power += set.Validators[idx].Power
	}
	if !set.HasQuorum(power) {
		return fmt.Errorf("%w: %d of %d", ErrNoQuorum, power, set.TotalPower())
	}
	return nil
}

// TimeMs returns the block time the commit certifies: the voting-power
// weighted median of its precommit timestamps (Unix ms). With less than a
// third of the power Byzantine, it lies between two honest timestamps, so
// no single clock, faulty or not, can move it outside the honest range.
// Members missing from set are ignored (VerifyCommit rejects them anyway).
func (c *Commit) TimeMs(set *ValidatorSet) int64 {
	type tw struct {
		ts    int64
		power uint64
	}
	ws := make([]tw, 0, len(c.Sigs))
	var total uint64
	for i := range c.Sigs {
		idx := set.Index(c.Sigs[i].Validator)
		if idx < 0 {
			continue
		}
		p := set.Validators[idx].Power
		ws = append(ws, tw{c.Sigs[i].TimestampMs, p})
		total += p
	}
	if len(ws) == 0 {
		return 0
	}
	slices.SortStableFunc(ws, func(a, b tw) int {
		switch {
		case a.ts < b.ts:
			return -1
		case a.ts > b.ts:
			return 1
		}
		return 0
	})
	// The lower weighted median: the first timestamp at which the
	// cumulative power reaches half the total.
	var acc uint64
	for _, w := range ws {
		acc += w.power
		if 2*acc >= total {
			return w.ts
		}
	}
	return ws[len(ws)-1].ts
}
