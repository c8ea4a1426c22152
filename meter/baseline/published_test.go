package baseline

import (
	"testing"
	"time"
)

// Worked examples from published baseline documentation.
//
// The issue asks for examples whose numbers were published by someone else,
// not worked by us from a rule text (daymatch_test.go has those). The
// search (listed in the commit message) found copies of, or pointers to,
// PJM Manual 11 and PJM's CBL issue pages, NYISO's Emergency Demand
// Response Program manual, Con Edison's CBL Verification Methodology, the
// CAISO BPM for Metering and Baseline Accuracy Work Group proposal (whose
// contents list a "Table 2-4: Adjustment Ratio Calculation"), ERCOT's ERS
// technical requirements, AEMO's Baseline Methodology Register and Elexon's
// Baselining Methodology Document — but only their opening pages, contents
// or summaries, never a numbered example. The published examples that do
// carry numbers, and that this file reproduces, are short:
//
//   - OhmConnect, "Your forecast" (10 in 10 weekdays, 4 weekend days):
//     TestPublishedOhmConnectForecast.
//   - "Flexibility Services Standard Agreement", Baseline Adjustment clause
//     (10 similar days, additive same-day adjustment from the hour starting
//     2 h before the event): TestPublishedFSSASameDayAdjustmentUp, and the
//     downward example our rules cannot express,
//     TestPublishedFSSASameDayAdjustmentDown (skipped, with the reason).
//   - CenterPoint Energy, C&I load management program, Step 4 (a dated example
//     naming the days and 15-minute intervals, without load values):
//     TestPublishedCenterPointBaselineDays.
//   - Octopus Energy session statements quoted by a customer (not baseline
//     documentation; settlement arithmetic in the up direction):
//     TestPublishedOctopusSessionStatements.
//   - Portland General Electric and Connexus Energy peak-time-rebate pages
//     (baseline given as a number; settlement arithmetic in the down
//     direction, and the rebate in dollars):
//     TestPublishedPeakTimeRebateExamples.
//
// A second search (stored web pages, documentation, GitHub code and issues)
// looked for a published multi-day table — hourly loads of the prior days
// and the event day with the published baseline — for 10 in 10 with its
// day-of adjustment, for PJM high 4 of 5 with the symmetric additive
// adjustment, and for meter-before/meter-after. It found none whose numbers
// could be read: PJM Manual 19 (copies at pdfslide.net, studylib.net,
// dokumen.tips), the Elexon Baselining Methodology Document v2.0
// (bscdocs.elexon.co.uk), the AEIC Load Research Committee's "Demand
// Response Measurement & Verification" (March 2009, scribd.com) and Con
// Edison's CBL Verification Methodology (listed on healthdocbox.com) were
// reachable only as title pages or contents. Pages that do describe a rule
// without numbers: PG&E Power Saver Rewards (powersaver.pge.com/faq: 5
// highest of the 10 previous weekdays, a weighted average on weekends, and
// an adjustment from the hours before and after the event — not one of our
// rules), and the National Grid ESO Demand Flexibility Service BL01 rule as
// quoted on forums.moneysavingexpert.com (discussion 6403242, page 4): the
// average of the last 10 weekdays (4 weekend days, per Octopus), plus an
// In Day Adjustment = Σ_j (metered − unadjusted baseline) / 6 over the six
// half-hours of "the three-hour period ending at one hour ahead" of the
// session. That adjustment is exactly AdjustAdditive with a 10 of 10 pool,
// 1800 s intervals, AdjustGapSeconds = 3600 and AdjustSpanSeconds = 10800
// (AdditiveNumWh / (n·6) = (A − B/n) / 6), but the quote carries no
// numbers, so it is not a test here. No published example uses 15-minute
// or half-hour data for which all the days are given.
//
// Units: the documents give kW over one hour or kWh. 1 kW for 1 h = 1 kWh =
// 1000 Wh, so a value with at most three decimals in kWh (or whole kW over
// an hour) is an exact integer number of Wh; no rounding enters on input.
// Where a document states a result to a coarser precision (0.01 kWh,
// whole pence), the test compares at that precision and says so.
//
// Where a document gives only an average and not the daily values it was
// averaged from, the daily values below are ours, chosen so that their mean
// is exactly the published figure; the test then checks the published
// figure, not our filler. Each test says which numbers are published.

