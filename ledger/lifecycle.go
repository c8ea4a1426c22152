package ledger

// beginBlock runs before a block's transactions: unbondings that mature at
// this height return to their balances.
func (x *executor) beginBlock() error {
	return x.matureUnbondings()
}

// endBlock runs after a block's transactions, in a fixed order:
//
//  1. certify the hours whose reading window closed (RECs);
//  2. settle the flexibility requests whose window and grace have passed;
//  3. at an epoch boundary (height % EpochBlocks == 0): mint and pay the
//     epoch's emission, then recompute the validator set (top N);
//  4. otherwise, if a validator was jailed in this block, recompute the set
//     at once;
//  5. save the chain counters and the supply.
func (x *executor) endBlock() error {
	if err := x.sweepRECs(); err != nil {
		return err
	}
	if err := x.settleDue(); err != nil {
		return err
	}
	h := x.header.Height
	epoch := h / x.params.EpochBlocks
	if h%x.params.EpochBlocks == 0 {
		if err := x.epochRewards(); err != nil {
			return err
		}
		x.valDirty = true
	}
	if x.valDirty {
		set, err := computeValidatorSet(x.v, &x.params, h+1, epoch)
		if err != nil {
			return err
		}
		x.v.store([]byte(pfxValSet), set)
		x.emit(Event{Kind: EventValidatorSet, Amount: set.TotalPower(), ID: uint64(len(set.Validators))})
	}
	x.saveGlobals()
	return nil
}
