package baseline

import (
	"errors"
	"math/big"
	"testing"
)

// FuzzFloorMulDiv checks the one division against math/big.
func FuzzFloorMulDiv(f *testing.F) {
	f.Add(int64(-7), int64(1), int64(2))
	f.Add(int64(-9223372036854775808), int64(1), int64(3))
	f.Add(int64(9223372036854775807), int64(9223372036854775807), int64(9223372036854775807))
	f.Fuzz(func(t *testing.T, a, b, c int64) {
		got, err := FloorMulDiv(a, b, c)
		if c <= 0 {
			if !errors.Is(err, ErrDivideByZero) {
				t.Fatalf("c=%d: %v", c, err)
			}
			return
		}
		want := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		want.Div(want, big.NewInt(c)) // Euclidean = floor for c > 0
		if !want.IsInt64() {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("%d·%d/%d: want overflow, got %d %v", a, b, c, got, err)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("%d·%d/%d = %d %v, want %s", a, b, c, got, err, want)
		}
	})
}

// FuzzSettle feeds arbitrary numbers to SettleRequest: it must return an
// error or a balanced result whose delivered energy is the netted, floored
// sum of its deltas, never panic.
func FuzzSettle(f *testing.F) {
	f.Add(uint64(1000), int64(2000), int64(900), int64(500), int64(100), int64(0), uint64(250_000), int64(PPM), uint64(7), int64(500_000), int64(PPM), uint8(1))
	f.Add(uint64(1000), int64(2000), int64(900), int64(500), int64(100), int64(300), uint64(250_000), int64(PPM), uint64(7), int64(500_000), int64(PPM), uint8(0x81))
	f.Fuzz(func(t *testing.T, escrow uint64, w, l, base, imp, exp int64, price uint64, capPPM int64, bond uint64, thr, maxSlash int64, dir uint8) {
		// The high bit of dir adds a proof cap; 0x40 sets ForfeitMissing,
		// 0x20 makes the second reading missing.
		var proven []int64
		if dir&0x80 != 0 {
			proven = []int64{exp - imp, imp - base}
		}
		cs := []Commitment{
			{Direction: Direction(dir & 0x1f), IntervalSeconds: l, CommittedW: w, BaselineWh: []int64{base, base - imp},
				Actual: []Reading{{ImportWh: imp, ExportWh: exp}, {ImportWh: exp, Missing: dir&0x20 != 0}}, PriceBaseUnitsPerKWh: price,
				PayoutCapPPM: capPPM, BondBaseUnits: bond, ProvenWh: proven, ForfeitMissing: dir&0x40 != 0},
			{Direction: Down, IntervalSeconds: 900, CommittedW: 1000, NoBaseline: true, Actual: []Reading{{}},
				BondBaseUnits: bond >> 1},
		}
		rs, err := SettleRequest(escrow, cs, SlashSchedule{ThresholdPPM: thr, MaxSlashPPM: maxSlash})
		if err != nil {
			return
		}
		if rs.PayoutsBaseUnits > escrow {
			t.Fatalf("payouts %d > escrow %d", rs.PayoutsBaseUnits, escrow)
		}
		in := new(big.Int).Add(new(big.Int).SetUint64(escrow), new(big.Int).SetUint64(rs.BondsBaseUnits))
		out := new(big.Int).SetUint64(rs.PayoutsBaseUnits)
		out.Add(out, new(big.Int).SetUint64(rs.RefundBaseUnits))
		out.Add(out, new(big.Int).SetUint64(rs.SlashedBaseUnits))
		out.Add(out, new(big.Int).SetUint64(rs.BondsReturnedBaseUnits))
		if in.Cmp(out) != 0 {
			t.Fatalf("in %s out %s", in, out)
		}
		for i, st := range rs.Commitments {
			net := new(big.Int)
			for _, iv := range st.Intervals {
				net.Add(net, big.NewInt(iv.DeltaWh))
			}
			want := st.NetDeltaWh
			if st.Proven {
				want = min(want, st.ProvenNetWh)
			}
			if st.Status == Forfeited && (st.DeliveredWh != 0 || st.ClaimBaseUnits != 0 || !st.Reason.Forfeits()) {
				t.Fatalf("commitment %d: forfeited %+v", i, st)
			}
			if !net.IsInt64() || net.Int64() != st.NetDeltaWh || st.DeliveredWh != max(0, want) ||
				(st.Status == NoBaseline && st.NetDeltaWh != 0) {
				t.Fatalf("commitment %d: Σ deltas %s, net %d, delivered %d", i, net, st.NetDeltaWh, st.DeliveredWh)
			}
		}
	})
}

// FuzzBaselines runs every method on arbitrary histories, windows and
// parameters: an error or a baseline of the window's length, never a panic.
func FuzzBaselines(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, int64(0), int64(3600), int64(-21600), int64(200), int64(4), int64(1), uint8(10), uint8(10), int64(200_000), int64(3600), int64(10800), uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, first, intervalSec, offset, start, length, postedBack int64, x, y uint8, capPPM, gap, span int64, adj uint8) {
		c := Calendar{GenesisUnix: 1_700_000_000 - 1_700_000_000%86400 - offset, IntervalSeconds: intervalSec, UTCOffsetSeconds: offset,
			Holidays: []int64{19700, 19701}}
		s := Series{First: first, Wh: make([]int64, len(raw)*8), Missing: make([]bool, len(raw)*8)}
		for k := range s.Wh {
			s.Wh[k] = int64(raw[k/8]) * int64(k%7-2) * 97
			s.Missing[k] = raw[k/8]>>(k%8)&1 == 1 && raw[k/8]&0x80 != 0
		}
		e := Event{Start: start, End: start + length, Posted: start - postedBack}
		p := DayMatchParams{Weekday: DayCount{X: int(x % 12), Y: int(y % 12)}, WeekendHoliday: DayCount{X: 1, Y: 2},
			LookbackDays: 20, LowUsagePPM: 250_000, Adjustment: AdjustmentKind(adj % 4), AdjustGapSeconds: gap,
			AdjustSpanSeconds: span, AdjustCapPPM: capPPM, SplitWeekend: adj&4 != 0, AdjustAfterPosting: adj&8 != 0, StrictMissing: adj&16 != 0}
		dp := DefaultDevice()
		dp.StrictMissing = adj&16 != 0
		for _, f := range []func() (Result, error){
			func() (Result, error) { return XofY(s, e, c, p) },
			func() (Result, error) { return HighXofY(s, e, c, p) },
			func() (Result, error) { return DeviceProfile(s, e, c, dp) },
		} {
			r, err := f()
			if err == nil && int64(len(r.BaselineWh)) != length {
				t.Fatalf("%d baseline values for a window of %d", len(r.BaselineWh), length)
			}
		}
	})
}
