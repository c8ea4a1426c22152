package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"runtime/debug"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

// Receipt is the outcome of one transaction in a block.
type Receipt struct {
	TxHash [32]byte
	Type   TxType
	From   wallet.Address
	Fee    uint64
	// Code is 0 for success, else the index of the error in TxErrors.
	Code uint16
	// Error is the full error text ("" on success).
	Error string
	// Readings has one entry per reading of a readings transaction.
	Readings []ReadingResult

	addresses []wallet.Address // for the address index; not encoded
	sites     []wallet.Address // for the site index; not encoded
}

// ReadingResult is the outcome of one reading.
type ReadingResult struct {
	Site     wallet.Address
	Interval uint64
	Reason   RejectReason // RejectNone when accepted
	// Chained: the reading advanced the site's hash chain (accepted, or
	// rejected for being stale or implausible after its chain checked out).
	Chained bool
}

// Event is something the ledger did on its own at the end of a block.
type Event struct {
	Kind    EventKind
	Account wallet.Address
	Site    wallet.Address
	ID      uint64 // certificate id
	Amount  uint64 // base units
	Wh      uint64
}

// EventKind names an Event.
type EventKind uint8

// Event kinds.
const (
	EventRECIssued EventKind = iota + 1
	EventValidatorReward
	EventFlexibilityShare
	EventEmission
	EventUnbonded
	EventSlashed
	EventValidatorSet
	EventFlexPosted    // ID: request, Account: utility, Amount: escrow
	EventFlexSettled   // ID: request, Amount: payouts, Wh: delivered
	EventFlexPayout    // ID: request, Account: owner, Site, Amount: payout, Wh: delivered
	EventFlexReward    // Account: owner, Site, Amount: flexibility share, Wh: delivered this epoch
	EventFlexCancelled // ID: request, Site (zero for the whole request)
	// EventFlexDispatched and EventFlexControl tell each committed site of a
	// control-group request, one block after its deadline, whether it is
	// dispatched or in the control group (not dispatched). ID: request,
	// Account: owner, Site.
	EventFlexDispatched
	EventFlexControl
)

// BlockResult is every receipt and event of a block.
type BlockResult struct {
	Receipts []Receipt
	Events   []Event
}

func (r *BlockResult) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uvarint(uint64(len(r.Receipts)))
	for i := range r.Receipts {
		x := &r.Receipts[i]
		e.Fixed(x.TxHash[:])
		e.Uint8(uint8(x.Type))
		e.Fixed(x.From[:])
		e.Uint64(x.Fee)
		e.Uint16(x.Code)
		e.String(x.Error)
		e.Uvarint(uint64(len(x.Readings)))
		for _, rr := range x.Readings {
			e.Fixed(rr.Site[:])
			e.Uint64(rr.Interval)
			e.Uint8(uint8(rr.Reason))
			e.Bool(rr.Chained)
		}
	}
	e.Uvarint(uint64(len(r.Events)))
	for _, ev := range r.Events {
		e.Uint8(uint8(ev.Kind))
		e.Fixed(ev.Account[:])
		e.Fixed(ev.Site[:])
		e.Uint64(ev.ID)
		e.Uint64(ev.Amount)
		e.Uint64(ev.Wh)
	}
}

func (r *BlockResult) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	n := d.Count(maxBlockTxs, 32)
	r.Receipts = make([]Receipt, n)
	for i := range r.Receipts {
		x := &r.Receipts[i]
		d.Fixed(x.TxHash[:])
		x.Type = TxType(d.Uint8())
		d.Fixed(x.From[:])
		x.Fee = d.Uint64()
		x.Code = d.Uint16()
		x.Error = d.String(4096)
		m := d.Count(65536, 30)
		if m > 0 {
			x.Readings = make([]ReadingResult, m)
		}
		for j := range x.Readings {
			d.Fixed(x.Readings[j].Site[:])
			x.Readings[j].Interval = d.Uint64()
			x.Readings[j].Reason = RejectReason(d.Uint8())
			x.Readings[j].Chained = d.Bool()
		}
	}
	n = d.Count(1<<24, 57)
	if n > 0 {
		r.Events = make([]Event, n)
	}
	for i := range r.Events {
		ev := &r.Events[i]
		ev.Kind = EventKind(d.Uint8())
		d.Fixed(ev.Account[:])
		d.Fixed(ev.Site[:])
		ev.ID = d.Uint64()
		ev.Amount = d.Uint64()
		ev.Wh = d.Uint64()
	}
}

