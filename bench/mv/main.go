// Command mv measures the accuracy of the meter/baseline methods on a real
// building's hourly load with placebo events: on days without an event, it
// pretends there was one in a typical window (default 14:00–18:00 local),
// computes each method's baseline, and compares it with what the building
// actually drew. A good baseline is unbiased and tight on such days, since
// there the true "delivered" energy is zero.
//
// Usage (from the repository root):
//
//	go run ./bench/mv [-data ../shared/data/il_hourly.csv] [-start 14] [-hours 4]
//	                  [-homes 400] [-days 70] [-seed 2026] [-seeds 4] [-quick] [-no-placebo]
//	go run ./bench/mv -season [-homes 1000] [-days 70] [-seed 2026] [-seeds 4] [-strategy-homes 100]
//
// -season prints only the season report (season.go): each home's
// settlements netted over the simulated season by ledger.ApplySeason,
// without and with a control group, with never-responding and gaming
// pairs.
//
// After the placebo tables it prints the "against truth" tables
// (truthsim.go): a seeded population of simulated homes runs through many
// flexibility events, each home next to a twin without the dispatch, and
// each method's settlement by the ledger's own path (ledger.BuildFlexInputs,
// ledger.SettleFlex) is compared with the true delivered energy, with the
// false payouts to homes that did nothing and what gaming homes are paid.
//
// It prints one markdown table per method with the ASHRAE Guideline 14
// statistics on the hourly event-window values, and the placebo "delivery"
// baseline.Settle would credit a building that changed nothing — netted
// over the event as Settle does, and as a site that withholds its readings
// on the wrong side of the baseline would get it (which equals the old per-interval
// floor Σ max(0, delta)):
//
//	NMBE     = Σ(y − ŷ) / ((n − p) · ȳ) · 100 %
//	CV(RMSE) = √(Σ(y − ŷ)² / (n − p)) / ȳ · 100 %
//
// with y the metered and ŷ the baseline Wh of an event hour, ȳ the mean of
// y, n the number of event hours and p = 0 (day-matching baselines fit no
// parameters). A positive NMBE means the baseline is low. Guideline 14
// accepts hourly models with |NMBE| ≤ 10 % and CV(RMSE) ≤ 30 %; PJM accepts
// a customer baseline whose relative RMSE is below 20 %.
//
// Statistics use float64: this is a report, not consensus code.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint/meter/baseline"
)

// cstOffset is the fixed offset the calendar uses: US Central Standard Time.
// The data carry −05:00 in summer; with a fixed offset the window
// 14:00–18:00 is in standard time, i.e. 15:00–19:00 daylight time in summer.
const cstOffset = -6 * 3600

func main() {
	data := flag.String("data", "../shared/data/il_hourly.csv", "hourly kWh csv (columns start,value; RFC 3339 timestamps)")
	startHour := flag.Int("start", 14, "placebo window start, local standard hour")
	hours := flag.Int("hours", 4, "placebo window length in hours")
	homes := flag.Int("homes", 400, "simulated homes (against-truth table)")
	days := flag.Int("days", 70, "simulated days, including 21 warm-up days without events")
	seed := flag.Uint64("seed", 2026, "population and event seed")
	seeds := flag.Int("seeds", 4, "further population and event seeds whose headline figures are printed")
	quick := flag.Bool("quick", false, "a small simulation: 60 homes, 45 days, no further seeds")
	skipPlacebo := flag.Bool("no-placebo", false, "print only the against-truth tables")
	controlPPM := flag.Uint("control", 0, "settle with a randomized control group of this share (ppm): control homes are not dispatched, the rest are corrected by the control estimate")
	season := flag.Bool("season", false, "settlement over a season: nets each home's settlements (ledger.ApplySeason) without and with a 15 % control group, with never-responding and gaming pairs; prints only that report")
	strategyHomes := flag.Int("strategy-homes", 0, "gaming homes, an exact count (the first with a battery); 0 keeps the population's 5 %")
	flag.Parse()
	if *season {
		cfg := defaultTruthConfig(*seed, *homes, *days)
		cfg.Pop.GameHomes = *strategyHomes
		if err := runSeason(os.Stdout, cfg, *seeds); err != nil {
			fmt.Fprintln(os.Stderr, "mv: season:", err)
			os.Exit(1)
		}
		return
	}
	if *quick {
		*homes, *days, *seeds = 60, 45, 0
	}
	if !*skipPlacebo {
		if err := run(os.Stdout, *data, *startHour, *hours); err != nil {
			fmt.Fprintln(os.Stderr, "mv:", err)
			os.Exit(1)
		}
	}
	cfg := defaultTruthConfig(*seed, *homes, *days)
	cfg.ControlPPM = uint32(*controlPPM)
	if err := runTruth(os.Stdout, cfg, *seeds); err != nil {
		fmt.Fprintln(os.Stderr, "mv: against truth:", err)
		os.Exit(1)
	}
}

