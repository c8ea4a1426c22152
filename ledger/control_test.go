package ledger

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// ctlTerms is flexTerms with a control group of a quarter of the sites and
// a participation payment of a quarter of compliance, for 12 sites of 1 kW.
func ctlTerms() FlexTerms {
	t := flexTerms()
	t.TargetW = 12_000
	t.ControlSharePPM, t.ControlPayPPM = 250_000, 250_000
	return t
}

// TestControlEndToEnd: 12 homes of a flat 250 Wh per interval commit 1 kW
// each to a request with a control group of 25 %. On the event day a hot
// afternoon raises every home's load to 300 Wh in the window, which the
// baseline (250 Wh, no day-of adjustment for a request posted that
// morning) does not see. One block after the deadline the chain splits the
// sites from the closing block's hash and tells each; the 3 control homes
// carry on (placebo −800 Wh each), the dispatched homes but one cut to 200
// Wh (a true delivery of 1,600 Wh, which the bare baseline calls 800 Wh),
// and one dispatched home does nothing (the bare baseline: −800 Wh). The
// control estimate (−800 Wh) corrects each: 1,600 Wh delivered and 0 for
// the idle home. Control homes get the participation payment and their bonds
// back; the audit recomputes the split from the blocks and the settlement
// from the readings.
func TestControlEndToEnd(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	utility, owner := testKey(1), testKey(2)
	var sites []*siteChain
	for i := 0; i < 12; i++ {
		sites = append(sites, &siteChain{key: c.registerSite(owner, 100+i)})
	}
	flat := func(int, uint64) uint32 { return 250 }
	c.check = false // the history: the invariants are checked from the request on
	c.feed(owner, sites, 0, eventDay*perDay+32, flat)
	c.check = true
	c.checkInvariants()
	terms := ctlTerms()
	rc := c.ok(c.signTx(utility, &FlexRequestTx{Terms: terms}))
	if rc.Type != TxFlexRequestControl {
		t.Fatalf("request type %v", rc.Type)
	}
	for _, s := range sites {
		c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: s.key.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
	}
	// Up to the deadline (evStart − 4): the last block of this feed is in
	// the deadline's interval, so it closes the commitments.
	c.feed(owner, sites, eventDay*perDay+32, evStart-4, flat)
	req, _, _ := c.l.FlexRequest(1)
	if req.ClosedHeight != c.l.Height() || req.SplitHeight != 0 || req.Control != nil {
		t.Fatalf("after the deadline: closed %d split %d at height %d", req.ClosedHeight, req.SplitHeight, c.l.Height())
	}
	late := &siteChain{key: c.registerSite(owner, 200)}
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: late.key.Address(), CommittedW: 1000, BondBaseUnits: 100_000}), ErrDeadlinePassed)
	// The next block splits (the failed commit above was that block: check
	// its events).
	req, _, _ = c.l.FlexRequest(1)
	closed, _ := c.l.Block(req.ClosedHeight)
	if req.SplitHeight != req.ClosedHeight+1 || req.Seed != FlexControlSeed(testChainID, 1, closed.Hash()) {
		t.Fatalf("split at %d (closed %d), seed %x", req.SplitHeight, req.ClosedHeight, req.Seed)
	}
	res, _ := c.l.Results(req.SplitHeight)
	told := map[wallet.Address]EventKind{}
	for _, ev := range res.Events {
		if ev.Kind == EventFlexDispatched || ev.Kind == EventFlexControl {
			told[ev.Site] = ev.Kind
		}
	}
	nControl := 0
	for i, cm := range req.Commitments {
		want := EventFlexDispatched
		if req.Control[i] {
			want = EventFlexControl
			nControl++
		}
		if told[cm.Site] != want {
			t.Fatalf("site %d told %v, control %v", i, told[cm.Site], req.Control[i])
		}
		if split, ctl := req.Side(cm.Site); !split || ctl != req.Control[i] {
			t.Fatalf("site %d: Side %v %v", i, split, ctl)
		}
	}
	if nControl != 3 {
		t.Fatalf("%d control sites of 12 at 25 %%", nControl)
	}
	// The window: each site acts on what it was told.
	control := map[wallet.Address]bool{}
	for i, cm := range req.Commitments {
		control[cm.Site] = req.Control[i]
	}
	idle := -1
	for i, s := range sites {
		if !control[s.key.Address()] {
			idle = i // the last dispatched site does nothing
		}
	}
	load := func(s int, i uint64) uint32 {
		if i < evStart || i >= evEnd {
			return 250
		}
		if control[sites[s].key.Address()] || s == idle {
			return 300
		}
		return 200
	}
	c.feed(owner, sites, evStart-4, (eventDay+1)*perDay, load)
	fs, ok, _ := c.l.FlexSettlement(1)
	if !ok || !fs.HasControl || !fs.ControlApplied || fs.ControlPlacebos != 3 || fs.ControlUsed != 1 || fs.ControlEstimateWh != -800 {
		t.Fatalf("settlement control: %+v", fs)
	}
	for _, cr := range fs.Commitments {
		switch {
		case cr.Control:
			if cr.Status != uint8(baseline.Control) || cr.NetDeltaWh != -800 || cr.DeliveredWh != 0 ||
				cr.PayoutBaseUnits != 200_000 || cr.SlashBaseUnits != 0 || cr.BondReturnedBaseUnits != 100_000 {
				t.Fatalf("control site %+v", cr)
			}
		case cr.Site == sites[idle].key.Address():
			if cr.NetDeltaWh != -800 || cr.CorrectionWh != -800 || cr.DeliveredWh != 0 || cr.SlashBaseUnits != 100_000 {
				t.Fatalf("idle dispatched site %+v", cr)
			}
		default:
			if cr.NetDeltaWh != 800 || cr.CorrectionWh != -800 || cr.DeliveredWh != 1600 || cr.PayoutBaseUnits != 320_000 {
				t.Fatalf("dispatched site %+v", cr)
			}
		}
	}
	a, err := c.l.AuditRequest(1)
	if err != nil || !a.Match || a.Split == nil || !a.Split.Match || !slices.Equal(a.Split.Control, req.Control) {
		t.Fatalf("audit: %v %+v", err, a)
	}
	// A split or seed other than the blocks give is found.
	for name, mod := range map[string]func(*FlexRequest){
		"a flag flipped": func(r *FlexRequest) { r.Control = slices.Clone(r.Control); r.Control[0] = !r.Control[0] },
		"another seed":   func(r *FlexRequest) { r.Seed[0] ^= 1 },
		"closed early":   func(r *FlexRequest) { r.ClosedHeight, r.SplitHeight = r.ClosedHeight-1, r.SplitHeight-1 },
	} {
		x := req
		mod(&x)
		if sa, err := c.l.AuditSplit(&x); err != nil || sa.Match {
			t.Errorf("%s: audit %+v %v", name, sa, err)
		}
	}
	// The stored request and settlement round-trip through their decoders.
	var r2 FlexRequest
	if err := codec.Decode(codec.Encode(&req), &r2); err != nil || !bytes.Equal(codec.Encode(&r2), codec.Encode(&req)) {
		t.Fatalf("request round trip: %v", err)
	}
	var f2 FlexSettlement
	if err := codec.Decode(codec.Encode(&fs), &f2); err != nil || !bytes.Equal(codec.Encode(&f2), codec.Encode(&fs)) {
		t.Fatalf("settlement round trip: %v", err)
	}
}

