package ledger

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/gridmint/gridmint/wallet"
)

// bond moves balance to bonded stake and registers the consensus key.
//
// Invariant: a consensus key maps to exactly one account (conskey/ index),
// and an account's key does not change while it has stake bonded or
// unbonding (evidence against the old key must still find the stake).
func (x *executor) bond(v *view, from wallet.Address, p *Bond) error {
	if p.Amount == 0 {
		return ErrZeroAmount
	}
	acc, err := x.account(v, from)
	if err != nil {
		return err
	}
	switch {
	case len(p.ConsKey) == 0 && len(acc.ConsKey) == 0:
		return ErrNoConsKey
	case len(p.ConsKey) != 0 && len(acc.ConsKey) != 0 && !bytes.Equal(p.ConsKey, acc.ConsKey):
		if acc.Bonded > 0 || len(acc.Unbonding) > 0 {
			return ErrConsKeyChange
		}
	}
	if len(p.ConsKey) != 0 && !bytes.Equal(p.ConsKey, acc.ConsKey) {
		ca, err := consAddress(p.ConsKey)
		if err != nil {
			return err
		}
		if owner, ok, err := v.get(consKeyKey(ca)); err != nil {
			return fmt.Errorf("%w: %v", errInternal, err)
		} else if ok && !bytes.Equal(owner, from[:]) {
			return ErrConsKeyTaken
		}
		if len(acc.ConsKey) != 0 {
			old, err := consAddress(acc.ConsKey)
			if err != nil {
				return fmt.Errorf("%w: stored consensus key: %v", errInternal, err)
			}
			v.del(consKeyKey(old))
		}
		v.set(consKeyKey(ca), from[:])
		acc.ConsKey = slices.Clone(p.ConsKey)
	}
	if acc.Balance < p.Amount {
		return fmt.Errorf("%w: bond %d, balance %d", ErrInsufficientFunds, p.Amount, acc.Balance)
	}
	bonded, ok := addU(acc.Bonded, p.Amount)
	if !ok {
		return fmt.Errorf("%w: bonded stake %d + %d", ErrOverflow, acc.Bonded, p.Amount)
	}
	acc.Balance -= p.Amount
	acc.Bonded = bonded
	x.putAccount(v, from, acc)
	return x.addCandidate(v, from)
}

// addCandidate keeps the sorted list of accounts that may be validators.
func (x *executor) addCandidate(v *view, a wallet.Address) error {
	var l addressList
	if _, err := v.load([]byte(pfxValCands), &l); err != nil {
		return err
	}
	if l.insert(a) {
		v.store([]byte(pfxValCands), &l)
	}
	return nil
}

// unbond starts returning stake; it matures after UnbondingBlocks.
func (x *executor) unbond(v *view, from wallet.Address, p *Unbond) error {
	if p.Amount == 0 {
		return ErrZeroAmount
	}
	acc, err := x.account(v, from)
	if err != nil {
		return err
	}
	if acc.Bonded < p.Amount {
		return fmt.Errorf("%w: unbond %d, bonded %d", ErrInsufficientStake, p.Amount, acc.Bonded)
	}
	if len(acc.Unbonding) >= maxUnbondings {
		return fmt.Errorf("%w: %d unbondings already under way", ErrInsufficientStake, len(acc.Unbonding))
	}
	h := x.header.Height
	mature := h + x.params.UnbondingBlocks
	acc.Bonded -= p.Amount
	acc.Unbonding = append(acc.Unbonding, Unbonding{Amount: p.Amount, StartHeight: h, MatureHeight: mature})
	x.putAccount(v, from, acc)
	// The queue at the maturity height names the account once.
	var q addressList
	if _, err := v.load(u64Key(pfxUnbondQ, mature), &q); err != nil {
		return err
	}
	if q.insert(from) {
		v.store(u64Key(pfxUnbondQ, mature), &q)
	}
	// Losing stake can change the top N at the next epoch; not before.
	return nil
}

// matureUnbondings returns every unbonding that matures at this height to
// its balance.
func (x *executor) matureUnbondings() error {
	key := u64Key(pfxUnbondQ, x.header.Height)
	var q addressList
	ok, err := x.v.load(key, &q)
	if err != nil || !ok {
		return err
	}
	for _, a := range q.Addrs {
		acc, err := x.account(x.v, a)
		if err != nil {
			return err
		}
		kept := acc.Unbonding[:0]
		for _, u := range acc.Unbonding {
			if u.MatureHeight <= x.header.Height {
				b, ok := addU(acc.Balance, u.Amount)
				if !ok { // every balance is part of the supply, which fits
					return fmt.Errorf("%w: balance of %s overflows", errInternal, a)
				}
				acc.Balance = b
				x.emit(Event{Kind: EventUnbonded, Account: a, Amount: u.Amount})
			} else {
				kept = append(kept, u)
			}
		}
		acc.Unbonding = kept
		if len(acc.Unbonding) == 0 {
			acc.Unbonding = nil
		}
		x.putAccount(x.v, a, acc)
	}
	x.v.del(key)
	return nil
}

