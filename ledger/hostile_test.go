package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// overflowTerms is the request of issue 15: 2^40 W at 2^30 base units per
// kWh over a 96-interval window. Its escrow, ⌊2^30 × 96 × 2^38 / 1000⌋,
// does not fit 64 bits; before the checked arithmetic it passed every
// check and then panicked in MaxPayout (bits.Div64) inside Propose.
func overflowTerms() FlexTerms {
	t := flexTerms()
	t.End = t.Start + 96
	t.TargetW = 1 << 40
	t.PriceBaseUnitsPerKWh = 1 << 30
	return t
}

func codeOf(err error) uint16 { return txErrorCode(err) }

// TestOverflowingFlexRequest: the mempool refuses the overflowing request
// with a reason; forced into a block, it neither panics the proposer nor
// a validator: it fails with its fee paid and nothing else changed, and
// two ledgers agree on the root.
func TestOverflowingFlexRequest(t *testing.T) {
	g := testGenesis(nil)
	a := newTestChain(t, g, Options{})
	b := newTestChain(t, g, Options{})
	utility := testKey(1)
	terms := overflowTerms()
	if _, err := MaxPayoutChecked(terms.TargetW, terms.End-terms.Start, terms.PriceBaseUnitsPerKWh, &g.Params); !errors.Is(err, ErrOverflow) {
		t.Fatalf("MaxPayoutChecked: %v, want an overflow", err)
	}
	if got := MaxPayout(terms.TargetW, terms.End-terms.Start, terms.PriceBaseUnitsPerKWh, &g.Params); got != math.MaxUint64 {
		t.Fatalf("MaxPayout saturates to %d", got)
	}
	raw := a.signTx(utility, &FlexRequestTx{Terms: terms})
	_, err := a.l.CheckTx(raw)
	if !errors.Is(err, ErrFlexTerms) || !errors.Is(err, ErrOverflow) || !strings.Contains(err.Error(), "escrow") {
		t.Fatalf("CheckTx: %v, want a refusal naming the escrow's overflow", err)
	}
	t.Logf("CheckTx refuses: %v", err)

	before := a.account(utility.Address())
	a.timeMs += 5000
	p, skipped, err := a.l.Propose(Header{Height: 1, TimeMs: a.timeMs, Proposer: validatorKey.Address()}, [][]byte{raw})
	if err != nil || len(skipped) != 0 || len(p.Results.Receipts) != 1 {
		t.Fatalf("propose: %v, skipped %v", err, skipped)
	}
	rc := p.Results.Receipts[0]
	if rc.Code != codeOf(ErrFlexTerms) || !strings.Contains(rc.Error, "does not fit") {
		t.Fatalf("receipt code %d %q", rc.Code, rc.Error)
	}
	pb, err := b.l.Execute(p.Block) // a validator executing the block
	if err != nil {
		t.Fatal(err)
	}
	a.commit(p)
	if err := b.l.Commit(pb); err != nil {
		t.Fatal(err)
	}
	if a.l.StateRoot() != b.l.StateRoot() {
		t.Fatalf("roots differ: %x vs %x", a.l.StateRoot(), b.l.StateRoot())
	}
	after := a.account(utility.Address())
	if after.Balance != before.Balance-g.Params.MinFee || after.Nonce != before.Nonce+1 {
		t.Fatalf("utility %+v → %+v: want only the fee paid", before, after)
	}
	if _, ok, _ := a.l.FlexRequest(1); ok {
		t.Fatal("the request was stored")
	}
	// A commitment above the bound is refused by the mempool too, and fails
	// in a block.
	owner := testKey(2)
	sk := a.registerSite(owner, 1)
	raw = a.signTx(owner, &FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: math.MaxUint64, BondBaseUnits: 1})
	if _, err := a.l.CheckTx(raw); !errors.Is(err, ErrOverCommitted) {
		t.Fatalf("CheckTx of a 2^64 W commitment: %v", err)
	}
	a.fails(raw, ErrUnknownRequest)
}