// TestControlTermsRules: the control terms' bounds, including the one that
// makes committing with no intent to deliver a losing bet.
func TestControlTermsRules(t *testing.T) {
	p := DefaultParams() // bond ≥ 10 %, the whole bond slashed at 0
	for _, tc := range []struct {
		share, pay uint32
		deadline   uint64
		ok         bool
	}{
		{250_000, 250_000, evStart - 4, true},
		{250_000, 300_000, evStart - 4, true},  // (1 − .25)·.1·1 / .25 = .3: the bound itself
		{250_000, 300_001, evStart - 4, false}, // a non-responder would expect a gain
		{100_000, 900_000, evStart - 4, true},
		{100_000, 900_001, evStart - 4, false},
		{10_000, 1_000_000, evStart - 4, true},
		{10_000, 1_000_001, evStart - 4, false}, // never more than compliance
		{500_001, 0, evStart - 4, false},        // at most half held back
		{0, 1, evStart - 4, false},              // a payment without a group
		{250_000, 0, evStart, false},            // the split must come before the window
	} {
		terms := flexTerms()
		terms.ControlSharePPM, terms.ControlPayPPM, terms.Deadline = tc.share, tc.pay, tc.deadline
		err := ValidateFlexTerms(&terms, &p, testGenesisTime)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrFlexTerms) {
			t.Errorf("share %d pay %d deadline %d: %v", tc.share, tc.pay, tc.deadline, err)
		}
	}
}