// TxErrors lists the errors a transaction can fail with, by receipt code.
// Append only: codes are part of stored receipts.
var TxErrors = []error{
	nil, ErrInsufficientFunds, ErrZeroAmount, ErrSelfTransfer, ErrModuleAccount,
	ErrInsufficientStake, ErrNoConsKey, ErrConsKeyChange, ErrConsKeyTaken, ErrBadConsKey,
	ErrBadSiteKey, ErrBadPoP, ErrSiteExists, ErrUnknownSite, ErrNotSiteOwner, ErrBadZone,
	ErrBadDevices, ErrTooManyReadings, ErrNoReadings, ErrUnknownREC, ErrNotRECOwner,
	ErrRECRetired, ErrRECAmount, ErrBadBeneficiary, ErrBadEvidence, ErrDuplicateEvidence,
	ErrEvidenceTooOld, ErrNotValidator, ErrNoEvidenceVerify,
	ErrFlexTerms, ErrUnknownRequest, ErrRequestClosed, ErrDeadlinePassed, ErrWrongZone,
	ErrAlreadyCommitted, ErrOverCommitted, ErrBondTooLow, ErrNotCommitted, ErrNotUtility,
	ErrSiteBusy, ErrOverflow, ErrTxPanicked,
}

// ErrTxPanicked is the receipt of a transaction whose execution panicked:
// a bug of the ledger, not of the transaction. It fails like any other
// error (fee paid, nonce used, nothing else changed) with this fixed text
// on every node; the node logs the panic and its stack.
var ErrTxPanicked = errors.New("transaction aborted by an internal error of the ledger (a bug; the node logged it)")

// ErrBlockPanic is what execution panics with when code outside any
// transaction (the block's beginning or end) panicked: nothing was
// written, and the node must stop (a bug to report).
var ErrBlockPanic = errors.New("ledger: bug: panic executing a block outside any transaction")

// errSettlement marks a flexibility settlement that cannot be computed:
// the request is voided (see settleDue), the block goes on.
var errSettlement = errors.New("ledger: settlement cannot be computed")

// Test hooks: set only by this package's tests, to inject a panic into
// one transaction's execution (after it changed things), into a
// settlement, or into the block's end.
var (
	testHookApply    func(x *executor, v *view, tx *Tx)
	testHookSettle   func(r *FlexRequest)
	testHookEndBlock func(height uint64)
)

func txErrorCode(err error) uint16 {
	for i, e := range TxErrors {
		if e != nil && errors.Is(err, e) {
			return uint16(i)
		}
	}
	return uint16(len(TxErrors)) // an error without a code of its own
}

// executor carries one block's execution.
type executor struct {
	l        *Ledger
	v        *view // the block's view
	params   Params
	chain    chainState
	supply   Supply
	header   *Header
	timeSec  int64 // floor(TimeMs / 1000)
	result   BlockResult
	valDirty bool // the validator set must be recomputed at the end of the block
}