// TestFlexBoundsAtTheEdge: the largest terms whose escrow fits are
// accepted, settle, and conserve the supply; one base unit per kWh more
// is refused.
func TestFlexBoundsAtTheEdge(t *testing.T) {
	whale := testKey(60)
	g := testGenesis(func(g *Genesis) {
		g.Accounts = append(g.Accounts, GenesisAccount{Address: whale.Address(), Balance: math.MaxUint64 / 2})
	})
	c := newTestChain(t, g, Options{})
	terms := flexTerms()
	terms.End = terms.Start + 96
	terms.TargetW = MaxFlexTargetW
	// The highest price whose escrow fits.
	capWh := uint64(MaxFlexTargetW) * 900 / 3600 * 96
	terms.PriceBaseUnitsPerKWh = uint64(math.MaxUint64/2) / capWh * 1000 / 2
	escrow, err := MaxPayoutChecked(terms.TargetW, 96, terms.PriceBaseUnitsPerKWh, &g.Params)
	if err != nil {
		t.Fatal(err)
	}
	c.ok(c.signTx(whale, &FlexRequestTx{Terms: terms}))
	if r, ok, _ := c.l.FlexRequest(1); !ok || r.EscrowBaseUnits != escrow {
		t.Fatalf("request %+v, escrow %d", r, escrow)
	}
	sk := c.registerSite(whale, 1, Device{Kind: DeviceMeter, NameplateW: math.MaxUint32})
	most := MaxPayout(MaxFlexTargetW, 96, terms.PriceBaseUnitsPerKWh, &g.Params)
	c.ok(c.signTx(whale, &FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: MaxFlexTargetW, BondBaseUnits: most / 10}))
	// Past the window and grace: it settles (no baseline: nothing paid).
	c.timeMs = c.intervalEndMs(terms.End+uint64(g.Params.FlexGraceIntervals)) + 1000
	c.block(1000)
	if r, _, _ := c.l.FlexRequest(1); r.Status != FlexSettled {
		t.Fatalf("status %d", r.Status)
	}
	big := terms
	big.PriceBaseUnitsPerKWh = MaxFlexPrice
	if _, err := c.l.CheckTx(c.signTx(whale, &FlexRequestTx{Terms: big})); !errors.Is(err, ErrOverflow) {
		t.Fatalf("price 2^40 at 2^40 W: %v", err)
	}
	c.nonces[whale.Address()]--
}