// pubCalendar is a calendar whose genesis is local midnight of the given
// date at a fixed UTC offset (no DST: the offset in force on the example's
// date is used).
func pubCalendar(t *testing.T, year int, month time.Month, day int, offsetHours, intervalSeconds int64) Calendar {
	t.Helper()
	zone := time.FixedZone("", int(offsetHours*3600))
	c := Calendar{
		GenesisUnix:      time.Date(year, month, day, 0, 0, 0, 0, zone).Unix(),
		IntervalSeconds:  intervalSeconds,
		UTCOffsetSeconds: offsetHours * 3600,
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// relDays converts days relative to the calendar's genesis day into day
// numbers.
func relDays(c Calendar, rel ...int64) []int64 {
	var out []int64
	for _, r := range rel {
		out = append(out, c.DayOf(0)+r)
	}
	return out
}

// TestPublishedOhmConnectForecast reproduces the worked example of
//
//	OhmConnect, "Your Forecast" (blog post, 17 August 2016),
//	https://blog.ohmconnect.com/2016/08/17/your-forecast/ — republished as
//	"How Do My #OhmHour Points Get Calculated? Understanding Your Forecast
//	to Maximize Earnings" (16 March 2018), https://www.ohmconnect.com/
//	how-it-works-article/how-do-my-ohmhour-points-get-calculated-
//	understanding-your-forecast-to-maximize-earnings
//
// Rule (paraphrased): the forecast for an event hour is the average of the
// same hour on the previous ten weekdays (on the four most recent weekend
// days for a weekend event), skipping days with an earlier event and
// holidays; a day-of adjustment follows. Example: an event on Wednesday
// 8/17 from 2 to 3 pm has a forecast of 2.45 kWh; the post sets the day-of
// adjustment to zero "for simplicity"; a customer who then uses 3 kWh is
// above the forecast.
//
// Published numbers: the date and hour, the ten-weekday rule, 2.45 kWh, and
// 3 kWh. The ten daily values are shown only in a chart, so ours below are
// filler with a mean of exactly 2450 Wh (2.45 kWh, exact in Wh).
//
// Configuration: hourly intervals at UTC−7 (PDT, California), genesis
// Monday 2016-08-01; DefaultXofY with the adjustment off (AdjustNone, the
// post's "assume zero"). The request is posted on the event day: our rule
// takes the ten weekdays before the day of posting, so with a request
// posted the day before, the pool would be Aug 2–15 rather than the post's
// Aug 3–16 (a deliberate difference: see "Gaming" in doc.go).
func TestPublishedOhmConnectForecast(t *testing.T) {
	c := pubCalendar(t, 2016, time.August, 1, -7, 3600)
	if c.Weekday(c.DayOf(0)+16) != 3 {
		t.Fatal("2016-08-17 is not a Wednesday in this calendar")
	}
	h := newHist(24, 20, 1000)
	// Rel. days 2..15 are Aug 3..16; 5, 6, 12, 13 are weekend days.
	filler := []struct{ day, wh int64 }{
		{15, 2100}, {14, 2800}, {11, 2300}, {10, 2600}, {9, 2450},
		{8, 2500}, {7, 2400}, {4, 2200}, {3, 2700}, {2, 2450},
	}
	var sum int64
	for _, f := range filler {
		h.set(f.day, 14, f.wh)
		sum += f.wh
	}
	if sum != 10*2450 {
		t.Fatalf("filler sums to %d Wh, not 10 × 2450", sum)
	}
	h.set(0, 14, 9999) // Mon Aug 1 and Tue Aug 2 are older than the ten
	h.set(1, 14, 9999)
	for _, d := range []int64{5, 6, 12, 13} {
		h.set(d, 14, 7777) // weekend days: never in a weekday pool
	}
	p := DefaultXofY()
	p.Adjustment = AdjustNone
	ev := Event{Start: h.iv(16, 14), End: h.iv(16, 15), Posted: h.iv(16, 14)}
	r, err := XofY(h.s, ev, c, p)
	if err != nil {
		t.Fatal(err)
	}
	// The previous ten weekdays, newest first: Aug 16, 15, 12, 11, 10, 9,
	// 8, 5, 4, 3.
	eqInts(t, "selected days", days(r), relDays(c, 15, 14, 11, 10, 9, 8, 7, 4, 3, 2))
	eqInts(t, "forecast", r.BaselineWh, []int64{2450}) // 2.45 kWh
	if r.Adjustment.Applied {
		t.Fatalf("adjustment %+v", r.Adjustment)
	}

	// "Let's say you use 3 kWh instead": 0.55 kWh above the forecast, so
	// nothing is delivered. (The post says a minor penalty may follow; our
	// penalty is the bond slash of SlashSchedule, which the post does not
	// quantify, so only the energy is compared.)
	st, err := Settle(Commitment{
		Direction: Down, IntervalSeconds: 3600, CommittedW: 1000,
		BaselineWh: r.BaselineWh, Actual: []Reading{{ImportWh: 3000}},
		PriceBaseUnitsPerKWh: 1, PayoutCapPPM: PPM,
	}, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	if st.NetDeltaWh != -550 || st.DeliveredWh != 0 || st.PayoutBaseUnits != 0 {
		t.Fatalf("settlement %+v", st)
	}

	// Weekend rule: an event on Saturday Aug 20 uses the four most recent
	// weekend days, Aug 14, 13, 7, 6 (the post gives no values for this
	// case; only the days are checked).
	ev = Event{Start: h.iv(19, 14), End: h.iv(19, 15), Posted: h.iv(19, 14)}
	r, err = XofY(h.s, ev, c, p)
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "weekend days", days(r), relDays(c, 13, 12, 6, 5))
}

// fssaExample builds the history of the "Flexibility Services Standard
// Agreement" examples with the given event-day load in the adjustment hour.
//
// Source: "Flexibility Services Standard Agreement", clause "Baseline
// Adjustment", as reproduced (from two agreements of that title; the
// publishing utility is not named in the copy) at
// https://www.markettransfer.info/clause/baseline-adjustment/_8.
//
// Rule (paraphrased): the baseline is built from the last 10 similar days;
// the adjustment is the event day's average load in the hour that starts
// two hours before the event start minus the baseline for that hour; it is
// never negative; batteries get none. Two examples, both for the hour noon
// to 1 pm: baseline 500 kW, event day 600 kW → adjustment 100 kW; baseline
// 500 kW, event day 400 kW → adjustment 0 kW ("not negative").
//
// Configuration: the agreement has no dates, so we use the package's
// example calendar (hourly, UTC−8, rel. day 0 = Mon 2026-11-02) with the
// event on Tue 2026-11-17 (rel. 15) from 14:00 to 16:00 — the event start
// that makes noon–1 pm "the hour starting 2 hours before" — posted at
// 13:00 the same day, when the adjustment hour is complete. The ten similar
// days are the ten previous weekdays (rel. 14, 11, 10, 9, 8, 7, 4, 3, 2, 1).
// Parameters: 10 of 10 weekdays (4 of 4 weekend days, unused here, as the
// agreement does not say), additive adjustment, gap 1 h, span 1 h.
//
// Published numbers: 500 kW, 600 kW, 100 kW, 400 kW, 0 kW for the noon
// hour. One hour at 500 kW is 500 kWh = 500 000 Wh, exactly. The ten daily
// noon values are ours (mean exactly 500 000 Wh), and so are the event-hour
// values (700 000 and 650 000 Wh a day): the agreement gives none.
func fssaExample(t *testing.T, eventDayNoonWh int64) (Calendar, *hist, Event, DayMatchParams) {
	t.Helper()
	c := exCalendar(t)
	h := newHist(24, 16, 100_000)
	noon := []struct{ day, wh int64 }{
		{14, 450_000}, {11, 550_000}, {10, 480_000}, {9, 520_000}, {8, 490_000},
		{7, 510_000}, {4, 470_000}, {3, 530_000}, {2, 500_000}, {1, 500_000},
	}
	for _, n := range noon {
		h.set(n.day, 12, n.wh)
		h.set(n.day, 14, 700_000, 650_000)
	}
	h.set(0, 12, 999_000) // Mon 11-02: the eleventh weekday back
	h.set(0, 14, 999_000, 999_000)
	h.set(15, 12, eventDayNoonWh)
	ev := Event{Start: h.iv(15, 14), End: h.iv(15, 16), Posted: h.iv(15, 13)}
	p := DayMatchParams{
		Weekday:           DayCount{X: 10, Y: 10},
		WeekendHoliday:    DayCount{X: 4, Y: 4},
		LookbackDays:      45,
		Adjustment:        AdjustAdditive,
		AdjustGapSeconds:  3600,
		AdjustSpanSeconds: 3600,
	}
	return c, h, ev, p
}

// TestPublishedFSSASameDayAdjustmentUp reproduces the first example:
// baseline 500 kW and event-day load 600 kW in the noon hour give an
// adjustment of +100 kW, i.e. +100 000 Wh on every event hour.
func TestPublishedFSSASameDayAdjustmentUp(t *testing.T) {
	c, h, ev, p := fssaExample(t, 600_000)
	r, err := XofY(h.s, ev, c, p)
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "ten similar days", days(r), relDays(c, 14, 11, 10, 9, 8, 7, 4, 3, 2, 1))
	a := r.Adjustment
	// The document's "Asset's Baseline" for noon–1 pm: DaysWh / n =
	// 5 000 000 / 10 = 500 000 Wh = 500 kW over the hour.
	if len(r.Selected) != 10 || a.DaysWh != 5_000_000 || a.Intervals != 1 {
		t.Fatalf("adjustment window %+v over %d days", a, len(r.Selected))
	}
	// "Event Day Load" 600 kW; "Baseline Adjustment" 100 kW.
	if !a.Applied || a.EventDayWh != 600_000 || a.DeltaWh != 100_000 {
		t.Fatalf("adjustment %+v", a)
	}
	eqInts(t, "unadjusted", r.UnadjustedWh, []int64{700_000, 650_000})
	for k := range r.BaselineWh {
		if got := r.BaselineWh[k] - r.UnadjustedWh[k]; got != 100_000 {
			t.Fatalf("hour %d: adjustment %d Wh, want 100 000 (100 kW)", k, got)
		}
	}
}

// TestPublishedFSSASameDayAdjustmentDown is the second example: baseline
// 500 kW, event-day load 400 kW, adjustment 0 kW because the agreement's
// adjustment "can only be positive".
//
// Our rules cannot express this: AdjustAdditive is PJM's symmetric
// adjustment (it moves the baseline down as well as up) and AdjustRatio is
// capped symmetrically around 1; there is no up-only kind. The test checks
// what the package does with the document's numbers (−100 kW, the
// symmetric counterpart) and is then skipped, so that the gap stays
// visible. It is a difference of rule, not a bug: the symmetric adjustment
// is the documented choice of HighXofY and of DayMatchParams.Adjustment.
func TestPublishedFSSASameDayAdjustmentDown(t *testing.T) {
	c, h, ev, p := fssaExample(t, 400_000)
	r, err := XofY(h.s, ev, c, p)
	if err != nil {
		t.Fatal(err)
	}
	a := r.Adjustment
	if !a.Applied || a.EventDayWh != 400_000 || a.DaysWh != 5_000_000 || a.DeltaWh != -100_000 {
		t.Fatalf("adjustment %+v", a)
	}
	eqInts(t, "symmetric baseline", r.BaselineWh, []int64{600_000, 550_000})
	t.Skip("not expressible: the agreement floors the adjustment at 0 kW (baseline stays 700 000 / 650 000 Wh); " +
		"AdjustAdditive is symmetric and gives −100 000 Wh, and there is no up-only AdjustmentKind")
}

// TestPublishedCenterPointBaselineDays reproduces the dated example of
//
//	CenterPoint Energy, commercial & industrial load management program
//	pages ("ci_lm_sop"), Step 4 (measurement and verification of
//	curtailments), http://www.centerpointefficiency.com/ci_lm_sop/step4.htm
//
// Rule (paraphrased): 15-minute interval data; the baseline of a
// curtailment is the demand in the one-hour period beginning two hours
// before the curtailment, averaged over the curtailment day and the four
// preceding business days; the savings are that baseline minus the highest
// four consecutive 15-minute intervals during the curtailment. Example: a
// curtailment on Friday, July 18, 2008, from 4 to 5 pm uses the intervals
// ending 14:15, 14:30, 14:45 and 15:00 on that day and on Monday, July 14
// through Thursday, July 17.
//
// The page gives no load values, and its rule is not one of ours: a flat
// baseline from a pre-event hour averaged over the event day and earlier
// days (XofY never averages the event day; DeviceProfile's meter-before
// window ends at the event start and uses the event day only), with
// savings measured on the highest four consecutive intervals (Settle nets
// every interval). What the example does pin down, and this test checks,
// is the calendar: which days are "the four preceding business days" and
// which 15-minute intervals make up "2:00 to 3:00 p.m.". XofY with a
// 4 of 4 weekday rule and the window laid at 14:00–15:00 selects exactly
// July 17, 16, 15 and 14. Local time is CDT, UTC−5; the request is posted
// on the curtailment day.
func TestPublishedCenterPointBaselineDays(t *testing.T) {
	const L = 900
	c := pubCalendar(t, 2008, time.July, 1, -5, L)
	cdt := time.FixedZone("CDT", -5*3600)
	friday := c.DayOf(0) + 17
	if c.Weekday(friday) != 5 {
		t.Fatal("2008-07-18 is not a Friday in this calendar")
	}
	perDay := c.IntervalsPerDay()
	// The intervals "1415, 1430, 1445, 1500" (labelled by their end) are
	// [14:00, 14:15) … [14:45, 15:00): indexes 56..59 of the local day.
	first := c.DayStart(friday) + 56
	for k, label := range []string{"14:15", "14:30", "14:45", "15:00"} {
		end := time.Date(2008, time.July, 18, 14, 0, 0, 0, cdt).Add(time.Duration(k+1) * 15 * time.Minute)
		if got := c.GenesisUnix + (first+int64(k)+1)*L; got != end.Unix() || end.Format("15:04") != label {
			t.Fatalf("interval %d ends at %s, want %s CDT", k, time.Unix(got, 0).In(cdt).Format("15:04"), label)
		}
	}
	h := newHist(perDay, 18, 250) // 250 Wh a quarter hour: 1 kW, filler
	ev := Event{Start: first, End: first + 4, Posted: c.DayStart(friday)}
	p := DayMatchParams{
		Weekday:        DayCount{X: 4, Y: 4},
		WeekendHoliday: DayCount{X: 4, Y: 4},
		LookbackDays:   45,
		Adjustment:     AdjustNone,
	}
	r, err := XofY(h.s, ev, c, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.DayType != Weekday || len(r.Rejected) != 0 {
		t.Fatalf("day type %v, rejected %+v", r.DayType, r.Rejected)
	}
	// Thursday July 17 back to Monday July 14.
	eqInts(t, "four preceding business days", days(r), relDays(c, 16, 15, 14, 13))
	for _, d := range r.Selected {
		if w := c.Weekday(d.Day); w < 1 || w > 4 {
			t.Fatalf("day %d has weekday %d, want Monday..Thursday", d.Day, w)
		}
	}
}

// TestPublishedOctopusSessionStatements checks Settle in the up direction
// against three session results that Octopus Energy sent a customer, as
// quoted by that customer at https://camelot-forum.co.uk/phpBB3/
// viewtopic.php?p=49617 ("free electricity" sessions in August; the quote
// gives no year). This is
// not baseline documentation — the baseline ("based on your meter data from
// the previous few weeks") is given as a number, not computed — so the
// test covers only the settlement arithmetic: delivered = actual −
// baseline, netted over the session, and its value at the customer's unit
// rate of 23.9 p/kWh (stated by the customer in the same post).
//
//	date          used     normally  extra      worth
//	Sun 18 Aug    20.39    0.10      20.29 kWh  £4.85
//	Wed 21 Aug    20.89    0.15      20.74 kWh  £4.96
//	Sat 31 Aug    19.52    0.17      19.35 kWh  £4.62
//
// Conversion: kWh with two decimals are whole tens of Wh (20.39 kWh =
// 20 390 Wh), compared at that precision (the quoted figures are rounded to
// 0.01 kWh, so the true difference is known only to ±10 Wh; the rounded
// inputs give the quoted difference exactly). Money: one base unit is
// £0.0001, so 23.9 p/kWh is 2390 base units per kWh; Settle floors
// 2390 · Wh / 1000, and the statement rounds to the penny, so the test
// rounds our base units half up to pence before comparing. The session
// length is not given; each session is one interval of 3600 s (Settle nets
// over the event, so only the totals matter), with a commitment large
// enough (30 kW) that the payout cap does not bind.
func TestPublishedOctopusSessionStatements(t *testing.T) {
	const pricePerKWh = 2390 // 23.9 p/kWh in £0.0001 base units
	for _, tc := range []struct {
		date                       string
		usedWh, normallyWh         int64
		extraWh                    int64
		claimBaseUnits, worthPence uint64
	}{
		// claim = ⌊2390 · extra / 1000⌋: ⌊48 493.1⌋, ⌊49 568.6⌋, ⌊46 246.5⌋.
		{"Sun 18 Aug", 20_390, 100, 20_290, 48_493, 485},
		{"Wed 21 Aug", 20_890, 150, 20_740, 49_568, 496},
		{"Sat 31 Aug", 19_520, 170, 19_350, 46_246, 462},
	} {
		st, err := Settle(Commitment{
			Direction: Up, IntervalSeconds: 3600, CommittedW: 30_000,
			BaselineWh:           []int64{tc.normallyWh},
			Actual:               []Reading{{ImportWh: tc.usedWh}},
			PriceBaseUnitsPerKWh: pricePerKWh, PayoutCapPPM: PPM,
		}, DefaultSlash())
		if err != nil {
			t.Fatal(err)
		}
		if st.NetDeltaWh != tc.extraWh || st.DeliveredWh != tc.extraWh || st.PaidWh != tc.extraWh {
			t.Fatalf("%s: delivered %d Wh (net %d, paid %d), statement says %d", tc.date,
				st.DeliveredWh, st.NetDeltaWh, st.PaidWh, tc.extraWh)
		}
		if st.PayoutBaseUnits != tc.claimBaseUnits {
			t.Fatalf("%s: payout %d base units, want %d", tc.date, st.PayoutBaseUnits, tc.claimBaseUnits)
		}
		pence, _ := FloorMulDivU(st.PayoutBaseUnits+50, 1, 100) // half up to the penny
		if pence != tc.worthPence {
			t.Fatalf("%s: worth %dp, statement says %dp", tc.date, pence, tc.worthPence)
		}
	}
}

// TestPublishedPeakTimeRebateExamples checks Settle in the down direction
// against two utilities' published rebate examples, each a baseline, a use
// during the event and a rebate at $1.00 per kWh:
//
//	Portland General Electric, "How are Peak Time Rebates calculated?",
//	https://portlandgeneral.com/how-are-peak-time-rebates-calculated (no
//	date on the page): "(typical use + weather adjustment) – actual event
//	use = kWh savings … Example: (3.67 kWh + 1.1 kWh) – 2.21 kWh =
//	2.56 kWh; 2.56 kWh x $1.00 = $2.56".
//
//	Connexus Energy, "Peak Time Rebate FAQs",
//	https://www.connexusenergy.com/save-money-and-energy/programs-rebates/
//	peak-time-rebate/peak-time-rebate-faqs: "Example: Baseline is 16 kWh.
//	During the peak time you reduce your energy to 12 kWh. Based on a $1
//	per kWh rebate, you'd earn $4 for that single event."
//
// The baselines are given as numbers, not computed by our methods. PGE's
// "typical use" is the average over the same hours of the 10 most recent
// similar days — XofY's 10 of 10 — but the page gives only the average, and
// its 1.1 kWh "weather adjustment" comes from temperature, not from the
// event day's load as AdjustRatio and AdjustAdditive do; so the test takes
// the adjusted baseline 3.67 + 1.1 = 4.77 kWh = 4770 Wh as given. Connexus
// does not say how its 16 kWh is built.
//
// Conversion: kWh with at most three decimals are whole Wh (3.67 kWh =
// 3670 Wh), so no rounding enters. Money: one base unit is $0.0001, so
// $1.00/kWh is 10 000 base units per kWh; Settle pays ⌊10 000 · Wh / 1000⌋,
// exact here, and the dollars are compared to the cent. The event length
// is not given (PGE's text mentions 4–7 p.m. only as an illustration), so
// each event is one interval of 3600 s carrying the event's total — Settle
// nets over the event, so only totals matter — with a 30 kW commitment
// (30 000 Wh) so that the payout cap does not bind.
//
//	              baseline  used   delivered           claim (base units)
//	PGE           4770      2210   4770 − 2210 = 2560  ⌊10 000·2560/1000⌋ = 25 600 ($2.56)
//	Connexus      16000     12000  16000 − 12000 = 4000 ⌊10 000·4000/1000⌋ = 40 000 ($4.00)
//
// Both pages also say that use above the baseline earns no rebate and no
// penalty; they give no numbers for that case, so it is not tested here
// (Settle floors the event's net at 0; the OhmConnect test covers a use
// above the forecast with published numbers). Our bond slash
// (SlashSchedule) is a separate rule of the commitment and is not compared.
func TestPublishedPeakTimeRebateExamples(t *testing.T) {
	const pricePerKWh = 10_000 // $1.00/kWh in $0.0001 base units
	for _, tc := range []struct {
		name                      string
		baselineWh, usedWh        int64
		deliveredWh               int64
		claimBaseUnits, wantCents uint64
	}{
		{"PGE (3.67 + 1.1) - 2.21", 3670 + 1100, 2210, 2560, 25_600, 256},
		{"Connexus 16 - 12", 16_000, 12_000, 4000, 40_000, 400},
	} {
		st, err := Settle(Commitment{
			Direction: Down, IntervalSeconds: 3600, CommittedW: 30_000,
			BaselineWh:           []int64{tc.baselineWh},
			Actual:               []Reading{{ImportWh: tc.usedWh}},
			PriceBaseUnitsPerKWh: pricePerKWh, PayoutCapPPM: PPM,
		}, DefaultSlash())
		if err != nil {
			t.Fatal(err)
		}
		if st.NetDeltaWh != tc.baselineWh-tc.usedWh || st.DeliveredWh != tc.deliveredWh || st.PaidWh != tc.deliveredWh {
			t.Fatalf("%s: net %d Wh, delivered %d, paid %d; want delivered %d", tc.name,
				st.NetDeltaWh, st.DeliveredWh, st.PaidWh, tc.deliveredWh)
		}
		if st.ClaimBaseUnits != tc.claimBaseUnits || st.PayoutBaseUnits != tc.claimBaseUnits {
			t.Fatalf("%s: claim %d, payout %d base units, want %d", tc.name,
				st.ClaimBaseUnits, st.PayoutBaseUnits, tc.claimBaseUnits)
		}
		cents, _ := FloorMulDivU(st.PayoutBaseUnits, 1, 100) // exact: no fraction of a cent here
		if cents != tc.wantCents {
			t.Fatalf("%s: rebate %d cents, page says %d", tc.name, cents, tc.wantCents)
		}
	}
}