// computeValidatorSet picks the top MaxValidators candidates by bonded
// stake (ties by address), leaving out those without a consensus key,
// below MinValidatorStake or jailed at height. If none qualifies, the set
// stays as it was: a chain with no validators could never make a block
// again.
func computeValidatorSet(v *view, p *Params, height, epoch uint64) (*ValidatorSet, error) {
	var cands addressList
	if _, err := v.load([]byte(pfxValCands), &cands); err != nil {
		return nil, err
	}
	var vals []Validator
	for _, a := range cands.Addrs {
		var acc Account
		if _, err := v.load(accountKey(a), &acc); err != nil {
			return nil, err
		}
		if len(acc.ConsKey) == 0 || acc.Bonded < p.MinValidatorStake || acc.JailedUntil > height {
			continue
		}
		vals = append(vals, Validator{Account: a, ConsKey: slices.Clone(acc.ConsKey), Power: acc.Bonded})
	}
	slices.SortFunc(vals, func(a, b Validator) int {
		if a.Power != b.Power {
			if a.Power > b.Power {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.Account[:], b.Account[:])
	})
	if len(vals) > int(p.MaxValidators) {
		vals = vals[:p.MaxValidators]
	}
	if len(vals) == 0 {
		var old ValidatorSet
		if _, err := v.load([]byte(pfxValSet), &old); err != nil {
			return nil, err
		}
		old.Epoch = epoch
		old.StartHeight = height
		return &old, nil
	}
	return &ValidatorSet{Epoch: epoch, StartHeight: height, Validators: vals}, nil
}

// evidence slashes and jails a validator that signed two conflicting votes.
//
// Invariant: one offence (consensus key, height) is punished once; the
// slashed amount moves to the community pool, so the supply is unchanged.
func (x *executor) evidence(v *view, p *Evidence) error {
	if x.l.opts.Evidence == nil {
		return ErrNoEvidenceVerify
	}
	keyOf := func(ca wallet.Address) (*wallet.PublicKey, bool) {
		owner, ok, err := v.get(consKeyKey(ca))
		if err != nil || !ok {
			return nil, false
		}
		var op wallet.Address
		copy(op[:], owner)
		acc, err := x.account(v, op)
		if err != nil || len(acc.ConsKey) == 0 {
			return nil, false
		}
		pub, err := wallet.ParsePublicKey(acc.ConsKey)
		return pub, err == nil
	}
	consAddr, height, err := x.l.opts.Evidence.VerifyEvidence(x.l.genesis.ChainID, p.Data, keyOf)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadEvidence, err)
	}
	if height > x.header.Height {
		return fmt.Errorf("%w: offence at height %d is in the future", ErrBadEvidence, height)
	}
	if x.header.Height-height > x.params.EvidenceMaxAgeBlocks {
		return fmt.Errorf("%w: offence at height %d", ErrEvidenceTooOld, height)
	}
	key := u64Key(pfxEvidence+string(consAddr[:]), height)
	if _, ok, err := v.get(key); err != nil {
		return fmt.Errorf("%w: %v", errInternal, err)
	} else if ok {
		return ErrDuplicateEvidence
	}
	owner, ok, err := v.get(consKeyKey(consAddr))
	if err != nil {
		return fmt.Errorf("%w: %v", errInternal, err)
	}
	if !ok {
		return fmt.Errorf("%w: consensus key %s", ErrNotValidator, consAddr)
	}
	var op wallet.Address
	copy(op[:], owner)
	acc, err := x.account(v, op)
	if err != nil {
		return err
	}
	// Slash bonded stake and the unbondings that began after the offence:
	// stake that left before it was not at risk when the offence happened.
	slash := mulDivFloor(acc.Bonded, uint64(x.params.DoubleSignSlashPpm), 1_000_000)
	acc.Bonded -= slash
	for i := range acc.Unbonding {
		u := &acc.Unbonding[i]
		if u.StartHeight > height {
			s := mulDivFloor(u.Amount, uint64(x.params.DoubleSignSlashPpm), 1_000_000)
			u.Amount -= s
			slash += s
		}
	}
	if slash == 0 && acc.Bonded == 0 && acc.UnbondingTotal() == 0 {
		return fmt.Errorf("%w: %s has no stake", ErrNotValidator, op)
	}
	acc.JailedUntil = max(acc.JailedUntil, x.header.Height+x.params.JailBlocks)
	x.putAccount(v, op, acc)
	if err := x.credit(v, CommunityPool, slash); err != nil {
		return err
	}
	v.set(key, []byte{1})
	x.emit(Event{Kind: EventSlashed, Account: op, Amount: slash})
	// A jailed validator leaves the set at once, not at the epoch's end.
	x.valDirty = true
	return nil
}

// epochRewards mints the epoch's emission and pays it: the validators'
// share by voting power, the flexibility share through payFlexibilityShare.
//
// Invariant: supply.Emitted grows by exactly the emission, and exactly the
// emission is credited (rounding remainders go to the community pool).
func (x *executor) epochRewards() error {
	var emission uint64
	if x.chain.LastEmission == 0 {
		emission = x.params.InitialEmission
	} else {
		emission = mulDivFloor(x.chain.LastEmission, uint64(1_000_000-x.params.EmissionDecayPpm), 1_000_000)
	}
	x.chain.LastEmission = emission
	if emission == 0 {
		return nil
	}
	if x.supply.Emitted+emission < x.supply.Emitted || x.supply.Total()+emission < x.supply.Total() {
		return fmt.Errorf("%w: supply overflows", errInternal)
	}
	x.supply.Emitted += emission
	x.emit(Event{Kind: EventEmission, Amount: emission})

	valShare := mulDivFloor(emission, uint64(x.params.ValidatorRewardPpm), 1_000_000)
	var set ValidatorSet
	if _, err := x.v.load([]byte(pfxValSet), &set); err != nil {
		return err
	}
	total := set.TotalPower()
	var paid uint64
	for _, val := range set.Validators {
		r := mulDivFloor(valShare, val.Power, total)
		if err := x.credit(x.v, val.Account, r); err != nil {
			return err
		}
		paid += r
		x.emit(Event{Kind: EventValidatorReward, Account: val.Account, Amount: r})
	}
	if err := x.credit(x.v, CommunityPool, valShare-paid); err != nil {
		return err
	}
	return x.payFlexibilityShare(emission - valShare)
}