// load reads the csv into an hourly Series on a calendar whose genesis is the
// local midnight (UTC−6) at or before the first reading.
func load(path string) (baseline.Series, baseline.Calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return baseline.Series{}, baseline.Calendar{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	type row struct {
		unix int64
		wh   int64
	}
	var rows []row
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			if text != "start,value" {
				return baseline.Series{}, baseline.Calendar{}, fmt.Errorf("%s: header %q, want start,value", path, text)
			}
			continue
		}
		if text == "" {
			continue
		}
		ts, val, ok := strings.Cut(text, ",")
		if !ok {
			return baseline.Series{}, baseline.Calendar{}, fmt.Errorf("%s:%d: no comma", path, line)
		}
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return baseline.Series{}, baseline.Calendar{}, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if val == "" {
			continue // missing reading
		}
		kwh, err := strconv.ParseFloat(val, 64)
		if err != nil || kwh < 0 || math.IsNaN(kwh) || math.IsInf(kwh, 0) {
			return baseline.Series{}, baseline.Calendar{}, fmt.Errorf("%s:%d: value %q", path, line, val)
		}
		// Wh, rounded half away from zero: the data carry 2 decimals of kWh,
		// so this is exact (0.29 kWh = 290 Wh).
		rows = append(rows, row{unix: t.Unix(), wh: int64(math.Round(kwh * 1000))})
	}
	if err := sc.Err(); err != nil {
		return baseline.Series{}, baseline.Calendar{}, err
	}
	if len(rows) == 0 {
		return baseline.Series{}, baseline.Calendar{}, errors.New("no data")
	}
	first := rows[0].unix
	for _, r := range rows {
		first = min(first, r.unix)
	}
	localDay := floorDiv(first+cstOffset, 86400)
	genesis := localDay*86400 - cstOffset
	cal := baseline.Calendar{GenesisUnix: genesis, IntervalSeconds: 3600, UTCOffsetSeconds: cstOffset}
	var last int64
	for _, r := range rows {
		last = max(last, floorDiv(r.unix-genesis, 3600))
	}
	s := baseline.Series{First: 0, Wh: make([]int64, last+1), Missing: make([]bool, last+1)}
	for k := range s.Missing {
		s.Missing[k] = true
	}
	for _, r := range rows {
		if (r.unix-genesis)%3600 != 0 {
			return baseline.Series{}, baseline.Calendar{}, fmt.Errorf("reading at %d is not on the hour", r.unix)
		}
		i := (r.unix - genesis) / 3600
		if !s.Missing[i] {
			return baseline.Series{}, baseline.Calendar{}, fmt.Errorf("two readings for hour %d", i)
		}
		s.Wh[i], s.Missing[i] = r.wh, false
	}
	cal.Holidays = usHolidays(cal)
	return s, cal, cal.Validate()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// usHolidays are the US federal holidays (observed dates) the data span.
func usHolidays(cal baseline.Calendar) []int64 {
	dates := []string{
		"2015-11-26", "2015-12-25",
		"2016-01-01", "2016-01-18", "2016-02-15", "2016-05-30", "2016-07-04", "2016-09-05",
		"2016-10-10", "2016-11-11", "2016-11-24", "2016-12-26",
		"2017-01-02", "2017-01-16", "2017-02-20", "2017-05-29", "2017-07-04", "2017-09-04",
		"2017-10-09", "2017-11-10", "2017-11-23", "2017-12-25",
		"2018-01-01", "2018-01-15",
	}
	out := make([]int64, 0, len(dates))
	for _, d := range dates {
		t, err := time.Parse("2006-01-02", d)
		if err != nil {
			panic(err)
		}
		out = append(out, floorDiv(t.Unix(), 86400)) // local day numbers: midnight-to-midnight dates
	}
	return out
}