// execute runs b over the committed state. With propose, transactions that
// fail the inclusion checks are left out (and reported) and the header's
// roots are filled in; otherwise they make the block invalid.
//
// A panic inside one transaction fails that transaction (deliver). A panic
// anywhere else is a bug that no retry can cure: execute logs it with its
// stack, releases the batch (nothing has been written: only Commit
// writes) and panics again with ErrBlockPanic, so that the node stops with
// that message instead of running on.
func (l *Ledger) execute(b *Block, propose bool) (*Pending, []Skipped, error) {
	height := b.Header.Height
	defer func() {
		if r := recover(); r != nil {
			// executeBlock closed its batch, if it had made one.
			l.log().Error("ledger: BUG: panic executing a block outside any transaction; nothing was written, the node stops",
				"height", height, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			panic(fmt.Errorf("%w: block %d: %v", ErrBlockPanic, height, r))
		}
	}()
	return l.executeBlock(b, propose)
}

func (l *Ledger) executeBlock(b *Block, propose bool) (*Pending, []Skipped, error) {
	l.mu.RLock()
	m := l.meta
	l.mu.RUnlock()
	h := &b.Header
	if propose {
		h.ChainID = l.genesis.ChainID
		h.PrevBlockHash = m.BlockHash
	}
	switch {
	case h.ChainID != l.genesis.ChainID:
		return nil, nil, fmt.Errorf("%w: chain %q", ErrBadHeader, h.ChainID)
	case h.Height != m.Height+1:
		return nil, nil, fmt.Errorf("%w: height %d, next is %d", ErrBadHeader, h.Height, m.Height+1)
	case h.PrevBlockHash != m.BlockHash:
		return nil, nil, fmt.Errorf("%w: previous block %x, want %x", ErrBadHeader, h.PrevBlockHash, m.BlockHash)
	case h.TimeMs <= m.TimeMs:
		// Block time strictly increases: the reading window and REC
		// certification depend on it never going back.
		return nil, nil, fmt.Errorf("%w: time %d not after %d", ErrBadHeader, h.TimeMs, m.TimeMs)
	}
	x := &executor{l: l, v: newView(treeReader{l.tree}), header: h}
	x.timeSec = floorDiv(h.TimeMs, 1000)
	if err := x.loadGlobals(); err != nil {
		return nil, nil, err
	}
	if err := x.beginBlock(); err != nil {
		return nil, nil, err
	}
	var skipped []Skipped
	var kept [][]byte
	var size uint64
	for i, raw := range b.Txs {
		size += uint64(len(raw))
		err := error(nil)
		if size > uint64(x.params.MaxBlockBytes) {
			err = fmt.Errorf("%w: block over %d bytes", ErrTxTooLarge, x.params.MaxBlockBytes)
		} else {
			err = x.deliver(raw)
		}
		if err != nil {
			if errors.Is(err, errInternal) {
				return nil, nil, err
			}
			if !propose {
				return nil, nil, fmt.Errorf("%w: tx %d: %v", ErrBadTxInBlock, i, err)
			}
			size -= uint64(len(raw))
			skipped = append(skipped, Skipped{Tx: raw, Err: err})
			continue
		}
		kept = append(kept, raw)
	}
	if propose {
		b.Txs = kept
	}
	if err := x.endBlock(); err != nil {
		return nil, nil, err
	}
	if testHookEndBlock != nil {
		testHookEndBlock(h.Height)
	}
	batch := l.db.NewBatch()
	defer func() {
		if r := recover(); r != nil {
			batch.Close()
			panic(r)
		}
	}()
	root, err := l.tree.Apply(x.v.changes(), batch)
	if err != nil {
		batch.Close()
		return nil, nil, fmt.Errorf("%w: %v", errInternal, err)
	}
	txRoot := TxRoot(b.Txs)
	if propose {
		h.TxRoot = txRoot
		h.StateRoot = root
	} else if h.TxRoot != txRoot {
		batch.Close()
		return nil, nil, fmt.Errorf("%w: tx root", ErrBadHeader)
	}
	return &Pending{Block: b, Results: &x.result, batch: batch, root: root, base: m.StateRoot, height: h.Height}, skipped, nil
}

func (x *executor) loadGlobals() error {
	for _, r := range []struct {
		key string
		dst codec.Decodable
	}{{pfxParams, &x.params}, {pfxChain, &x.chain}, {pfxSupply, &x.supply}} {
		ok, err := x.v.load([]byte(r.key), r.dst)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s missing from state", errInternal, r.key)
		}
	}
	return nil
}

func (x *executor) saveGlobals() {
	x.chain.Height = x.header.Height
	x.chain.TimeMs = x.header.TimeMs
	x.v.store([]byte(pfxChain), &x.chain)
	x.v.store([]byte(pfxSupply), &x.supply)
}

// checkTx runs the checks that decide whether a transaction may be in a
// block at all: size, form, signature, nonce, fee. They read st.
func checkTx(st *view, p *Params, chainID string, raw []byte, exactNonce bool, sigs *sigCache) (*Tx, *Account, error) {
	if len(raw) > int(p.MaxTxBytes) {
		return nil, nil, fmt.Errorf("%w: %d bytes > %d", ErrTxTooLarge, len(raw), p.MaxTxBytes)
	}
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.VerifySignatureCached(sigs.c, chainID); err != nil {
		return nil, nil, err
	}
	if tx.Fee < p.MinFee {
		return nil, nil, fmt.Errorf("%w: %d < %d", ErrFeeTooLow, tx.Fee, p.MinFee)
	}
	var acc Account
	if _, err := st.load(accountKey(tx.From), &acc); err != nil {
		return nil, nil, err
	}
	if tx.Nonce < acc.Nonce || (exactNonce && tx.Nonce != acc.Nonce) {
		return nil, nil, fmt.Errorf("%w: %d, account is at %d", ErrBadNonce, tx.Nonce, acc.Nonce)
	}
	if acc.Balance < tx.Fee {
		return nil, nil, fmt.Errorf("%w: fee %d, balance %d", ErrInsufficientFunds, tx.Fee, acc.Balance)
	}
	return tx, &acc, nil
}

