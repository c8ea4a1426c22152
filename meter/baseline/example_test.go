package baseline_test

import (
	"fmt"

	"github.com/gridmint/gridmint/meter/baseline"
)

// How the ledger and `gridmint mv` use the package: a baseline from the
// site's history, then the settlement of its commitment.
func Example() {
	// Hourly intervals, local time UTC+1, genesis at local midnight of
	// Monday 2026-11-02.
	cal := baseline.Calendar{GenesisUnix: 1793577600 - 3600, IntervalSeconds: 3600, UTCOffsetSeconds: 3600}
	// 15 days of net load: 800 Wh an hour, 1200 Wh from 17:00 to 19:00.
	hist := baseline.Series{Wh: make([]int64, 15*24)}
	for i := range hist.Wh {
		hist.Wh[i] = 800
		if h := i % 24; h >= 17 && h < 19 {
			hist.Wh[i] = 1200
		}
	}
	// Event: Monday 2026-11-16 (day 14) 17:00–19:00, posted the day before.
	ev := baseline.Event{Start: 14*24 + 17, End: 14*24 + 19, Posted: 13*24 + 9}
	res, err := baseline.XofY(hist, ev, cal, baseline.DefaultXofY())
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := baseline.Settle(baseline.Commitment{
		Direction: baseline.Down, IntervalSeconds: 3600, CommittedW: 500,
		BaselineWh: res.BaselineWh,
		Actual:     []baseline.Reading{{ImportWh: 650}, {ImportWh: 900, ExportWh: 100}},
		// 0.2 FLX per kWh, paid up to the commitment, 1 FLX bond.
		PriceBaseUnitsPerKWh: 200_000, PayoutCapPPM: baseline.PPM, BondBaseUnits: 1_000_000,
	}, baseline.DefaultSlash())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("days averaged:", len(res.Selected), "adjustment:", res.Adjustment.Skip)
	fmt.Println("baseline Wh:", res.BaselineWh)
	fmt.Println("delivered Wh:", st.DeliveredWh, "of", st.CommittedWh, "performance ppm:", st.PerformancePPM)
	fmt.Println("payout:", st.PayoutBaseUnits, "slash:", st.SlashBaseUnits)
	// Output:
	// days averaged: 10 adjustment: after-posting
	// baseline Wh: [1200 1200]
	// delivered Wh: 950 of 1000 performance ppm: 950000
	// payout: 190000 slash: 0
}