// TestControlEncodings: a request without a control group encodes exactly
// as before (tx type flex_request, FlexRequest v1, settlement v3); with one
// it takes the new forms, and the decoders refuse the non-canonical mixes.
func TestControlEncodings(t *testing.T) {
	plain := flexTerms()
	if (&FlexRequestTx{Terms: plain}).Type() != TxFlexRequest {
		t.Fatal("plain request type")
	}
	if b := codec.Encode(&FlexRequest{Terms: plain}); b[0] != 1 {
		t.Fatalf("plain request version %d", b[0])
	}
	if b := codec.Encode(&FlexSettlement{}); b[0] != 3 {
		t.Fatalf("plain settlement version %d", b[0])
	}
	ctl := ctlTerms()
	k := testKey(1)
	tx := &Tx{Nonce: 3, Fee: 1, Payload: &FlexRequestTx{Terms: ctl}}
	if err := tx.Sign(k, testChainID); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeTx(tx.Encode())
	if err != nil || got.Payload.(*FlexRequestTx).Terms.ControlSharePPM != ctl.ControlSharePPM || !bytes.Equal(got.Encode(), tx.Encode()) {
		t.Fatalf("control request tx: %v", err)
	}
	// A flex_request_control payload with a share of 0 is not canonical.
	zero := &Tx{Nonce: 3, Fee: 1, Payload: &FlexRequestTx{Terms: plain}}
	zero.Sign(k, testChainID)
	raw := zero.Encode()
	raw[1] = byte(TxFlexRequestControl)
	sigAt := len(raw) - 65
	bad := append(append(slices.Clone(raw[:sigAt]), make([]byte, 8)...), raw[sigAt:]...)
	if _, err := DecodeTx(bad); err == nil {
		t.Fatal("a control request tx with a share of 0 decoded")
	}
	// FlexRequest v2 with a share of 0, or a split without a close.
	r := FlexRequest{ID: 1, Terms: ctl, Commitments: []FlexCommitment{{CommittedW: 1}}, ClosedHeight: 7, SplitHeight: 8, Control: []bool{true}}
	var back FlexRequest
	if err := codec.Decode(codec.Encode(&r), &back); err != nil || !bytes.Equal(codec.Encode(&back), codec.Encode(&r)) {
		t.Fatalf("v2 round trip: %v", err)
	}
	for name, mod := range map[string]func(*FlexRequest){
		"split not after close": func(r *FlexRequest) { r.SplitHeight = 9 },
		"split without close":   func(r *FlexRequest) { r.ClosedHeight = 0 },
	} {
		x := r
		mod(&x)
		if err := codec.Decode(codec.Encode(&x), &back); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// A settlement v4 whose control site carries a correction.
	fs := FlexSettlement{HasControl: true, ControlPlacebos: 3, ControlUsed: 1, ControlApplied: true, ControlEstimateWh: -5,
		Commitments: []FlexCommitmentResult{{Control: true, CorrectionWh: -5}}}
	var fb FlexSettlement
	if err := codec.Decode(codec.Encode(&fs), &fb); err == nil {
		t.Fatal("a control site with a correction decoded")
	}
	fs.Commitments[0].Control = false
	if err := codec.Decode(codec.Encode(&fs), &fb); err != nil || !bytes.Equal(codec.Encode(&fb), codec.Encode(&fs)) {
		t.Fatalf("v4 round trip: %v", err)
	}
	fs.ControlApplied = false
	if err := codec.Decode(codec.Encode(&fs), &fb); err == nil {
		t.Fatal("an estimate not applied from 3 placebos decoded")
	}
}

// TestControlSplitDeterministic: the split is a function of the seed and
// the set of sites only — not the order of the commitments, their watts or
// their bonds, which are every choice a site makes at commit time — and
// exactly ⌊n · share⌋ sites are control.
func TestControlSplitDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 17))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(60)
		var cms []FlexCommitment
		for i := 0; i < n; i++ {
			var a wallet.Address
			for j := range a {
				a[j] = byte(rng.Uint32())
			}
			cms = append(cms, FlexCommitment{Site: a, CommittedW: 1 + rng.Uint64N(5000), BondBaseUnits: rng.Uint64N(1e6)})
		}
		var seed [32]byte
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		share := uint32(rng.IntN(FlexMaxControlSharePPM + 1))
		ctl, err := FlexControlSplit(cms, seed, share)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		in := map[wallet.Address]bool{}
		for i, b := range ctl {
			if b {
				k++
				in[cms[i].Site] = true
			}
		}
		if k != n*int(share)/1_000_000 {
			t.Fatalf("trial %d: %d control of %d at %d ppm", trial, k, n, share)
		}
		// Another order, other watts and bonds: the same sites.
		perm := slices.Clone(cms)
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for i := range perm {
			perm[i].CommittedW, perm[i].BondBaseUnits = 1+rng.Uint64N(5000), rng.Uint64N(1e6)
		}
		ctl2, _ := FlexControlSplit(perm, seed, share)
		for i, b := range ctl2 {
			if b != in[perm[i].Site] {
				t.Fatalf("trial %d: the split changed with the order, watts or bonds", trial)
			}
		}
	}
}

