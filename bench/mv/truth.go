package main

import (
	"fmt"
	"io"
	"math"
)

// Sample is one settled commitment (or one interval) where the true
// delivered energy is known — from a simulator that ran the home both with
// and without the dispatch — next to what settlement estimated from the
// baseline.
type Sample struct {
	TrueWh, EstimatedWh int64
}

// TruthStats summarises estimated against true delivered energy.
type TruthStats struct {
	N int
	// MeanTrueWh and MeanEstimatedWh are the means; BiasWh = mean(est −
	// true), MAEWh = mean|est − true|, RMSEWh = √mean(est − true)².
	MeanTrueWh, MeanEstimatedWh, BiasWh, MAEWh, RMSEWh float64
	// NMBEPct = Σ(true − est)/(N·mean true)·100 and CVRMSEPct =
	// RMSE/mean true·100, in the ASHRAE Guideline 14 sense with the truth as
	// the measurement; NaN when the mean truth is 0 (placebo events).
	NMBEPct, CVRMSEPct float64
}

// AgainstTruth is the hook for the "against truth" table: the meter
// simulator feeds it one Sample per settled commitment (or interval).
func AgainstTruth(samples []Sample) TruthStats {
	st := TruthStats{N: len(samples)}
	if len(samples) == 0 {
		nan := math.NaN()
		return TruthStats{MeanTrueWh: nan, MeanEstimatedWh: nan, BiasWh: nan, MAEWh: nan, RMSEWh: nan, NMBEPct: nan, CVRMSEPct: nan}
	}
	var sumT, sumE, sumD, sumAbs, sumD2 float64
	for _, s := range samples {
		d := float64(s.EstimatedWh - s.TrueWh)
		sumT += float64(s.TrueWh)
		sumE += float64(s.EstimatedWh)
		sumD += d
		sumAbs += math.Abs(d)
		sumD2 += d * d
	}
	n := float64(len(samples))
	st.MeanTrueWh = sumT / n
	st.MeanEstimatedWh = sumE / n
	st.BiasWh = sumD / n
	st.MAEWh = sumAbs / n
	st.RMSEWh = math.Sqrt(sumD2 / n)
	st.NMBEPct, st.CVRMSEPct = math.NaN(), math.NaN()
	if st.MeanTrueWh != 0 {
		st.NMBEPct = -sumD / (n * st.MeanTrueWh) * 100
		st.CVRMSEPct = st.RMSEWh / st.MeanTrueWh * 100
	}
	return st
}

// TruthRow is one labelled row of an against-truth table.
type TruthRow struct {
	Label string
	Stats TruthStats
}

// printTruthTable prints rows as a markdown table.
func printTruthTable(w io.Writer, rows []TruthRow) {
	fmt.Fprintln(w, "| case | n | mean true Wh | mean estimated Wh | bias Wh | MAE Wh | RMSE Wh | NMBE % | CV(RMSE) % |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		s := r.Stats
		fmt.Fprintf(w, "| %s | %d | %.0f | %.0f | %+.0f | %.0f | %.0f | %s | %s |\n", r.Label, s.N, s.MeanTrueWh,
			s.MeanEstimatedWh, s.BiasWh, s.MAEWh, s.RMSEWh, pct(s.NMBEPct), pct(s.CVRMSEPct))
	}
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%+.2f", v)
}