// CheckTx is the mempool's check against the committed state: form,
// signature, fee, and a nonce not below the account's (the mempool orders
// nonces per sender; a nonce above the account's waits). It changes nothing.
func (l *Ledger) CheckTx(raw []byte) (*Tx, error) {
	st := l.state()
	var p Params
	if _, err := st.load([]byte(pfxParams), &p); err != nil {
		return nil, err
	}
	tx, err := l.checkTxGuarded(func() (*Tx, error) {
		tx, _, err := checkTx(st, &p, l.genesis.ChainID, raw, false, &l.sigs)
		if err != nil {
			return nil, err
		}
		if err := checkBounds(&p, l.genesis.GenesisTime, tx); err != nil {
			return nil, err
		}
		return tx, nil
	})
	return tx, err
}

// checkTxGuarded runs a transaction's checks; a panic in them (a bug: the
// decoders are fuzzed) refuses the transaction instead of crashing the
// node, and is logged with its stack.
func (l *Ledger) checkTxGuarded(fn func() (*Tx, error)) (tx *Tx, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.log().Error("ledger: BUG: panic checking a transaction; refused",
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			tx, err = nil, fmt.Errorf("%w (in its checks)", ErrTxPanicked)
		}
	}()
	return fn()
}

// checkBounds refuses, before a transaction reaches a block, what its own
// numbers make impossible: the terms of a flexibility request (everything
// ValidateFlexTerms checks, so that its escrow fits 64 bits) and a
// commitment above MaxFlexTargetW. Execution checks the same again: a
// transaction forced into a block fails there with the same reason.
func checkBounds(p *Params, genesisUnix int64, tx *Tx) error {
	switch pl := tx.Payload.(type) {
	case *FlexRequestTx:
		return ValidateFlexTerms(&pl.Terms, p, genesisUnix)
	case *FlexCommitTx:
		if pl.CommittedW > MaxFlexTargetW {
			return fmt.Errorf("%w: %d W, at most %d W", ErrOverCommitted, pl.CommittedW, uint64(MaxFlexTargetW))
		}
	}
	return nil
}

// deliver executes one transaction. An error means the transaction could
// not be included (nothing changed); a transaction that is included but
// fails records its error in its receipt, pays its fee and uses its nonce.
func (x *executor) deliver(raw []byte) error {
	var acc *Account
	tx, err := x.l.checkTxGuarded(func() (*Tx, error) {
		tx, a, err := checkTx(x.v, &x.params, x.l.genesis.ChainID, raw, true, &x.l.sigs)
		acc = a
		return tx, err
	})
	if err != nil {
		return err
	}
	// Fee and nonce first: they stand even if the payload fails.
	acc.Nonce++
	acc.Balance -= tx.Fee
	x.v.store(accountKey(tx.From), acc)
	if err := x.credit(x.v, x.header.Proposer, tx.Fee); err != nil {
		// The sender's fee is already debited in x.v: the block cannot go on.
		return fmt.Errorf("%w: fee: %v", errInternal, err)
	}
	rc := Receipt{TxHash: tx.Hash(), Type: tx.Payload.Type(), From: tx.From, Fee: tx.Fee,
		addresses: []wallet.Address{tx.From}}
	// The payload runs in a child view; what it changes outside the view
	// (the chain counters, the supply, events) is restored if it fails.
	child := newView(x.v)
	snap := x.snapshot()
	err = x.applyGuarded(child, tx, &rc)
	switch {
	case errors.Is(err, errInternal):
		return err
	case errors.Is(err, ErrTxPanicked):
		x.restore(snap)
		// A receipt with nothing of the aborted run in it.
		rc = Receipt{TxHash: rc.TxHash, Type: rc.Type, From: rc.From, Fee: rc.Fee, addresses: []wallet.Address{tx.From},
			Code: txErrorCode(err), Error: err.Error()}
	case err != nil:
		x.restore(snap)
		rc.Code = txErrorCode(err)
		rc.Error = err.Error()
	default:
		child.merge()
	}
	x.result.Receipts = append(x.result.Receipts, rc)
	return nil
}

// execSnapshot is the executor's state outside the block's view.
type execSnapshot struct {
	chain    chainState
	supply   Supply
	events   int
	valDirty bool
}

func (x *executor) snapshot() execSnapshot {
	return execSnapshot{chain: x.chain, supply: x.supply, events: len(x.result.Events), valDirty: x.valDirty}
}

func (x *executor) restore(s execSnapshot) {
	x.chain, x.supply, x.valDirty = s.chain, s.supply, s.valDirty
	clear(x.result.Events[s.events:])
	x.result.Events = x.result.Events[:s.events]
}

// applyGuarded is apply with a panic turned into ErrTxPanicked (see guarded).
func (x *executor) applyGuarded(v *view, tx *Tx, rc *Receipt) (err error) {
	defer func() {
		if r := recover(); r != nil {
			x.logBug("executing a transaction", r, "tx", fmt.Sprintf("%x", rc.TxHash))
			err = ErrTxPanicked
		}
	}()
	return x.apply(v, tx, rc)
}