// TestTxPanicFailsTheTransaction: a panic inside one transaction's
// execution, after it changed the state, the chain counters and emitted
// an event, fails that transaction with the fixed ErrTxPanicked text and
// its fee; the other transactions of the block stand; the bug is logged
// with its stack; two ledgers agree on the root and the block commits.
func TestTxPanicFailsTheTransaction(t *testing.T) {
	var logA, logB bytes.Buffer
	g := testGenesis(nil)
	a := newTestChain(t, g, Options{Log: slog.New(slog.NewTextHandler(&logA, nil))})
	b := newTestChain(t, g, Options{Log: slog.New(slog.NewTextHandler(&logB, nil))})
	alice, bob := testKey(1), testKey(2)
	const poison = 777
	testHookApply = func(x *executor, v *view, tx *Tx) {
		if tr, ok := tx.Payload.(*Transfer); ok && tr.Amount == poison {
			// Change everything a transaction can, then panic.
			acc, _ := x.account(v, tr.To)
			acc.Balance += 1 << 40
			x.putAccount(v, tr.To, acc)
			x.chain.NextFlexID += 5
			x.supply.Emitted += 9
			x.valDirty = true
			x.emit(Event{Kind: EventEmission, Amount: 1})
			var m map[string]int
			m["nil map"]++ // a runtime error, as a real bug would be
		}
	}
	defer func() { testHookApply = nil }()
	txs := [][]byte{
		a.signTx(alice, &Transfer{To: bob.Address(), Amount: 100}),
		a.signTx(alice, &Transfer{To: bob.Address(), Amount: poison}),
		a.signTx(alice, &Transfer{To: bob.Address(), Amount: 200}),
	}
	aliceBefore, bobBefore := a.account(alice.Address()), a.account(bob.Address())
	a.timeMs += 5000
	p, skipped, err := a.l.Propose(Header{Height: 1, TimeMs: a.timeMs, Proposer: validatorKey.Address()}, txs)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("propose: %v %v", err, skipped)
	}
	rs := p.Results.Receipts
	if len(rs) != 3 || rs[0].Code != 0 || rs[2].Code != 0 {
		t.Fatalf("receipts %+v", rs)
	}
	if rs[1].Code != codeOf(ErrTxPanicked) || rs[1].Error != ErrTxPanicked.Error() || rs[1].Fee != g.Params.MinFee {
		t.Fatalf("panicked tx: code %d %q", rs[1].Code, rs[1].Error)
	}
	if len(p.Results.Events) != 0 {
		t.Fatalf("events of the aborted tx kept: %+v", p.Results.Events)
	}
	pb, err := b.l.Execute(p.Block)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(codec.Encode(p.Results), codec.Encode(pb.Results)) {
		t.Fatal("the two ledgers' results differ")
	}
	a.commit(p) // re-executes (same root) and checks the supply
	if err := b.l.Commit(pb); err != nil {
		t.Fatal(err)
	}
	if a.l.StateRoot() != b.l.StateRoot() {
		t.Fatal("roots differ")
	}
	if got := a.account(bob.Address()).Balance; got != bobBefore.Balance+300 {
		t.Fatalf("bob has %d more, want 300", got-bobBefore.Balance)
	}
	if got := a.account(alice.Address()); got.Balance != aliceBefore.Balance-300-3*g.Params.MinFee || got.Nonce != 3 {
		t.Fatalf("alice %+v", got)
	}
	var cs chainState
	if _, err := a.l.state().load([]byte(pfxChain), &cs); err != nil || cs.NextFlexID != 1 {
		t.Fatalf("chain counters changed by the aborted tx: %+v %v", cs, err)
	}
	for _, log := range []string{logA.String(), logB.String()} {
		if !strings.Contains(log, "BUG: panic executing a transaction") || !strings.Contains(log, "nil map") ||
			!strings.Contains(log, "hostile_test.go") {
			t.Fatalf("the panic was not logged with its stack:\n%s", log)
		}
	}
	// The stored receipt holds the fixed text only.
	res, _ := a.l.Results(1)
	if res.Receipts[1].Error != ErrTxPanicked.Error() {
		t.Fatalf("stored receipt %q", res.Receipts[1].Error)
	}
	a.block(1000, a.signTx(alice, &Transfer{To: bob.Address(), Amount: poison + 1}))
}

