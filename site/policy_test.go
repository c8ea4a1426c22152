package site

import (
	"testing"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// The policy tests' world: 15-minute intervals from 2026-01-01 00:00 UTC; a
// request for 10 kW down from 18:00 to 20:00 UTC on day 2 (intervals
// 168..175) at 0.3 FLX/kWh; a home with a 5 kW / 10 kWh battery at 80 %
// and a 1 kW flexible load.
func policyWorld() (*Policy, *ledger.FlexRequest, *Situation) {
	params := ledger.DefaultParams()
	p := &Policy{
		Directions: []baseline.Direction{baseline.Down, baseline.Up},
		Methods:    []baseline.Method{baseline.MethodXofY, baseline.MethodDevice},
		MaxCommitW: 8000, MaxBondBaseUnits: 1_000_000, MinPriceBaseUnitsPerKWh: 100_000,
		BatteryReservePpm: 200_000,
	}
	r := &ledger.FlexRequest{ID: 7, Status: ledger.FlexOpen, Terms: ledger.FlexTerms{
		Zone: "zone-a", Direction: uint8(baseline.Down), Start: 96 + 72, End: 96 + 80, TargetW: 10_000,
		PriceBaseUnitsPerKWh: 300_000, Deadline: 96 + 64, Method: uint8(baseline.MethodXofY),
	}}
	s := &Situation{
		Site: wallet.Address{0x42}, Zone: "zone-a", NowInterval: 96 + 40, GenesisUnix: 1_767_225_600,
		Params: &params, BatteryW: 5000, BatteryWh: 10_000, BatterySoCPpm: 800_000, FlexibleLoadW: 1000,
	}
	return p, r, s
}

func minBond(t *testing.T, w uint64, r *ledger.FlexRequest, s *Situation) uint64 {
	t.Helper()
	most, err := ledger.MaxPayoutChecked(w, r.Terms.End-r.Terms.Start, r.Terms.PriceBaseUnitsPerKWh, s.Params)
	if err != nil {
		t.Fatal(err)
	}
	return most * uint64(s.Params.FlexMinBondPpm) / 1_000_000
}

func TestDecideCommits(t *testing.T) {
	p, r, s := policyWorld()
	d := Decide(p, r, s)
	// Down: 6 kWh above the 20 % reserve last 2 h at 3 kW, plus the 1 kW
	// load: 4 kW. Its payout is at most 300,000 × 8 × 1 kWh / 1 = 2.4 FLX;
	// the minimum bond is 10 % of that.
	if d.Reason != ReasonCommit || d.Tx.CommittedW != 4000 || d.Tx.BondBaseUnits != 240_000 ||
		d.Tx.RequestID != 7 || d.Tx.Site != s.Site {
		t.Fatalf("down: %v %+v", d.Reason, d.Tx)
	}
	// Up: 2 kWh of room below full over 2 h is 1 kW, plus the load.
	r.Terms.Direction = uint8(baseline.Up)
	if d := Decide(p, r, s); d.Reason != ReasonCommit || d.Tx.CommittedW != 2000 {
		t.Fatalf("up: %v %+v", d.Reason, d.Tx)
	}
	r.Terms.Direction = uint8(baseline.Down)
	// The policy's kW, then the request's unmet target, bound it.
	p.MaxCommitW = 2500
	if d := Decide(p, r, s); d.Tx.CommittedW != 2500 {
		t.Fatalf("policy cap: %+v", d.Tx)
	}
	p.MaxCommitW = 8000
	r.CommittedW = 9000
	if d := Decide(p, r, s); d.Tx.CommittedW != 1000 {
		t.Fatalf("unmet target: %+v", d.Tx)
	}
	r.CommittedW = 0
	// A battery at its reserve gives only the load.
	s.BatterySoCPpm = 200_000
	if d := Decide(p, r, s); d.Tx.CommittedW != 1000 {
		t.Fatalf("at reserve: %+v", d.Tx)
	}
	s.BatterySoCPpm = 800_000
	// A small bond budget lowers the commitment to the largest one whose
	// minimum bond fits.
	p.MaxBondBaseUnits = 120_000
	d = Decide(p, r, s)
	if d.Reason != ReasonCommit || d.Tx.BondBaseUnits > 120_000 || d.Tx.BondBaseUnits != minBond(t, d.Tx.CommittedW, r, s) ||
		minBond(t, d.Tx.CommittedW+1, r, s) <= 120_000 {
		t.Fatalf("bond budget: %+v (bond of +1 W %d)", d.Tx, minBond(t, d.Tx.CommittedW+1, r, s))
	}
	t.Logf("bond budget 0.12 FLX: %d W, bond %d", d.Tx.CommittedW, d.Tx.BondBaseUnits)
	// And every commitment's bond is what the ledger asks.
	if d := Decide(&Policy{Directions: p.Directions, Methods: p.Methods, MaxCommitW: 3333, MaxBondBaseUnits: 1 << 40}, r, s); d.Tx.BondBaseUnits != minBond(t, 3333, r, s) {
		t.Fatalf("bond %d, ledger minimum %d", d.Tx.BondBaseUnits, minBond(t, 3333, r, s))
	}
}

func TestDecideDeclines(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(p *Policy, r *ledger.FlexRequest, s *Situation)
		want Reason
	}{
		{"zero policy", func(p *Policy, _ *ledger.FlexRequest, _ *Situation) { *p = Policy{} }, ReasonDirection},
		{"settled", func(_ *Policy, r *ledger.FlexRequest, _ *Situation) { r.Status = ledger.FlexSettled }, ReasonNotOpen},
		{"zone", func(_ *Policy, _ *ledger.FlexRequest, s *Situation) { s.Zone = "zone-b" }, ReasonWrongZone},
		{"deadline", func(_ *Policy, r *ledger.FlexRequest, s *Situation) { s.NowInterval = r.Terms.Deadline }, ReasonDeadline},
		{"already", func(_ *Policy, r *ledger.FlexRequest, s *Situation) {
			r.Commitments = []ledger.FlexCommitment{{Site: wallet.Address{0x01}}, {Site: s.Site}, {Site: wallet.Address{0x99}}}
		}, ReasonAlreadyIn},
		{"direction", func(p *Policy, _ *ledger.FlexRequest, _ *Situation) { p.Directions = []baseline.Direction{baseline.Up} }, ReasonDirection},
		{"method", func(_ *Policy, r *ledger.FlexRequest, _ *Situation) { r.Terms.Method = uint8(baseline.MethodHighXofY) }, ReasonMethod},
		{"price", func(_ *Policy, r *ledger.FlexRequest, _ *Situation) { r.Terms.PriceBaseUnitsPerKWh = 99_999 }, ReasonPrice},
		{"empty window", func(_ *Policy, r *ledger.FlexRequest, _ *Situation) { r.Terms.End = r.Terms.Start }, ReasonWindow},
		{"long window", func(_ *Policy, r *ledger.FlexRequest, _ *Situation) { r.Terms.End = r.Terms.Start + 97 }, ReasonWindow},
		{"quiet evening", func(p *Policy, _ *ledger.FlexRequest, _ *Situation) { p.QuietHours = []HourRange{{19, 21}} }, ReasonQuietHours},
		{"quiet night, local time", func(p *Policy, _ *ledger.FlexRequest, s *Situation) {
			p.QuietHours = []HourRange{{22, 6}}
			s.UTCOffsetSeconds = 4 * 3600 // 18:00 UTC is 22:00 here
		}, ReasonQuietHours},
		{"busy", func(_ *Policy, r *ledger.FlexRequest, s *Situation) {
			s.Busy = [][2]uint64{{r.Terms.End - 1, r.Terms.End + 4}}
		}, ReasonBusy},
		{"full", func(_ *Policy, r *ledger.FlexRequest, _ *Situation) { r.CommittedW = r.Terms.TargetW }, ReasonFull},
		{"no capacity", func(_ *Policy, _ *ledger.FlexRequest, s *Situation) { s.BatteryW, s.FlexibleLoadW = 0, 3 }, ReasonNoCapacity},
		{"bond", func(p *Policy, _ *ledger.FlexRequest, _ *Situation) { p.MaxBondBaseUnits = 100 }, ReasonBond},
	} {
		p, r, s := policyWorld()
		c.mod(p, r, s)
		if d := Decide(p, r, s); d.Reason != c.want || d.Tx != (ledger.FlexCommitTx{}) {
			t.Errorf("%s: %v %+v, want %v", c.name, d.Reason, d.Tx, c.want)
		}
	}
	// Quiet hours that miss the window, and a busy window that ends where
	// this one starts, do not decline.
	p, r, s := policyWorld()
	p.QuietHours = []HourRange{{22, 6}, {20, 21}}
	s.Busy = [][2]uint64{{r.Terms.Start - 4, r.Terms.Start}}
	if d := Decide(p, r, s); d.Reason != ReasonCommit {
		t.Fatalf("quiet hours outside the window: %v", d.Reason)
	}
	if ReasonBond.String() != "bond too high" || Reason(200).String() != "Reason(200)" {
		t.Fatal("reason names")
	}
}

// TestDecideExtremes: huge policy and home figures neither overflow nor
// panic, and the commitment never exceeds the request's target.
func TestDecideExtremes(t *testing.T) {
	p, r, s := policyWorld()
	p.MaxCommitW, p.MaxBondBaseUnits = ^uint64(0), ^uint64(0)
	s.BatteryW, s.BatteryWh, s.FlexibleLoadW = ^uint64(0), ^uint64(0), ^uint64(0)
	r.Terms.TargetW = 1 << 40
	d := Decide(p, r, s)
	if d.Reason != ReasonCommit || d.Tx.CommittedW > r.Terms.TargetW {
		t.Fatalf("%v %+v", d.Reason, d.Tx)
	}
}