// method is one baseline configuration under test.
type method struct {
	name, rules string
	// postedHoursBefore is how long before the window start the placebo
	// request is posted.
	postedHoursBefore int64
	run               func(baseline.Series, baseline.Event, baseline.Calendar) (baseline.Result, error)
}

func methods() []method {
	xy := baseline.DefaultXofY()
	hxy := baseline.DefaultHighXofY()
	xyNone, hxyNone := xy, hxy
	xyNone.Adjustment, hxyNone.Adjustment = baseline.AdjustNone, baseline.AdjustNone
	return []method{
		{"x-of-y, day-of ratio adjustment", "10 in 10 / 4 in 4, ratio from 10:00–13:00 capped ±20 %, posted 13:00 the same day", 1,
			func(s baseline.Series, e baseline.Event, c baseline.Calendar) (baseline.Result, error) {
				return baseline.XofY(s, e, c, xy)
			}},
		{"x-of-y, unadjusted", "10 in 10 / 4 in 4, posted the day before (no day-of adjustment)", 24,
			func(s baseline.Series, e baseline.Event, c baseline.Calendar) (baseline.Result, error) {
				return baseline.XofY(s, e, c, xyNone)
			}},
		{"high-x-of-y, symmetric additive adjustment", "high 4 of 5 weekdays / high 2 of 3 like weekend days (Saturdays; Sundays and holidays), low-usage days < 25 % dropped, additive from 10:00–13:00, posted 13:00 the same day", 1,
			func(s baseline.Series, e baseline.Event, c baseline.Calendar) (baseline.Result, error) {
				return baseline.HighXofY(s, e, c, hxy)
			}},
		{"high-x-of-y, unadjusted", "high 4 of 5 weekdays / high 2 of 3 like weekend days, low-usage days dropped, posted the day before", 24,
			func(s baseline.Series, e baseline.Event, c baseline.Calendar) (baseline.Result, error) {
				return baseline.HighXofY(s, e, c, hxyNone)
			}},
		{"device profile (whole building)", "the 10 most recent days of any type, posted the day before (the device method's fallback, applied to the whole building for comparison)", 24,
			func(s baseline.Series, e baseline.Event, c baseline.Calendar) (baseline.Result, error) {
				return baseline.DeviceProfile(s, e, c, baseline.DefaultDevice())
			}},
	}
}

// pair is one event hour: metered y and baseline ŷ, in Wh.
type pair struct{ y, yhat int64 }

type outcome struct {
	pairs       [2][]pair // by day type: 0 weekday, 1 weekend/holiday
	events      []pair    // per placebo event: window totals
	days        [2]int
	insufficent [2]int
	falseDown   []Sample // placebo delivered Wh (true 0) for a "down" request
	falseUp     []Sample
	// The same, when the site withholds every reading on the wrong side of
	// the baseline (Settle counts a missing interval as 0): the per-interval
	// floor Σ max(0, delta), which was Settle's rule before netting.
	withheldDown, withheldUp []Sample
}