// TestControlSplitUnpredictable: the seed comes from the hash of the block
// that closed the commitments, made after the last one was accepted. Over
// 400 different closing-block hashes, every one of 20 sites is control in
// about a quarter of the splits (no site can place itself), and the
// splits differ (the hash decides). One block hash more or less changes the
// split: a site committing cannot know it.
func TestControlSplitUnpredictable(t *testing.T) {
	var cms []FlexCommitment
	for i := 0; i < 20; i++ {
		cms = append(cms, FlexCommitment{Site: testKey(5000 + i).Address()})
	}
	counts := make([]int, len(cms))
	splits := map[string]bool{}
	const trials = 400
	for h := 0; h < trials; h++ {
		var hash [32]byte
		hash[0], hash[1] = byte(h), byte(h>>8)
		ctl, err := FlexControlSplit(cms, FlexControlSeed(testChainID, 1, hash), 250_000)
		if err != nil {
			t.Fatal(err)
		}
		key := ""
		for i, b := range ctl {
			if b {
				counts[i]++
				key += "1"
			} else {
				key += "0"
			}
		}
		splits[key] = true
	}
	// Expected 100 of 400; a binomial(400, 1/4) is within ±45 of it with
	// probability above 1 − 10^-6 per site.
	for i, n := range counts {
		if n < 55 || n > 145 {
			t.Errorf("site %d control in %d of %d splits", i, n, trials)
		}
	}
	if len(splits) < trials*9/10 {
		t.Errorf("only %d distinct splits of %d hashes", len(splits), trials)
	}
	// The chain id and the request id are in the seed too.
	var h [32]byte
	if FlexControlSeed(testChainID, 1, h) == FlexControlSeed(testChainID, 2, h) || FlexControlSeed(testChainID, 1, h) == FlexControlSeed("other", 1, h) {
		t.Fatal("seed ignores the request or the chain")
	}
}

