package ledger

import (
	"errors"
	"os"
	"testing"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

func TestGenesis(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	if c.l.Height() != 0 {
		t.Fatalf("height %d", c.l.Height())
	}
	set, err := c.l.ValidatorSet()
	if err != nil || len(set.Validators) != 1 || set.Validators[0].Account != validatorKey.Address() {
		t.Fatalf("validator set %+v %v", set, err)
	}
	sup, _ := c.l.Supply()
	if sup.Genesis != 8*100_000*BaseUnitsPerFLX+10_000*BaseUnitsPerFLX || sup.Emitted != 0 {
		t.Fatalf("supply %+v", sup)
	}
	// Reopening the same dir with the same genesis gives the same state;
	// with another genesis it refuses.
	root := c.l.StateRoot()
	c.l.Close()
	l, err := Open(c.dir, c.g, Options{})
	if err != nil || l.StateRoot() != root {
		t.Fatalf("reopen: %v", err)
	}
	l.Close()
	other := testGenesis(func(g *Genesis) { g.Accounts[0].Balance++ })
	if _, err := Open(c.dir, other, Options{}); !errors.Is(err, ErrGenesisMismatch) {
		t.Fatalf("other genesis: %v", err)
	}
	c.l, _ = Open(c.dir, c.g, Options{})
}

func TestGenesisOrderIndependent(t *testing.T) {
	a := newTestChain(t, nil, Options{})
	b := newTestChain(t, testGenesis(func(g *Genesis) {
		for i, j := 0, len(g.Accounts)-1; i < j; i, j = i+1, j-1 {
			g.Accounts[i], g.Accounts[j] = g.Accounts[j], g.Accounts[i]
		}
	}), Options{})
	if a.l.StateRoot() != b.l.StateRoot() {
		t.Fatal("genesis root depends on the order of accounts in the file")
	}
}

func TestBadGenesis(t *testing.T) {
	cases := map[string]func(*Genesis){
		"no validators":     func(g *Genesis) { g.Validators = nil },
		"bad chain id":      func(g *Genesis) { g.ChainID = "Bad Chain" },
		"time not aligned":  func(g *Genesis) { g.GenesisTime++ },
		"duplicate account": func(g *Genesis) { g.Accounts = append(g.Accounts, g.Accounts[0]) },
		"low stake":         func(g *Genesis) { g.Validators[0].Stake = 1 },
		"bad cons key":      func(g *Genesis) { g.Validators[0].ConsensusKey = []byte{2, 3} },
		"bad interval":      func(g *Genesis) { g.Params.IntervalSeconds = 700 },
		"evidence age":      func(g *Genesis) { g.Params.EvidenceMaxAgeBlocks = g.Params.UnbondingBlocks },
	}
	for name, mod := range cases {
		g := testGenesis(mod)
		if _, err := Open(t.TempDir(), g, Options{}); !errors.Is(err, ErrGenesis) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseGenesis([]byte(`{"chain_id":"x","unknown":1}`)); !errors.Is(err, ErrGenesis) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestGenesisJSONRoundTrip(t *testing.T) {
	g := testGenesis(nil)
	j, err := g.JSON()
	if err != nil {
		t.Fatal(err)
	}
	g2, err := ParseGenesis(j)
	if err != nil {
		t.Fatal(err)
	}
	j2, _ := g2.JSON()
	if string(j) != string(j2) {
		t.Fatal("genesis JSON does not round-trip")
	}
}

func TestTransfer(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	alice, bob := testKey(1), testKey(2)
	before := c.account(alice.Address()).Balance
	rc := c.ok(c.signTx(alice, &Transfer{To: bob.Address(), Amount: 7 * BaseUnitsPerFLX}))
	if rc.Fee != c.g.Params.MinFee {
		t.Fatalf("fee %d", rc.Fee)
	}
	if got := c.account(alice.Address()); got.Balance != before-7*BaseUnitsPerFLX-c.g.Params.MinFee || got.Nonce != 1 {
		t.Fatalf("alice %+v", got)
	}
	if got := c.account(bob.Address()).Balance; got != 100_000*BaseUnitsPerFLX+7*BaseUnitsPerFLX {
		t.Fatalf("bob %d", got)
	}
	// A fresh address receives.
	carol := testKey(99)
	c.ok(c.signTx(alice, &Transfer{To: carol.Address(), Amount: 5}))
	if c.account(carol.Address()).Balance != 5 {
		t.Fatal("carol")
	}
	// Failures pay the fee, use the nonce, move nothing else.
	for _, tc := range []struct {
		name string
		p    *Transfer
		err  error
	}{
		{"zero", &Transfer{To: bob.Address(), Amount: 0}, ErrZeroAmount},
		{"self", &Transfer{To: alice.Address(), Amount: 1}, ErrSelfTransfer},
		{"too much", &Transfer{To: bob.Address(), Amount: 1 << 62}, ErrInsufficientFunds},
	} {
		b0 := c.account(alice.Address())
		bobBefore := c.account(bob.Address()).Balance
		c.fails(c.signTx(alice, tc.p), tc.err)
		b1 := c.account(alice.Address())
		if b1.Balance != b0.Balance-c.g.Params.MinFee || b1.Nonce != b0.Nonce+1 || c.account(bob.Address()).Balance != bobBefore {
			t.Fatalf("%s: failed transfer changed more than fee and nonce", tc.name)
		}
	}
}

// TestInclusionChecks: what cannot be in a block at all. The proposer skips
// it; a block that holds it anyway is invalid.
func TestInclusionChecks(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	alice, bob := testKey(1), testKey(2)
	good := func() *Tx {
		return &Tx{Nonce: 0, Fee: c.g.Params.MinFee, Payload: &Transfer{To: bob.Address(), Amount: 1}}
	}
	sign := func(tx *Tx, k *wallet.PrivateKey, chain string) []byte {
		if err := tx.Sign(k, chain); err != nil {
			t.Fatal(err)
		}
		return tx.Encode()
	}
	poor := testKey(77) // no balance
	cases := []struct {
		name string
		raw  []byte
		err  error
	}{
		{"garbage", []byte{1, 2, 3}, ErrMalformedTx},
		{"other chain", sign(good(), alice, "gridmint-other"), ErrBadTxSignature},
		{"nonce ahead", sign(func() *Tx { tx := good(); tx.Nonce = 5; return tx }(), alice, testChainID), ErrBadNonce},
		{"fee too low", sign(func() *Tx { tx := good(); tx.Fee = 1; return tx }(), alice, testChainID), ErrFeeTooLow},
		{"cannot pay fee", sign(good(), poor, testChainID), ErrInsufficientFunds},
		{"forged sender", func() []byte {
			tx := good()
			sign(tx, alice, testChainID)
			tx.From = bob.Address()
			return tx.Encode()
		}(), ErrBadTxSignature},
	}
	for _, tc := range cases {
		h := Header{Height: c.l.Height() + 1, TimeMs: c.timeMs + 1000, Proposer: validatorKey.Address()}
		p, skipped, err := c.l.Propose(h, [][]byte{tc.raw})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(skipped) != 1 || !errors.Is(skipped[0].Err, tc.err) || len(p.Block.Txs) != 0 {
			t.Fatalf("%s: skipped %v, want %v", tc.name, skipped, tc.err)
		}
		p.Discard()
		if _, err := c.l.CheckTx(tc.raw); !errors.Is(err, tc.err) && !(tc.name == "nonce ahead" && err == nil) {
			t.Fatalf("%s: CheckTx %v", tc.name, err)
		}
		// The same tx forced into a block makes it invalid.
		bad := &Block{Header: h, Txs: [][]byte{tc.raw}}
		bad.Header.ChainID = testChainID
		bad.Header.PrevBlockHash = c.l.LastBlockHash()
		bad.Header.TxRoot = TxRoot(bad.Txs)
		if _, err := c.l.Execute(bad); !errors.Is(err, ErrBadTxInBlock) {
			t.Fatalf("%s: block with it: %v", tc.name, err)
		}
	}
	// A replayed transaction is refused by nonce.
	raw := c.signTx(alice, &Transfer{To: bob.Address(), Amount: 1})
	c.ok(raw)
	if _, err := c.l.CheckTx(raw); !errors.Is(err, ErrBadNonce) {
		t.Fatalf("replay: %v", err)
	}
}

func TestBadHeaders(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	c.block(1000)
	base := Header{ChainID: testChainID, Height: 2, TimeMs: c.timeMs + 1000, PrevBlockHash: c.l.LastBlockHash(),
		TxRoot: TxRoot(nil)}
	for name, mod := range map[string]func(*Header){
		"height":     func(h *Header) { h.Height = 3 },
		"prev hash":  func(h *Header) { h.PrevBlockHash[0] ^= 1 },
		"time back":  func(h *Header) { h.TimeMs = c.timeMs },
		"chain":      func(h *Header) { h.ChainID = "gridmint-other" },
		"tx root":    func(h *Header) { h.TxRoot[0] ^= 1 },
		"state root": func(h *Header) { h.StateRoot[0] ^= 1 },
	} {
		h := base
		// Find the right state root first so that only the named field is wrong.
		p, _, err := c.l.Propose(Header{Height: 2, TimeMs: base.TimeMs}, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.StateRoot = p.Block.Header.StateRoot
		p.Discard()
		mod(&h)
		if _, err := c.l.Execute(&Block{Header: h}); err == nil {
			t.Errorf("%s: bad header accepted", name)
		}
	}
}

func TestBondUnbond(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	v2, v2cons := testKey(3), testKey(3003)
	c.fails(c.signTx(v2, &Bond{Amount: 2_000 * BaseUnitsPerFLX}), ErrNoConsKey)
	c.fails(c.signTx(v2, &Bond{Amount: 2_000 * BaseUnitsPerFLX, ConsKey: validatorCons.Public().Compressed()}), ErrConsKeyTaken)
	c.fails(c.signTx(v2, &Bond{Amount: 1 << 62, ConsKey: v2cons.Public().Compressed()}), ErrInsufficientFunds)
	c.fails(c.signTx(v2, &Bond{Amount: 0, ConsKey: v2cons.Public().Compressed()}), ErrZeroAmount)
	c.ok(c.signTx(v2, &Bond{Amount: 20_000 * BaseUnitsPerFLX, ConsKey: v2cons.Public().Compressed()}))
	c.fails(c.signTx(v2, &Bond{Amount: 1, ConsKey: testKey(3004).Public().Compressed()}), ErrConsKeyChange)
	if a := c.account(v2.Address()); a.Bonded != 20_000*BaseUnitsPerFLX {
		t.Fatalf("bonded %d", a.Bonded)
	}
	// The set changes only at the epoch boundary (height 10).
	if set, _ := c.l.ValidatorSet(); len(set.Validators) != 1 {
		t.Fatal("set changed before the epoch")
	}
	for c.l.Height() < 10 {
		c.block(1000)
	}
	set, _ := c.l.ValidatorSet()
	if len(set.Validators) != 2 || set.Validators[0].Account != v2.Address() {
		t.Fatalf("set after epoch: %+v", set)
	}
	// Unbond: stake leaves at once, the balance returns after UnbondingBlocks.
	c.fails(c.signTx(v2, &Unbond{Amount: 1 << 62}), ErrInsufficientStake)
	bal := c.account(v2.Address()).Balance
	c.ok(c.signTx(v2, &Unbond{Amount: 5_000 * BaseUnitsPerFLX}))
	start := c.l.Height()
	if a := c.account(v2.Address()); a.Bonded != 15_000*BaseUnitsPerFLX || a.UnbondingTotal() != 5_000*BaseUnitsPerFLX {
		t.Fatalf("after unbond %+v", a)
	}
	for c.l.Height() < start+c.g.Params.UnbondingBlocks-1 {
		c.block(1000)
	}
	if a := c.account(v2.Address()); a.UnbondingTotal() == 0 {
		t.Fatal("matured early")
	}
	c.block(1000)
	a := c.account(v2.Address())
	// Balance: -2 fees (unbond + the failed one) ... plus the returned 5,000 FLX
	// and any epoch rewards; check the unbonding is gone and the balance grew
	// by at least the unbonded amount minus fees.
	if a.UnbondingTotal() != 0 || a.Balance < bal+5_000*BaseUnitsPerFLX-2*c.g.Params.MinFee {
		t.Fatalf("after maturity %+v (balance before %d)", a, bal)
	}
}

func TestRegisterAndUpdateSite(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	owner, other := testKey(1), testKey(2)
	sk := testKey(5001)
	bal := c.account(owner.Address()).Balance
	c.ok(c.signTx(owner, c.registerPayload(owner, sk)))
	s := c.site(sk.Address())
	if s.Owner != owner.Address() || s.Deposit != c.g.Params.SiteDeposit || s.Zone != "CO-DEN" {
		t.Fatalf("site %+v", s)
	}
	if got := c.account(owner.Address()).Balance; got != bal-c.g.Params.SiteDeposit-c.g.Params.MinFee {
		t.Fatalf("deposit not taken: %d", got)
	}
	p := c.registerPayload(owner, sk)
	c.fails(c.signTx(owner, p), ErrSiteExists)

	sk2 := testKey(5002)
	// PoP made for another owner: the registrant does not prove the key.
	stolen := c.registerPayload(owner, sk2)
	c.fails(c.signTx(other, stolen), ErrBadPoP)
	bad := c.registerPayload(owner, sk2)
	bad.SiteKey = []byte{2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}
	c.fails(c.signTx(owner, bad), ErrBadSiteKey)
	zone := c.registerPayload(owner, sk2)
	zone.Zone = "de-north"
	c.fails(c.signTx(owner, zone), ErrBadZone)
	for name, devs := range map[string][]Device{
		"none":             {},
		"zero nameplate":   {{Kind: DevicePV}},
		"battery no store": {{Kind: DeviceBattery, NameplateW: 5000}},
		"pv with storage":  {{Kind: DevicePV, NameplateW: 5000, StorageWh: 10}},
		"too many devices": make17(),
	} {
		p := c.registerPayload(owner, sk2)
		p.Devices = devs
		rc := c.one(c.signTx(owner, p))
		if TxErrors[rc.Code] != ErrBadDevices {
			t.Fatalf("%s: %s", name, rc.Error)
		}
	}
	poor := testKey(78)
	c.ok(c.signTx(owner, &Transfer{To: poor.Address(), Amount: c.g.Params.MinFee + 1}))
	c.fails(c.signTx(poor, c.registerPayload(poor, sk2)), ErrInsufficientFunds)

	// Update: owner only.
	up := &UpdateSite{Site: sk.Address(), Zone: "CO-BLD", LatE6: 40_014_986, LonE6: -105_270_546,
		Devices: []Device{{Kind: DevicePV, NameplateW: 6000}}}
	c.fails(c.signTx(other, up), ErrNotSiteOwner)
	c.ok(c.signTx(owner, up))
	if s := c.site(sk.Address()); s.Zone != "CO-BLD" || len(s.Devices) != 1 || s.Deposit != c.g.Params.SiteDeposit {
		t.Fatalf("updated site %+v", s)
	}
	c.fails(c.signTx(owner, &UpdateSite{Site: testKey(5999).Address(), Zone: "X", Devices: up.Devices}), ErrUnknownSite)
}

func make17() []Device {
	d := make([]Device, 17)
	for i := range d {
		d[i] = Device{Kind: DeviceMeter, NameplateW: 1}
	}
	return d
}

// TestReadingRules has one case per reading rule. The clock is 2026-06-21
// at 18:00 UTC (noon in Golden, Colorado) unless a case says otherwise.
func TestReadingRules(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	owner := testKey(1)
	sk := c.registerSite(owner, 1)
	noon := uint64(18 * 4) // interval 72 = 18:00–18:15 UTC
	c.timeMs = c.intervalEndMs(noon) + 10_000
	sc := &siteChain{key: sk}

	send := func(rs ...meter.Reading) []ReadingResult {
		t.Helper()
		rc := c.ok(c.signTx(owner, &Readings{Readings: rs}))
		return rc.Readings
	}
	expect := func(name string, got []ReadingResult, want ...RejectReason) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d results", name, len(got))
		}
		for i := range want {
			if got[i].Reason != want[i] {
				t.Fatalf("%s: reading %d: %v, want %v", name, i, got[i].Reason, want[i])
			}
		}
	}
	// Plausible reading at noon: 4 kW PV may make up to 1000 Wh in 15 min.
	first := sc.next(noon-4, func(r *meter.Reading) { r.PVWh = 900; r.GridImportWh = 0; r.GridExportWh = 500 })
	expect("accepted", send(first), RejectNone)
	if s := c.site(sk.Address()); s.Counter != 1 || s.Accepted != 1 || s.PendingWh != 900 {
		t.Fatalf("site after first reading %+v", s)
	}
	expect("replay", send(first), RejectReplay)
	// A second reading for the same interval, properly chained: duplicate.
	dup := *sc
	expect("duplicate", send(dup.next(noon-4, nil)), RejectDuplicateInterval)
	// Out of order: an earlier interval.
	ooo := *sc
	expect("out of order", send(ooo.next(noon-5, nil)), RejectOutOfOrder)
	// From the future: not chained, and valid later as it is.
	fut := *sc
	future := fut.next(noon+8, nil)
	expect("future", send(future), RejectFuture)
	// A gap in the chain: counter skips one.
	gap := *sc
	gap.counter++
	expect("broken chain", send(gap.next(noon-3, nil)), RejectBrokenChain)
	// Wrong key, unknown site.
	forged := sc.clone()
	forged.key = testKey(5999)
	fr := forged.next(noon-3, nil)
	fr.Site = sk.Address()
	fr.Sign(testKey(5999), testChainID) // fails: key is not the site's
	fr2 := *sc
	badsig := fr2.next(noon-3, nil)
	badsig.Sig[10] ^= 1
	expect("bad signature", send(badsig), RejectBadSignature)
	unknown := &siteChain{key: testKey(5998)}
	expect("unknown site", send(unknown.next(noon-3, nil)), RejectUnknownSite)

	// Chained rejections: each advances the chain but counts nothing.
	chained := []struct {
		name   string
		mod    func(*meter.Reading)
		reason RejectReason
	}{
		{"pv above nameplate", func(r *meter.Reading) { r.PVWh = 1001 }, RejectPVAboveNameplate},
		{"battery power", func(r *meter.Reading) { r.BatteryChargeWh = 1251; r.GridImportWh = 1500 }, RejectBatteryPower},
		{"ev power", func(r *meter.Reading) { r.EVWh = 2751; r.GridImportWh = 3000 }, RejectEVPower},
		{"negative house load", func(r *meter.Reading) { r.GridExportWh = 400; r.GridImportWh = 0; r.PVWh = 100 }, RejectNegativeHouseLoad},
	}
	iv := noon - 3
	for _, cc := range chained {
		r := sc.next(iv, cc.mod)
		res := send(r)
		expect(cc.name, res, cc.reason)
		if !res[0].Chained {
			t.Fatalf("%s: not chained", cc.name)
		}
		iv++
	}
	if s := c.site(sk.Address()); s.Counter != 5 || s.Accepted != 1 {
		t.Fatalf("chain head after rejections %+v", s)
	}
	// Battery capacity (a tiny battery), at a second site; PV at night at
	// the end, when the clock reaches the night.
	sk2 := c.registerSite(owner, 2, Device{Kind: DevicePV, NameplateW: 4000}, Device{Kind: DeviceBattery, NameplateW: 10000, StorageWh: 1000})
	sc2 := &siteChain{key: sk2}
	expect("battery capacity", send(sc2.next(noon-3, func(r *meter.Reading) { r.BatteryDischargeWh = 1001 })), RejectBatteryCapacity)
	expect("zero pv", send(sc2.next(noon-2, nil)), RejectNone)
	// Devices absent.
	sk3 := c.registerSite(owner, 3, Device{Kind: DeviceMeter, NameplateW: 20000})
	sc3 := &siteChain{key: sk3}
	expect("no pv", send(sc3.next(noon-3, func(r *meter.Reading) { r.PVWh = 1 })), RejectPVNoDevice)
	expect("no battery", send(sc3.next(noon-2, func(r *meter.Reading) { r.BatterySoCPpm = 1 })), RejectBatteryNoDevice)
	expect("no charger", send(sc3.next(noon-1, func(r *meter.Reading) { r.EVWh = 1; r.GridImportWh = 10 })), RejectEVNoCharger)

	// Stale: the window is 16 intervals; move the clock 5 hours on.
	c.timeMs += 5 * 3600 * 1000
	expect("stale", send(sc3.next(noon, nil)), RejectStale)
	// The future reading from before is now in the past, but the chain has
	// moved on without it.
	expect("old future reading", send(future), RejectBrokenChain)

	// PV at night: 2026-06-22 06:00–06:15 UTC is just after midnight in Golden.
	midnight := uint64(96 + 24)
	c.timeMs = c.intervalEndMs(midnight) + 10_000
	expect("pv at night", send(sc2.next(midnight, func(r *meter.Reading) { r.PVWh = 10 })), RejectPVAtNight)
	c.timeMs = c.intervalEndMs(midnight+1) + 10_000
	expect("no pv at night is fine", send(sc2.next(midnight+1, nil)), RejectNone)
}

func (s *siteChain) clone() *siteChain { c := *s; return &c }

func TestRECIssueTransferRetire(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	owner, buyer := testKey(1), testKey(2)
	sk := c.registerSite(owner, 1)
	sc := &siteChain{key: sk}
	// 17:00–18:00 UTC is 11:00–12:00 in Golden: four readings of PV.
	h17 := uint64(17 * 4)
	c.timeMs = c.intervalEndMs(h17+3) + 1000
	var rs []meter.Reading
	for i := uint64(0); i < 4; i++ {
		rs = append(rs, sc.next(h17+i, func(r *meter.Reading) { r.PVWh = 700 + uint32(i); r.GridExportWh = 400; r.GridImportWh = 0 }))
	}
	c.ok(c.signTx(owner, &Readings{Readings: rs}))
	if s := c.site(sk.Address()); s.PendingWh != 2806 || s.CertifiedWh != 0 {
		t.Fatalf("pending %+v", s)
	}
	// A reading in the next hour makes hour 17 final at once.
	c.timeMs = c.intervalEndMs(h17 + 4)
	res := c.block(1000, c.signTx(owner, &Readings{Readings: []meter.Reading{sc.next(h17+4, func(r *meter.Reading) { r.PVWh = 50 })}}))
	var issued []Event
	for _, ev := range res.Events {
		if ev.Kind == EventRECIssued {
			issued = append(issued, ev)
		}
	}
	if len(issued) != 1 || issued[0].Wh != 2806 || issued[0].Account != owner.Address() {
		t.Fatalf("issued %+v", issued)
	}
	rec, ok, _ := c.l.REC(issued[0].ID)
	if !ok || rec.PeriodStart != testGenesisTime+17*3600 || rec.Technology != TechSolarPV || rec.Zone != "CO-DEN" {
		t.Fatalf("rec %+v", rec)
	}
	// Hour 18 has 50 Wh pending; after its window closes the sweep issues it.
	c.timeMs = c.intervalEndMs(h17+8+16) + 2000
	res = c.block(0)
	found := false
	for _, ev := range res.Events {
		found = found || (ev.Kind == EventRECIssued && ev.Wh == 50)
	}
	if !found {
		t.Fatalf("sweep did not certify hour 18: %+v", res.Events)
	}

	// Transfer part: the owner keeps 2806-1000, the buyer gets a new one.
	c.fails(c.signTx(buyer, &RECTransfer{ID: rec.ID, Wh: 1, To: buyer.Address()}), ErrSelfTransfer)
	c.fails(c.signTx(buyer, &RECTransfer{ID: rec.ID, Wh: 1, To: owner.Address()}), ErrNotRECOwner)
	c.fails(c.signTx(owner, &RECTransfer{ID: rec.ID, Wh: 2807, To: buyer.Address()}), ErrRECAmount)
	c.fails(c.signTx(owner, &RECTransfer{ID: 999, Wh: 1, To: buyer.Address()}), ErrUnknownREC)
	c.ok(c.signTx(owner, &RECTransfer{ID: rec.ID, Wh: 1000, To: buyer.Address()}))
	kept, _, _ := c.l.REC(rec.ID)
	child, ok, _ := c.l.REC(rec.ID + 2) // id+1 was the 50 Wh certificate
	if kept.Wh != 1806 || !ok || child.Wh != 1000 || child.Owner != buyer.Address() || child.Parent != rec.ID {
		t.Fatalf("after split: kept %+v child %+v", kept, child)
	}
	// Retire part of the child; the retired part never moves again.
	c.fails(c.signTx(buyer, &RECRetire{ID: child.ID, Wh: 10, Beneficiary: ""}), ErrBadBeneficiary)
	c.fails(c.signTx(buyer, &RECRetire{ID: child.ID, Wh: 10, Beneficiary: "bad\x00name"}), ErrBadBeneficiary)
	c.ok(c.signTx(buyer, &RECRetire{ID: child.ID, Wh: 400, Beneficiary: "Boulder Public Library, 2026"}))
	retired, _, _ := c.l.REC(child.ID + 1)
	if !retired.Retired || retired.Wh != 400 || retired.Beneficiary != "Boulder Public Library, 2026" {
		t.Fatalf("retired %+v", retired)
	}
	c.fails(c.signTx(buyer, &RECTransfer{ID: retired.ID, Wh: 1, To: owner.Address()}), ErrRECRetired)
	c.fails(c.signTx(buyer, &RECRetire{ID: retired.ID, Wh: 1, Beneficiary: "again"}), ErrRECRetired)
	// Retire a whole certificate.
	c.ok(c.signTx(buyer, &RECRetire{ID: child.ID, Wh: 600, Beneficiary: "me"}))
	if r, _, _ := c.l.REC(child.ID); !r.Retired {
		t.Fatal("whole retire")
	}
}

func TestRewardsAndSupply(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	for c.l.Height() < 30 {
		c.block(1000)
	}
	sup, _ := c.l.Supply()
	e1 := c.g.Params.InitialEmission
	e2 := e1 * (1_000_000 - uint64(c.g.Params.EmissionDecayPpm)) / 1_000_000
	e3 := e2 * (1_000_000 - uint64(c.g.Params.EmissionDecayPpm)) / 1_000_000
	if sup.Emitted != e1+e2+e3 {
		t.Fatalf("emitted %d, want %d", sup.Emitted, e1+e2+e3)
	}
	pool := c.account(FlexibilityPool).Balance
	valShare := func(e uint64) uint64 { return e * uint64(c.g.Params.ValidatorRewardPpm) / 1_000_000 }
	if pool != (e1-valShare(e1))+(e2-valShare(e2))+(e3-valShare(e3)) {
		t.Fatalf("flexibility pool %d", pool)
	}
	// Module accounts cannot send.
	if _, err := c.l.CheckTx([]byte{}); err == nil {
		t.Fatal("empty tx accepted")
	}
}

func TestEvidence(t *testing.T) {
	ev := &fakeEvidence{}
	c := newTestChain(t, nil, Options{Evidence: ev})
	reporter := testKey(1)
	for c.l.Height() < 3 {
		c.block(1000)
	}
	ev.cons, ev.height = validatorCons.Address(), 2
	bonded := c.account(validatorKey.Address()).Bonded
	c.ok(c.signTx(reporter, &Evidence{Data: []byte("double vote at 2")}))
	a := c.account(validatorKey.Address())
	slash := bonded * uint64(c.g.Params.DoubleSignSlashPpm) / 1_000_000
	if a.Bonded != bonded-slash || a.JailedUntil != c.l.Height()+c.g.Params.JailBlocks {
		t.Fatalf("after slash %+v", a)
	}
	if c.account(CommunityPool).Balance != slash {
		t.Fatal("slash not in the community pool")
	}
	c.fails(c.signTx(reporter, &Evidence{Data: []byte("same offence")}), ErrDuplicateEvidence)
	ev.err = errors.New("signatures do not match")
	c.fails(c.signTx(reporter, &Evidence{Data: []byte("junk")}), ErrBadEvidence)
	ev.err = nil
	ev.cons = testKey(4444).Address()
	ev.height = 3
	c.fails(c.signTx(reporter, &Evidence{Data: []byte("unknown key")}), ErrNotValidator)
	for c.l.Height() < 25 {
		c.block(1000)
	}
	ev.cons, ev.height = validatorCons.Address(), 3
	c.fails(c.signTx(reporter, &Evidence{Data: []byte("old")}), ErrEvidenceTooOld)

	noVerifier := newTestChain(t, nil, Options{})
	noVerifier.fails(noVerifier.signTx(reporter, &Evidence{Data: []byte("x")}), ErrNoEvidenceVerify)
}

type fakeEvidence struct {
	cons   wallet.Address
	height uint64
	err    error
}

func (f *fakeEvidence) VerifyEvidence(chainID string, data []byte, keyOf func(wallet.Address) (*wallet.PublicKey, bool)) (wallet.Address, uint64, error) {
	if chainID != testChainID {
		return wallet.Address{}, 0, errors.New("wrong chain")
	}
	return f.cons, f.height, f.err
}

// TestGenesisExample keeps testdata/genesis.example.json, the documented
// example of a genesis file, valid (regenerate with -rewrite).
func TestGenesisExample(t *testing.T) {
	const path = "testdata/genesis.example.json"
	if *rewriteGolden {
		g := testGenesis(func(g *Genesis) { g.Accounts = g.Accounts[:2]; g.Params = DefaultParams() })
		j, _ := g.JSON()
		if err := os.WriteFile(path, append(j, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := LoadGenesis(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.TempDir(), g, Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestMoreRejections covers the remaining rejection reasons.
func TestMoreRejections(t *testing.T) {
	c := newTestChain(t, testGenesis(func(g *Genesis) { g.Params.MaxReadingsPerTx = 2 }), Options{})
	alice := testKey(1)
	// A 33-byte string that is not a point on the curve.
	notAPoint := append([]byte{2}, make([]byte, 32)...)
	c.fails(c.signTx(alice, &Bond{Amount: 1, ConsKey: notAPoint}), ErrBadConsKey)
	c.fails(c.signTx(alice, &Readings{}), ErrNoReadings)
	sk := c.registerSite(alice, 1)
	sc := &siteChain{key: sk}
	c.timeMs = c.intervalEndMs(10) + 1000
	c.fails(c.signTx(alice, &Readings{Readings: []meter.Reading{sc.next(1, nil), sc.next(2, nil), sc.next(3, nil)}}), ErrTooManyReadings)
	// Too large to be included at all.
	big := &Tx{Nonce: c.nonces[alice.Address()], Fee: c.g.Params.MinFee, Payload: &Evidence{Data: make([]byte, 60<<10)}}
	big.Sign(alice, testChainID)
	small := newTestChain(t, testGenesis(func(g *Genesis) { g.Params.MaxTxBytes = 1024 }), Options{})
	if _, err := small.l.CheckTx(big.Encode()); !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("large tx: %v", err)
	}
	// Module accounts have no key, but a forged "From" is refused by the
	// signature; the rule that they cannot send stands on its own too.
	x := &executor{}
	if err := x.apply(nil, &Tx{From: CommunityPool, Payload: &Transfer{}}, &Receipt{}); !errors.Is(err, ErrModuleAccount) {
		t.Fatalf("module account: %v", err)
	}
}