func run(w io.Writer, path string, startHour, hours int) error {
	if startHour < 0 || hours < 1 || startHour+hours > 24 {
		return fmt.Errorf("window %d:00 + %d h is not within a day", startHour, hours)
	}
	s, cal, err := load(path)
	if err != nil {
		return err
	}
	firstDay := cal.DayOf(0)
	lastDay := cal.DayOf(int64(len(s.Wh)) - 1)
	ms := methods()
	outs := make([]outcome, len(ms))
	for d := firstDay + 1; d < lastDay; d++ {
		start := cal.DayStart(d) + int64(startHour)
		ev := baseline.Event{Start: start, End: start + int64(hours)}
		actual := make([]baseline.Reading, hours)
		complete := true
		for k := range actual {
			v, ok := s.At(start + int64(k))
			actual[k] = baseline.Reading{ImportWh: v, Missing: !ok}
			complete = complete && ok
		}
		if !complete {
			continue
		}
		t := 0
		if cal.TypeOf(d) == baseline.WeekendHoliday {
			t = 1
		}
		for mi, m := range ms {
			e := ev
			e.Posted = start - m.postedHoursBefore
			r, err := m.run(s, e, cal)
			if errors.Is(err, baseline.ErrInsufficientData) {
				outs[mi].insufficent[t]++
				continue
			}
			if err != nil {
				return fmt.Errorf("%s, day %d: %w", m.name, d, err)
			}
			outs[mi].days[t]++
			var tot pair
			for k, b := range r.BaselineWh {
				outs[mi].pairs[t] = append(outs[mi].pairs[t], pair{y: actual[k].ImportWh, yhat: b})
				tot.y += actual[k].ImportWh
				tot.yhat += b
			}
			outs[mi].events = append(outs[mi].events, tot)
			for _, dir := range []baseline.Direction{baseline.Down, baseline.Up} {
				st, err := baseline.Settle(baseline.Commitment{Direction: dir, IntervalSeconds: 3600, CommittedW: 1000,
					BaselineWh: r.BaselineWh, Actual: actual, PriceBaseUnitsPerKWh: 1, PayoutCapPPM: 100 * baseline.PPM}, baseline.DefaultSlash())
				if err != nil {
					return err
				}
				wd, err := withholding(dir, r.BaselineWh, actual, st)
				if err != nil {
					return fmt.Errorf("%s, day %d, %v: %w", m.name, d, dir, err)
				}
				smp := Sample{TrueWh: 0, EstimatedWh: st.DeliveredWh}
				wsmp := Sample{TrueWh: 0, EstimatedWh: wd}
				if dir == baseline.Down {
					outs[mi].falseDown = append(outs[mi].falseDown, smp)
					outs[mi].withheldDown = append(outs[mi].withheldDown, wsmp)
				} else {
					outs[mi].falseUp = append(outs[mi].falseUp, smp)
					outs[mi].withheldUp = append(outs[mi].withheldUp, wsmp)
				}
			}
		}
	}

	fmt.Fprintf(w, "# Baseline accuracy on placebo events\n\n")
	fmt.Fprintf(w, "Generated by `go run ./bench/mv` (written to bench/mv/RESULTS.md).\n\n")
	fmt.Fprintf(w, "Data: `%s` (%d hours, local days %d–%d at UTC−6; OpenEEmeter/OpenDSM sample, Apache 2.0).\n", path, len(s.Wh), firstDay, lastDay)
	fmt.Fprintf(w, "Placebo window: %02d:00–%02d:00 local standard time on every day with complete data; US federal holidays count as weekend days.\n", startHour, startHour+hours)
	fmt.Fprintf(w, "Statistics on hourly event-window Wh, ASHRAE Guideline 14 (p = 0); positive NMBE = baseline too low. Thresholds: ASHRAE 14 hourly |NMBE| ≤ 10 %%, CV(RMSE) ≤ 30 %%; PJM relative RMSE < 20 %%.\n\n")
	fmt.Fprintf(w, "## Summary\n\n")
	fmt.Fprintf(w, "| method | placebo days | NMBE %% (hourly) | CV(RMSE) %% (hourly) | CV(RMSE) %% (per event) | false down Wh/event | false up Wh/event | withheld: down | withheld: up |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for mi, m := range ms {
		o := outs[mi]
		all := append(append([]pair(nil), o.pairs[0]...), o.pairs[1]...)
		h, ev := ashrae(all), ashrae(o.events)
		fmt.Fprintf(w, "| %s | %d | %+.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.0f |\n", m.name, o.days[0]+o.days[1], h.nmbe, h.cv, ev.cv,
			AgainstTruth(o.falseDown).MeanEstimatedWh, AgainstTruth(o.falseUp).MeanEstimatedWh,
			AgainstTruth(o.withheldDown).MeanEstimatedWh, AgainstTruth(o.withheldUp).MeanEstimatedWh)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "False delivery: the mean Wh per placebo event that `baseline.Settle` credits a building that changed nothing (committed 1 kW, %d Wh per event), netting the signed interval deltas over the event and flooring the total at 0. Withheld: the same when the site withholds each reading on the wrong side of the baseline, which Settle counts as 0; that equals Σ max(0, delta), the per-interval floor Settle applied before netting.\n\n", hours*1000)
	for mi, m := range ms {
		o := outs[mi]
		fmt.Fprintf(w, "## %s\n\n%s.\n\n", m.name, m.rules)
		fmt.Fprintf(w, "| days | placebo days | no baseline | values | mean metered Wh | NMBE %% | CV(RMSE) %% | ASHRAE 14 | PJM RRMSE < 20 %% |\n")
		fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
		all := append(append([]pair(nil), o.pairs[0]...), o.pairs[1]...)
		rows := []struct {
			label string
			ps    []pair
			days  int
			miss  int
		}{
			{"weekday", o.pairs[0], o.days[0], o.insufficent[0]},
			{"weekend/holiday", o.pairs[1], o.days[1], o.insufficent[1]},
			{"all", all, o.days[0] + o.days[1], o.insufficent[0] + o.insufficent[1]},
		}
		rows = append(rows, struct {
			label string
			ps    []pair
			days  int
			miss  int
		}{fmt.Sprintf("all, per event (%d h totals)", hours), o.events, o.days[0] + o.days[1], o.insufficent[0] + o.insufficent[1]})
		for _, r := range rows {
			st := ashrae(r.ps)
			a14, pjm := yes(math.Abs(st.nmbe) <= 10 && st.cv <= 30), yes(st.cv < 20)
			if r.ps != nil && len(r.ps) == len(o.events) && &r.ps[0] == &o.events[0] {
				a14, pjm = "—", "—" // the thresholds are for hourly values
			}
			fmt.Fprintf(w, "| %s | %d | %d | %d | %.0f | %+.2f | %.2f | %s | %s |\n", r.label, r.days, r.miss, st.n, st.mean,
				st.nmbe, st.cv, a14, pjm)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Placebo \"delivery\" a no-change building would be credited per event (true delivered = 0; committed 1 kW, so %d Wh committed per event):\n\n", hours*1000)
		printTruthTable(w, []TruthRow{
			{Label: "down request", Stats: AgainstTruth(o.falseDown)},
			{Label: "up request", Stats: AgainstTruth(o.falseUp)},
			{Label: "down, readings above the baseline withheld (= per-interval floor)", Stats: AgainstTruth(o.withheldDown)},
			{Label: "up, readings below the baseline withheld (= per-interval floor)", Stats: AgainstTruth(o.withheldUp)},
		})
		fmt.Fprintln(w)
	}
	return nil
}