// TestBlockPanicStopsWithNothingWritten: a panic outside any transaction
// (at the block's end) panics Propose and Execute with ErrBlockPanic and a
// clear message, after logging; nothing is written — the ledger reopens at
// the same height and root — and once the bug is gone the same block
// executes as on a ledger that never saw the panic.
func TestBlockPanicStopsWithNothingWritten(t *testing.T) {
	var logBuf bytes.Buffer
	g := testGenesis(nil)
	a := newTestChain(t, g, Options{Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	b := newTestChain(t, g, Options{})
	alice := testKey(1)
	tx := a.signTx(alice, &Transfer{To: testKey(2).Address(), Amount: 5})
	testHookEndBlock = func(h uint64) { panic(fmt.Sprintf("injected at height %d", h)) }
	defer func() { testHookEndBlock = nil }()
	hdr := Header{Height: 1, TimeMs: a.timeMs + 5000, Proposer: validatorKey.Address()}
	catch := func(fn func()) (msg error) {
		defer func() {
			r := recover()
			if e, ok := r.(error); ok {
				msg = e
			} else if r != nil {
				t.Fatalf("panicked with %T %v", r, r)
			}
		}()
		fn()
		return nil
	}
	err := catch(func() { a.l.Propose(hdr, [][]byte{tx}) })
	if !errors.Is(err, ErrBlockPanic) || !strings.Contains(err.Error(), "injected at height 1") {
		t.Fatalf("Propose: %v", err)
	}
	t.Logf("the node stops with: %v", err)
	if !strings.Contains(logBuf.String(), "nothing was written") || !strings.Contains(logBuf.String(), "stack") {
		t.Fatalf("log: %s", logBuf.String())
	}
	// Nothing was written: reopen.
	root := a.l.StateRoot()
	if err := a.l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := Open(a.dir, g, a.opts)
	if err != nil {
		t.Fatal(err)
	}
	a.l = l
	if l.Height() != 0 || l.StateRoot() != root {
		t.Fatalf("reopened at %d %x", l.Height(), l.StateRoot())
	}
	testHookEndBlock = nil
	p, _, err := a.l.Propose(hdr, [][]byte{tx})
	if err != nil {
		t.Fatal(err)
	}
	testHookEndBlock = func(uint64) { panic("again") }
	if err := catch(func() { b.l.Execute(p.Block) }); !errors.Is(err, ErrBlockPanic) {
		t.Fatalf("Execute: %v", err)
	}
	testHookEndBlock = nil
	pb, err := b.l.Execute(p.Block)
	if err != nil {
		t.Fatal(err)
	}
	a.commit(p)
	if err := b.l.Commit(pb); err != nil || a.l.StateRoot() != b.l.StateRoot() {
		t.Fatalf("commit %v, roots %x %x", err, a.l.StateRoot(), b.l.StateRoot())
	}
}

// TestSettlementPanicVoidsTheRequest: a settlement that panics (a bug) or
// fails voids its request — escrow and bonds back in full, status
// FlexVoided — and the block commits; the supply holds.
func TestSettlementPanicVoidsTheRequest(t *testing.T) {
	var logBuf bytes.Buffer
	c := newTestChain(t, nil, Options{Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	utility, owner := testKey(1), testKey(2)
	sk := c.registerSite(owner, 1)
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: flexTerms()}))
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
	ub, ob := c.account(utility.Address()).Balance, c.account(owner.Address()).Balance
	testHookSettle = func(r *FlexRequest) { panic("settlement bug") }
	defer func() { testHookSettle = nil }()
	c.timeMs = c.intervalEndMs(evEnd+uint64(c.g.Params.FlexGraceIntervals)) + 1000
	res := c.block(1000)
	r, _, _ := c.l.FlexRequest(1)
	if r.Status != FlexVoided {
		t.Fatalf("status %d", r.Status)
	}
	if c.account(utility.Address()).Balance != ub+1_600_000 || c.account(owner.Address()).Balance != ob+100_000 {
		t.Fatal("escrow and bond not returned in full")
	}
	if _, ok, _ := c.l.FlexSettlement(1); ok {
		t.Fatal("a settlement was stored")
	}
	var voided bool
	for _, ev := range res.Events {
		voided = voided || ev.Kind == EventFlexCancelled && ev.ID == 1
	}
	if !voided || !strings.Contains(logBuf.String(), "voided") || !strings.Contains(logBuf.String(), "settlement bug") {
		t.Fatalf("events %+v, log %s", res.Events, logBuf.String())
	}
	// The site is free again.
	if s, _ := c.siteCommitmentsOf(sk.Address()); len(s.Open) != 0 {
		t.Fatalf("site still committed: %+v", s)
	}
}

func (c *testChain) siteCommitmentsOf(site wallet.Address) (siteCommitments, error) {
	var s siteCommitments
	_, err := c.l.state().load(siteFlexKey(site), &s)
	return s, err
}

// TestPayFlexibilityShareHugeWeights: delivered-Wh weights whose sum does
// not fit 64 bits are shifted, not wrapped: shares stay proportional and
// the epoch pays without a panic.
func TestPayFlexibilityShareHugeWeights(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	owner := testKey(2)
	sk1, sk2 := c.registerSite(owner, 1), c.registerSite(owner, 2)
	x := &executor{l: c.l, v: newView(treeReader{c.l.tree}), header: &Header{Height: 10}}
	if err := x.loadGlobals(); err != nil {
		t.Fatal(err)
	}
	if err := x.addDelivered(sk1.Address(), math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	if err := x.addDelivered(sk1.Address(), 5); err != nil { // saturates
		t.Fatal(err)
	}
	if err := x.addDelivered(sk2.Address(), math.MaxUint64/2); err != nil {
		t.Fatal(err)
	}
	before := c.account(owner.Address()).Balance
	if err := x.payFlexibilityShare(3_000_000); err != nil {
		t.Fatal(err)
	}
	acc, _ := x.account(x.v, owner.Address())
	// 2:1 after the shift: 2,000,000 + 1,000,000 (floors may leave a unit).
	if got := acc.Balance - before; got < 2_999_998 || got > 3_000_000 {
		t.Fatalf("paid %d", got)
	}
}

// ext draws the property test's values: 0, 1, max−1, max, 2^k ± 1 and
// uniform ones, up to max.
func ext(r *rand.Rand, max uint64) uint64 {
	k := uint(r.IntN(bitsOf(max)))
	switch r.IntN(8) {
	case 0:
		return 0
	case 1:
		return 1
	case 2:
		return max - 1
	case 3:
		return max
	case 4:
		return min(uint64(1)<<k+1, max)
	case 5:
		return uint64(1)<<k - 1
	case 6:
		return uint64(1) << k
	}
	return r.Uint64N(max) + r.Uint64N(2)
}

func bitsOf(max uint64) int {
	n := 0
	for max > 0 {
		n++
		max >>= 1
	}
	return n
}

// byteEvidence is a verifier for the property test: the data is the
// offence height (8 bytes), the offender the genesis validator.
type byteEvidence struct{}

func (byteEvidence) VerifyEvidence(chainID string, data []byte, _ func(wallet.Address) (*wallet.PublicKey, bool)) (wallet.Address, uint64, error) {
	if len(data) != 8 {
		return wallet.Address{}, 0, errors.New("want 8 bytes")
	}
	return validatorCons.Address(), binary.BigEndian.Uint64(data), nil
}

// TestExtremeValuesProperty drives every transaction type with extreme
// values (seeded: 0, 1, max−1, max, 2^k ± 1, random) in every numeric
// field — amounts, fees, nonces, stake, W, Wh, prices, windows, bonds,
// REC Wh, reading channels, evidence heights — through CheckTx and
// execution, on a chain with a whale account holding half of 2^64 and a
// site whose devices are rated at 2^32 − 1 W, so that the extremes pass
// the balance and plausibility checks and reach the settlement math. It
// checks: no panic anywhere (none recovered either), every transaction
// refused (CheckTx, or left out by the proposer) or included with code 0
// or a failure with a reason; what CheckTx refused for its numbers fails
// when forced into a block; a second ledger executing the same blocks
// agrees on every root; and the supply and REC invariants after each
// block. It also requires that each type succeeded and failed at least
// once, so that the draws reach the code they are meant to.
func TestExtremeValuesProperty(t *testing.T) {
	total := map[TxType]*outcome{}
	settled := 0
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { settled += extremeRun(t, seed, 160, total) })
	}
	for typ := TxTransfer; typ <= TxFlexCancel; typ++ {
		if st := total[typ]; typ.String() != fmt.Sprintf("tx_type_%d", uint8(typ)) &&
			(st == nil || st.ok == 0 || st.refused+st.left+st.failed == 0) {
			t.Errorf("%s: the draws never reached both outcomes: %+v", typ, st)
		}
	}
	if settled == 0 {
		t.Error("no request settled: the settlement math was not reached")
	}
}

