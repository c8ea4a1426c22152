package consensus

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/gridmint/gridmint/wallet"
)

// MaxTotalVotingPower bounds the sum of voting powers in a set. It keeps
// 3*power and the proposer priorities (|priority| <= n * total) far from
// uint64/int64 overflow.
const MaxTotalVotingPower = 1 << 50

// Errors about validator sets.
var (
	ErrBadValidatorSet = errors.New("consensus: invalid validator set")
	ErrSetNotReady     = errors.New("consensus: validator set not yet known")
)

// Validator is one member of a validator set: its address, the public key
// its consensus messages are signed with, and its voting power (> 0).
type Validator struct {
	Address wallet.Address
	PubKey  *wallet.PublicKey
	Power   uint64
}

// ValidatorSet is the set of validators for a range of heights (an epoch),
// sorted by address, with the first height it applies to. The proposer
// schedule restarts at StartHeight, so a node can compute the proposer of
// any (height, round) in the epoch from the set alone.
//
// A ValidatorSet is immutable once built by NewValidatorSet.
type ValidatorSet struct {
	StartHeight uint64
	Validators  []Validator
	totalPower  uint64
}

// NewValidatorSet sorts vals by address and checks them: at least one
// validator, at most MaxValidators, distinct addresses, positive power,
// total power at most MaxTotalVotingPower, addresses that match their keys.
func NewValidatorSet(startHeight uint64, vals []Validator) (*ValidatorSet, error) {
	if startHeight == 0 {
		return nil, fmt.Errorf("%w: start height 0", ErrBadValidatorSet)
	}
	if len(vals) == 0 || len(vals) > MaxValidators {
		return nil, fmt.Errorf("%w: %d validators", ErrBadValidatorSet, len(vals))
	}
	s := &ValidatorSet{StartHeight: startHeight, Validators: slices.Clone(vals)}
	slices.SortFunc(s.Validators, func(a, b Validator) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	for i, v := range s.Validators {
		if i > 0 && v.Address == s.Validators[i-1].Address {
			return nil, fmt.Errorf("%w: duplicate %s", ErrBadValidatorSet, v.Address.Hex())
		}
		if v.Power == 0 {
			return nil, fmt.Errorf("%w: %s has zero power", ErrBadValidatorSet, v.Address.Hex())
		}
		if v.PubKey != nil && v.PubKey.Address() != v.Address {
			return nil, fmt.Errorf("%w: %s: key does not match address", ErrBadValidatorSet, v.Address.Hex())
		}
		s.totalPower += v.Power
		if s.totalPower > MaxTotalVotingPower {
			return nil, fmt.Errorf("%w: total power above %d", ErrBadValidatorSet, uint64(MaxTotalVotingPower))
		}
	}
	return s, nil
}

// Size is the number of validators.
func (s *ValidatorSet) Size() int { return len(s.Validators) }

// TotalPower is the sum of the validators' voting power.
func (s *ValidatorSet) TotalPower() uint64 { return s.totalPower }

// Index returns the position of addr in the set, or -1.
func (s *ValidatorSet) Index(addr wallet.Address) int {
	i, ok := slices.BinarySearchFunc(s.Validators, addr, func(v Validator, a wallet.Address) int {
		return bytes.Compare(v.Address[:], a[:])
	})
	if !ok {
		return -1
	}
	return i
}

// HasQuorum reports whether power is more than two thirds of the total: the
// paper's 2f+1.
func (s *ValidatorSet) HasQuorum(power uint64) bool { return 3*power > 2*s.totalPower }

// HasOneThird reports whether power is more than a third of the total: the
// paper's f+1, enough that at least one honest validator is among them.
func (s *ValidatorSet) HasOneThird(power uint64) bool { return 3*power > s.totalPower }

// ProposerIndex returns the index of the proposer of round round at height
// height, for a height in this set's epoch.
//
// The schedule is weighted round robin (Tendermint's proposer-priority
// algorithm without rescaling): every validator starts the epoch with
// priority 0; at each step every priority grows by the validator's power,
// the highest priority (lowest address on a tie) proposes and drops by the
// total power. Step k = (height - StartHeight) + round, so the next round
// of a height and the first round of the next height move to the same next
// proposer, and over any window of total-power steps each validator proposes
// exactly in proportion to its power. The cost is O(k * n); the engine keeps
// a cursor (proposerCursor) so it pays O(n) per height.
func (s *ValidatorSet) ProposerIndex(height uint64, round int32) int {
	var c proposerCursor
	c.reset(s)
	return c.at(s.step(height, round))
}

// Proposer returns the proposer of (height, round).
func (s *ValidatorSet) Proposer(height uint64, round int32) *Validator {
	return &s.Validators[s.ProposerIndex(height, round)]
}

func (s *ValidatorSet) step(height uint64, round int32) uint64 {
	if height < s.StartHeight {
		height = s.StartHeight
	}
	return height - s.StartHeight + uint64(round)
}

// proposerCursor holds the priorities before step `next` of a set's
// schedule, so that the proposer of step k >= next costs O((k-next+1) * n).
type proposerCursor struct {
	set        *ValidatorSet
	next       uint64
	priorities []int64
	scratch    []int64
}

func (c *proposerCursor) reset(s *ValidatorSet) {
	c.set = s
	c.next = 0
	c.priorities = make([]int64, s.Size())
	c.scratch = make([]int64, s.Size())
}

// stepOnce advances prio by one step and returns the index chosen.
func (c *proposerCursor) stepOnce(prio []int64) int {
	best := 0
	for i := range prio {
		prio[i] += int64(c.set.Validators[i].Power)
		if prio[i] > prio[best] {
			best = i
		}
	}
	prio[best] -= int64(c.set.totalPower)
	return best
}

// at returns the proposer at step k without moving the cursor.
func (c *proposerCursor) at(k uint64) int {
	if k < c.next {
		c.reset(c.set)
	}
	copy(c.scratch, c.priorities)
	var idx int
	for i := c.next; i <= k; i++ {
		idx = c.stepOnce(c.scratch)
	}
	return idx
}

// advanceTo moves the cursor so that next == k.
func (c *proposerCursor) advanceTo(k uint64) {
	if k < c.next {
		c.reset(c.set)
	}
	for c.next < k {
		c.stepOnce(c.priorities)
		c.next++
	}
}

// Stake is one account's bonded stake as the ledger reports it, with the
// consensus key it registered.
type Stake struct {
	Address wallet.Address
	PubKey  *wallet.PublicKey
	Amount  uint64 // base units
}

// TopN builds the validator set of the n largest stakers (ties broken by
// the lower address), with voting power equal to stake in base units.
// Accounts with zero stake are never validators.
func TopN(startHeight uint64, stakes []Stake, n int) (*ValidatorSet, error) {
	sorted := slices.Clone(stakes)
	slices.SortFunc(sorted, func(a, b Stake) int {
		if a.Amount != b.Amount {
			if a.Amount > b.Amount {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.Address[:], b.Address[:])
	})
	vals := make([]Validator, 0, n)
	for _, st := range sorted {
		if len(vals) == n || st.Amount == 0 {
			break
		}
		vals = append(vals, Validator{Address: st.Address, PubKey: st.PubKey, Power: st.Amount})
	}
	return NewValidatorSet(startHeight, vals)
}

// StakeSource is what EpochSets needs from the ledger: the stakes as of the
// state after a committed height (0 is genesis).
type StakeSource interface {
	StakesAfter(height uint64) ([]Stake, error)
}

// EpochSets is the ValidatorSets the node hands the engine: the genesis set
// for the first epoch, then, for the epoch that starts at height s, the top
// N stakers as of the state after height s-1, the last block of the
// previous epoch. The engine asks for a height's set only after the caller
// has applied the previous decision (Advance), so that state is committed.
type EpochSets struct {
	Genesis     *ValidatorSet // StartHeight must be 1
	EpochLength uint64        // heights per epoch, > 0
	N           int           // validators per set, from genesis
	Source      StakeSource

	cachedEpoch uint64
	cached      *ValidatorSet
}

// EpochStart returns the first height of the epoch that contains height.
func (p *EpochSets) EpochStart(height uint64) uint64 {
	return (height-1)/p.EpochLength*p.EpochLength + 1
}

// ValidatorSet returns the set for height.
func (p *EpochSets) ValidatorSet(height uint64) (*ValidatorSet, error) {
	if height == 0 {
		return nil, ErrBadHeight
	}
	epoch := (height - 1) / p.EpochLength
	if epoch == 0 {
		return p.Genesis, nil
	}
	if p.cached != nil && p.cachedEpoch == epoch {
		return p.cached, nil
	}
	start := epoch*p.EpochLength + 1
	stakes, err := p.Source.StakesAfter(start - 1)
	if err != nil {
		return nil, fmt.Errorf("stakes after height %d: %w", start-1, err)
	}
	s, err := TopN(start, stakes, p.N)
	if err != nil {
		return nil, fmt.Errorf("epoch %d: %w", epoch, err)
	}
	p.cached, p.cachedEpoch = s, epoch
	return s, nil
}