// withholding settles the event again as a site would that withheld every
// reading with a negative delta in st, and returns its delivered Wh. It
// checks that this is the per-interval floor Σ max(0, delta) and not below
// the netted delivery.
func withholding(dir baseline.Direction, baselineWh []int64, actual []baseline.Reading, st baseline.Settlement) (int64, error) {
	kept := append([]baseline.Reading(nil), actual...)
	var floored int64
	for k, iv := range st.Intervals {
		if iv.DeltaWh < 0 {
			kept[k].Missing = true
		}
		floored += max(0, iv.DeltaWh)
	}
	w, err := baseline.Settle(baseline.Commitment{Direction: dir, IntervalSeconds: 3600, CommittedW: 1000,
		BaselineWh: baselineWh, Actual: kept, PriceBaseUnitsPerKWh: 1, PayoutCapPPM: 100 * baseline.PPM}, baseline.DefaultSlash())
	if err != nil {
		return 0, err
	}
	if w.DeliveredWh != floored || w.DeliveredWh < st.DeliveredWh {
		return 0, fmt.Errorf("withholding delivered %d Wh, per-interval floor %d, netted %d", w.DeliveredWh, floored, st.DeliveredWh)
	}
	return w.DeliveredWh, nil
}

func yes(b bool) string {
	if b {
		return "pass"
	}
	return "fail"
}

type ashraeStats struct {
	n              int
	mean, nmbe, cv float64
}

// ashrae computes NMBE and CV(RMSE) in percent with p = 0.
func ashrae(ps []pair) ashraeStats {
	st := ashraeStats{n: len(ps)}
	if len(ps) == 0 {
		return ashraeStats{mean: math.NaN(), nmbe: math.NaN(), cv: math.NaN()}
	}
	var sumY, sumE, sumE2 float64
	for _, p := range ps {
		e := float64(p.y - p.yhat)
		sumY += float64(p.y)
		sumE += e
		sumE2 += e * e
	}
	n := float64(len(ps))
	st.mean = sumY / n
	st.nmbe = sumE / (n * st.mean) * 100
	st.cv = math.Sqrt(sumE2/n) / st.mean * 100
	return st
}