// ctlSettle settles a request of synthetic flat homes (250 Wh, a
// window load of windowWh[s]) with the given control flags; committed[s]
// and bond[s] are site s's commit-time choices.
func ctlSettle(t *testing.T, control []bool, windowWh []int64, committed []uint64, bond []uint64) *FlexSettlement {
	t.Helper()
	p := DefaultParams()
	terms := mdTerms()
	terms.TargetW = 100_000
	terms.ControlSharePPM, terms.ControlPayPPM = 250_000, 300_000
	cal := FlexCalendar(mdGenesis, &p, &terms)
	bp := FlexBaselineParams(terms.Rules)
	escrow, err := MaxPayoutChecked(terms.TargetW, terms.End-terms.Start, terms.PriceBaseUnitsPerKWh, &p)
	if err != nil {
		t.Fatal(err)
	}
	req := &FlexRequest{ID: 1, Terms: terms, PostedInterval: mdPosted, EscrowBaseUnits: escrow, Status: FlexOpen,
		ClosedHeight: 10, SplitHeight: 11, Control: control}
	var inputs []FlexInputs
	for s := range control {
		var a wallet.Address
		a[0] = byte(s + 1)
		req.Commitments = append(req.Commitments, FlexCommitment{Site: a, CommittedW: committed[s], BondBaseUnits: bond[s]})
		w := windowWh[s]
		inputs = append(inputs, BuildFlexInputs(&req.Terms, mdPosted, nil, cal, bp, p.FlexGuardIntervals, func(i int64) (int64, int64, int64, int64, bool) {
			if i < 0 || i >= int64(terms.End) {
				return 0, 0, 0, 0, false
			}
			if i >= int64(terms.Start) {
				if w < 0 {
					return 0, -w, 0, 0, true
				}
				return w, 0, 0, 0, true
			}
			return 250, 0, 0, 0, true
		}))
	}
	fs, err := SettleFlex(req, inputs, cal, &p)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestControlNoGainFromCommitChoices: a site that commits with no intent to
// deliver (its load stays as it was) expects to lose, whatever it chooses
// at commit time (watts, bond at or above the minimum): over every split
// of 8 sites with 2 control (all 28 of them, each equally likely under an
// unknown seed), the participation it is paid as control never exceeds
// the bond it loses when dispatched. And an honest site that complies is
// paid more dispatched than as control.
func TestControlNoGainFromCommitChoices(t *testing.T) {
	p := DefaultParams()
	const n = 8
	for _, w := range []uint64{500, 1000, 4000, 8000} {
		most := MaxPayout(w, mdEnd-mdStart, 200_000, &p)
		minBond := most * uint64(p.FlexMinBondPpm) / 1_000_000
		for _, bond := range []uint64{minBond, 2 * minBond, most} {
			var sum int64 // Σ over splits of site 0's money in − money out
			var honestDispatched, honestControl uint64
			splits := 0
			for a := 0; a < n; a++ {
				for b := a + 1; b < n; b++ {
					control := make([]bool, n)
					control[a], control[b] = true, true
					window := make([]int64, n)
					committed := make([]uint64, n)
					bonds := make([]uint64, n)
					for s := range window {
						window[s], committed[s], bonds[s] = 250, 1000, 100_000
					}
					committed[0], bonds[0] = w, bond
					fs := ctlSettle(t, control, window, committed, bonds)
					r := fs.Commitments[0]
					sum += int64(r.PayoutBaseUnits) - int64(r.SlashBaseUnits)
					splits++
					if a == 1 && b == 2 || a == 0 && b == 1 {
						// The same split with site 0 complying in full.
						window[0] = 250 - int64(w)/4
						fh := ctlSettle(t, control, window, committed, bonds)
						if control[0] {
							honestControl = fh.Commitments[0].PayoutBaseUnits
						} else {
							honestDispatched = fh.Commitments[0].PayoutBaseUnits
						}
					}
				}
			}
			if splits != 28 {
				t.Fatalf("%d splits", splits)
			}
			if sum > 0 {
				t.Errorf("%d W, bond %d: a non-responder expects +%d base units per commitment", w, bond, sum/int64(splits))
			}
			if honestControl == 0 || honestControl > honestDispatched {
				t.Errorf("%d W: complying pays %d dispatched, %d as control", w, honestDispatched, honestControl)
			}
		}
	}
}