func (x *executor) logBug(what string, r any, attrs ...any) {
	x.l.log().Error("ledger: BUG: panic "+what+"; it fails, the block goes on",
		append(attrs, "height", x.header.Height, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))...)
}

// guarded runs fn; a panic in it becomes ErrTxPanicked, and is logged as
// the bug it is, with its stack (never stored: the receipt's text is
// fixed, the same on every node).
func (x *executor) guarded(fn func() error, what string, attrs ...any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			x.logBug(what, r, attrs...)
			err = ErrTxPanicked
		}
	}()
	return fn()
}

// apply runs a payload in v.
func (x *executor) apply(v *view, tx *Tx, rc *Receipt) error {
	if tx.From == CommunityPool || tx.From == FlexibilityPool {
		return ErrModuleAccount
	}
	if testHookApply != nil {
		testHookApply(x, v, tx)
	}
	switch p := tx.Payload.(type) {
	case *Transfer:
		return x.transfer(v, tx.From, p, rc)
	case *TransferMemo:
		return x.transfer(v, tx.From, &Transfer{To: p.To, Amount: p.Amount}, rc)
	case *Bond:
		return x.bond(v, tx.From, p)
	case *Unbond:
		return x.unbond(v, tx.From, p)
	case *RegisterSite:
		return x.registerSite(v, tx.From, p, rc)
	case *UpdateSite:
		return x.updateSite(v, tx.From, p, rc)
	case *Readings:
		return x.readings(v, p, rc)
	case *RECTransfer:
		return x.recTransfer(v, tx.From, p, rc)
	case *RECRetire:
		return x.recRetire(v, tx.From, p)
	case *Evidence:
		return x.evidence(v, p)
	case *FlexRequestTx:
		return x.flexRequest(v, tx.From, p, rc)
	case *FlexCommitTx:
		return x.flexCommit(v, tx.From, p, rc)
	case *FlexCancelTx:
		return x.flexCancel(v, tx.From, p, rc)
	}
	return fmt.Errorf("%w: no handler for %s", errInternal, tx.Payload.Type())
}

// Money helpers. Every change of a balance goes through them.

func (x *executor) account(v *view, a wallet.Address) (*Account, error) {
	var acc Account
	_, err := v.load(accountKey(a), &acc)
	return &acc, err
}

func (x *executor) putAccount(v *view, a wallet.Address, acc *Account) {
	if acc.isEmpty() {
		v.del(accountKey(a))
		return
	}
	v.store(accountKey(a), acc)
}

func (x *executor) credit(v *view, a wallet.Address, amount uint64) error {
	if amount == 0 {
		return nil
	}
	acc, err := x.account(v, a)
	if err != nil {
		return err
	}
	sum, ok := addU(acc.Balance, amount)
	if !ok {
		// Cannot happen while the supply fits 64 bits (every balance is
		// part of it); a transaction that did it would fail.
		return fmt.Errorf("%w: balance of %s", ErrOverflow, a)
	}
	acc.Balance = sum
	x.putAccount(v, a, acc)
	return nil
}

func (x *executor) debit(v *view, a wallet.Address, amount uint64) error {
	acc, err := x.account(v, a)
	if err != nil {
		return err
	}
	if acc.Balance < amount {
		return fmt.Errorf("%w: need %d, have %d", ErrInsufficientFunds, amount, acc.Balance)
	}
	acc.Balance -= amount
	x.putAccount(v, a, acc)
	return nil
}

func (x *executor) transfer(v *view, from wallet.Address, p *Transfer, rc *Receipt) error {
	switch {
	case p.Amount == 0:
		return ErrZeroAmount
	case p.To == from:
		return ErrSelfTransfer
	}
	if err := x.debit(v, from, p.Amount); err != nil {
		return err
	}
	rc.addresses = append(rc.addresses, p.To)
	return x.credit(v, p.To, p.Amount)
}

func (x *executor) emit(ev Event) { x.result.Events = append(x.result.Events, ev) }

// floorDiv divides rounding toward −∞ (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// mulDivFloor is floor(a × b / c) for c > 0, exact in 128 bits. Callers
// guarantee the quotient fits in 64 bits (b <= c in every use: shares of
// a ppm or of a total); anything else uses mulDivU, which checks.
func mulDivFloor(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// addrCmp orders addresses bytewise, the order of every sorted address list
// in the state.
func addrCmp(a, b wallet.Address) int { return bytes.Compare(a[:], b[:]) }