// outcome counts what became of the transactions of one type.
type outcome struct {
	refused, left, ok, failed int
}

func extremeRun(t *testing.T, seed uint64, nBlocks int, total map[TxType]*outcome) int {
	var logBuf bytes.Buffer
	r := rand.New(rand.NewPCG(seed, 0xe17e))
	whale := testKey(60)
	g := testGenesis(func(g *Genesis) {
		g.Accounts = append(g.Accounts, GenesisAccount{Address: whale.Address(), Balance: math.MaxUint64 / 2})
	})
	opts := Options{Evidence: byteEvidence{}, Log: slog.New(slog.NewTextHandler(&logBuf, nil))}
	c := newTestChain(t, g, opts)
	mirror := newTestChain(t, g, Options{Evidence: byteEvidence{}})
	senders := []*wallet.PrivateKey{whale, testKey(1), testKey(2)}
	const maxW = math.MaxUint32
	bigDevices := []Device{{Kind: DevicePV, NameplateW: maxW}, {Kind: DeviceBattery, NameplateW: maxW, StorageWh: maxW},
		{Kind: DeviceEVCharger, NameplateW: maxW}, {Kind: DeviceMeter, NameplateW: maxW}}
	// The whale's big site, registered first.
	bigKey := testKey(7000)
	c.ok(c.signTx(whale, c.registerPayload(whale, bigKey, bigDevices...)))
	mirrorBlock(t, c, mirror)
	nextSite := 7001
	stats := map[TxType]*outcome{}
	lastReq := uint64(0)
	var openReqs []uint64
	openReq := func() uint64 { // the newest open request (the likeliest before its deadline)
		if len(openReqs) == 0 || r.IntN(4) == 0 {
			return lastReq
		}
		return openReqs[len(openReqs)-1-r.IntN(min(2, len(openReqs)))]
	}
	var nextRECID uint64 = 1

	for blk := 0; blk < nBlocks; blk++ {
		c.timeMs += 30 * 60 * 1000 // two intervals a block: windows close and settle
		cur := uint64((c.timeMs/1000 - g.GenesisTime) / int64(g.Params.IntervalSeconds))
		var txs [][]byte
		var bounded []bool // checkBounds refused it
		var types []TxType
		nonces := map[wallet.Address]uint64{}
		for _, s := range senders {
			nonces[s.Address()] = c.account(s.Address()).Nonce
		}
		for k := 0; k < 4; k++ {
			fromIdx := r.IntN(len(senders))
			if r.IntN(3) > 0 {
				fromIdx = 0 // the whale: the owner of the sites, RECs and requests
			}
			from := senders[fromIdx]
			other := senders[(fromIdx+1+r.IntN(len(senders)-1))%len(senders)].Address()
			if k == 0 {
				from = whale // the readings, from anyone
			}
			pick := func(template, max uint64) uint64 {
				if r.IntN(5) == 0 {
					return ext(r, max)
				}
				return template
			}
			// near: a documented bound's neighbourhood, where products
			// overflow first.
			near := func(template, bound uint64) uint64 {
				if r.IntN(4) == 0 {
					return bound - 1 + uint64(r.IntN(3))
				}
				return pick(template, math.MaxUint64)
			}
			var p Payload
			switch typ := r.IntN(12); {
			case k == 0:
				s := c.site(bigKey.Address())
				var rs []meter.Reading
				prev, counter := s.LastHash, s.Counter
				for iv := max(s.LastInterval+1, cur-3); iv < cur && len(rs) < 3; iv++ {
					m := meter.Reading{Site: bigKey.Address(), Interval: pick(iv, math.MaxUint64), Counter: pick(counter+1, math.MaxUint64),
						PrevHash: prev, GridImportWh: uint32(pick(300, maxW)), GridExportWh: uint32(pick(0, maxW)),
						PVWh: uint32(pick(100, maxW)), BatteryChargeWh: uint32(pick(0, maxW)), BatteryDischargeWh: uint32(pick(0, maxW)),
						EVWh: uint32(pick(0, maxW)), BatterySoCPpm: uint32(pick(500_000, 1_000_000))}
					if r.IntN(20) == 0 {
						m.BatterySoCPpm = uint32(ext(r, maxW)) // mostly not canonical: the decoder refuses it
					}
					if err := m.Sign(bigKey, testChainID); err != nil {
						t.Fatal(err)
					}
					prev, counter = m.Hash(), m.Counter
					rs = append(rs, m)
				}
				if len(rs) == 0 {
					continue
				}
				p = &Readings{Readings: rs}
			case typ == 0 && fromIdx%2 == 1: // the same draws as a Transfer
				p = &TransferMemo{To: other, Amount: pick(1000, math.MaxUint64), Memo: []byte("extreme")}
			case typ == 0:
				p = &Transfer{To: other, Amount: pick(1000, math.MaxUint64)}
			case typ == 1:
				p = &Bond{Amount: pick(5_000, math.MaxUint64), ConsKey: testKey(61 + fromIdx).Public().Compressed()}
			case typ == 2:
				p = &Unbond{Amount: pick(1_000, math.MaxUint64)}
			case typ == 3:
				sk := testKey(nextSite)
				nextSite++
				rp := c.registerPayload(from, sk, bigDevices...)
				for i := range rp.Devices {
					rp.Devices[i].NameplateW = uint32(pick(uint64(rp.Devices[i].NameplateW), maxW))
				}
				rp.Devices[1].StorageWh = uint32(pick(maxW, maxW))
				p = rp
			case typ == 4:
				up := &UpdateSite{Site: bigKey.Address(), Zone: "CO-DEN", LatE6: goldenLatE6, LonE6: goldenLonE6,
					Devices: append([]Device(nil), bigDevices...)}
				up.Devices[0].NameplateW = uint32(pick(maxW, maxW))
				from = whale
				p = up
			case typ == 5:
				p = &RECTransfer{ID: pick(uint64(r.IntN(int(nextRECID)))+1, math.MaxUint64), Wh: pick(10, math.MaxUint64), To: other}
			case typ == 6:
				p = &RECRetire{ID: pick(uint64(r.IntN(int(nextRECID)))+1, math.MaxUint64), Wh: pick(10, math.MaxUint64), Beneficiary: "x"}
			case typ == 7:
				var d [8]byte
				binary.BigEndian.PutUint64(d[:], pick(c.l.Height(), math.MaxUint64))
				p = &Evidence{Data: d[:]}
			case typ == 8, typ == 9:
				start := pick(cur+12, math.MaxUint64)
				n := near(8, uint64(g.Params.FlexMaxWindowIntervals))
				terms := FlexTerms{Zone: "CO-DEN", Direction: FlexDown, Start: start, End: start + n,
					TargetW: near(2000, MaxFlexTargetW), PriceBaseUnitsPerKWh: near(200_000, MaxFlexPrice),
					Deadline: pick(cur+10, math.MaxUint64), Method: uint8(baseline.MethodXofY),
					Rules: BaselineRules{WeekdayX: 1, WeekdayY: 1, WeekendX: 1, WeekendY: 1, LookbackDays: uint16(pick(3, 366))}}
				if r.IntN(3) == 0 {
					terms.Method, terms.Channel = uint8(baseline.MethodDevice), ChannelBattery
				}
				from = whale
				p = &FlexRequestTx{Terms: terms}
			case typ == 10:
				w := near(1000, MaxFlexTargetW)
				bond := pick(MaxPayout(min(w, MaxFlexTargetW), 8, 200_000, &g.Params)/5+1, math.MaxUint64)
				from = whale
				p = &FlexCommitTx{RequestID: pick(openReq(), math.MaxUint64), Site: bigKey.Address(), CommittedW: w, BondBaseUnits: bond}
			default:
				from = whale
				site := wallet.Address{}
				if r.IntN(2) == 0 {
					site = bigKey.Address()
				}
				p = &FlexCancelTx{RequestID: pick(openReq(), math.MaxUint64), Site: site}
			}
			tx := &Tx{Nonce: nonces[from.Address()], Fee: g.Params.MinFee, Payload: p}
			if r.IntN(10) == 0 {
				tx.Nonce = ext(r, math.MaxUint64)
			}
			if r.IntN(10) == 0 {
				tx.Fee = ext(r, math.MaxUint64/4)
			}
			if err := tx.Sign(from, testChainID); err != nil {
				t.Fatal(err)
			}
			if tx.Nonce == nonces[from.Address()] {
				nonces[from.Address()]++
			}
			raw := tx.Encode()
			st := stats[p.Type()]
			if st == nil {
				st = &outcome{}
				stats[p.Type()] = st
			}
			// CheckTx: a verdict, never a panic.
			if _, err := c.l.CheckTx(raw); err != nil {
				if errors.Is(err, ErrTxPanicked) {
					t.Fatalf("CheckTx recovered a panic: %v", err)
				}
				st.refused++
			}
			params, _ := c.l.Params()
			txs = append(txs, raw)
			bounded = append(bounded, checkBounds(&params, g.GenesisTime, tx) != nil)
			types = append(types, p.Type())
		}
		p, skipped, err := c.l.Propose(Header{Height: c.l.Height() + 1, TimeMs: c.timeMs, Proposer: validatorKey.Address()}, txs)
		if err != nil {
			t.Fatalf("block %d: %v", blk, err)
		}
		for _, s := range skipped {
			if s.Err == nil || errors.Is(s.Err, ErrTxPanicked) {
				t.Fatalf("skipped with %v", s.Err)
			}
		}
		// Receipts follow the included txs in order.
		inc := 0
		for i, raw := range txs {
			if inc >= len(p.Block.Txs) || !bytes.Equal(p.Block.Txs[inc], raw) {
				stats[types[i]].left++
				continue
			}
			rc := p.Results.Receipts[inc]
			inc++
			switch {
			case rc.Code == 0 && rc.Error == "":
				if bounded[i] {
					t.Fatalf("%s refused by checkBounds succeeded in a block", rc.Type)
				}
				stats[types[i]].ok++
				if rc.Type == TxFlexRequest {
					lastReq++
				}
			case rc.Code != 0 && rc.Error != "" && rc.Code != codeOf(ErrTxPanicked):
				stats[types[i]].failed++
			default:
				t.Fatalf("%s: receipt code %d %q", rc.Type, rc.Code, rc.Error)
			}
		}
		c.commit(p) // re-executes: same root; supply and REC invariants
		pb, err := mirror.l.Execute(p.Block)
		if err != nil {
			t.Fatalf("mirror: %v", err)
		}
		if err := mirror.l.Commit(pb); err != nil {
			t.Fatal(err)
		}
		if c.l.StateRoot() != mirror.l.StateRoot() {
			t.Fatalf("block %d: roots differ", blk)
		}
		var cs chainState
		c.l.state().load([]byte(pfxChain), &cs)
		nextRECID = max(cs.NextRECID, 1)
		lastReq = max(cs.NextFlexID, 1) - 1
		var open idList
		c.l.state().load([]byte(pfxFlexOpen), &open)
		openReqs = open.IDs
	}
	if strings.Contains(logBuf.String(), "BUG") {
		t.Fatalf("a panic was recovered:\n%s", logBuf.String())
	}
	var settled int
	for id := uint64(1); id <= lastReq; id++ {
		if r, ok, _ := c.l.FlexRequest(id); ok && r.Status == FlexSettled {
			settled++
		}
	}
	for typ := TxTransfer; typ <= TxFlexCancel; typ++ {
		st := stats[typ]
		if st == nil {
			continue
		}
		t.Logf("%-14s refused by CheckTx %3d, left out %3d, ok %3d, failed %3d", typ, st.refused, st.left, st.ok, st.failed)
		if total[typ] == nil {
			total[typ] = &outcome{}
		}
		tt := total[typ]
		tt.refused, tt.left, tt.ok, tt.failed = tt.refused+st.refused, tt.left+st.left, tt.ok+st.ok, tt.failed+st.failed
	}
	t.Logf("%d requests settled, %d certificates", settled, nextRECID-1)
	return settled
}

// mirrorBlock makes the mirror ledger execute and commit c's last block.
func mirrorBlock(t *testing.T, c, mirror *testChain) {
	t.Helper()
	b, err := c.l.Block(c.l.Height())
	if err != nil {
		t.Fatal(err)
	}
	p, err := mirror.l.Execute(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := mirror.l.Commit(p); err != nil {
		t.Fatal(err)
	}
}
