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
	// PaidWh is the energy the settlement paid for (≤ EstimatedWh, capped
	// by the commitment) and CommittedWh the commitment; both 0 where
	// nothing was committed (placebo events).
	PaidWh, CommittedWh int64
	// NetWh is the settlement's signed net delta before the floor at 0,
	// capped by the proof where there is one, the guard's negative part
	// included (EstimatedWh = max(0, NetWh) for a settlement).
	NetWh int64
}

// DidNothing reports whether the home did (next to) nothing: its true
// delivery is at most 1 % of its commitment (0 or negative included).
func (s Sample) DidNothing() bool { return s.TrueWh*100 <= s.CommittedWh }

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
	// BiasPct = BiasWh / MeanTrueWh · 100 (= −NMBEPct); NaN when the mean
	// truth is 0. CVRMSEPct is the relative RMSE.
	BiasPct float64
	// MeanPaidWh is the mean PaidWh; NetBiasWh = mean(NetWh − TrueWh), the
	// bias before the floor at 0.
	MeanPaidWh, NetBiasWh float64
	// Nothing counts the samples that did nothing (Sample.DidNothing);
	// FalsePaid those of them with PaidWh > 0, paid FalsePaidMeanWh on
	// average (NaN when none was).
	Nothing, FalsePaid int
	FalsePaidMeanWh    float64
}

// AgainstTruth is the hook for the "against truth" table: the meter
// simulator feeds it one Sample per settled commitment (or interval).
func AgainstTruth(samples []Sample) TruthStats {
	st := TruthStats{N: len(samples)}
	if len(samples) == 0 {
		nan := math.NaN()
		return TruthStats{MeanTrueWh: nan, MeanEstimatedWh: nan, BiasWh: nan, MAEWh: nan, RMSEWh: nan, NMBEPct: nan, CVRMSEPct: nan,
			BiasPct: nan, MeanPaidWh: nan, NetBiasWh: nan, FalsePaidMeanWh: nan}
	}
	var sumT, sumE, sumD, sumAbs, sumD2, sumP, sumFP, sumN float64
	for _, s := range samples {
		sumP += float64(s.PaidWh)
		sumN += float64(s.NetWh - s.TrueWh)
		if s.DidNothing() {
			st.Nothing++
			if s.PaidWh > 0 {
				st.FalsePaid++
				sumFP += float64(s.PaidWh)
			}
		}
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
	st.MeanPaidWh, st.NetBiasWh = sumP/n, sumN/n
	st.FalsePaidMeanWh = math.NaN()
	if st.FalsePaid > 0 {
		st.FalsePaidMeanWh = sumFP / float64(st.FalsePaid)
	}
	st.NMBEPct, st.CVRMSEPct, st.BiasPct = math.NaN(), math.NaN(), math.NaN()
	if st.MeanTrueWh != 0 {
		st.NMBEPct = -sumD / (n * st.MeanTrueWh) * 100
		st.CVRMSEPct = st.RMSEWh / st.MeanTrueWh * 100
		st.BiasPct = st.BiasWh / st.MeanTrueWh * 100
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

// AccuracyRow is one labelled row of the simulated against-truth table;
// NoBaseline counts the settlements left out under the NoBaseline rule.
type AccuracyRow struct {
	Label      string
	NoBaseline int
	Stats      TruthStats
}

// printAccuracyTable prints the against-truth rows with false payouts.
func printAccuracyTable(w io.Writer, rows []AccuracyRow) {
	fmt.Fprintln(w, "| case | n | no baseline | mean true Wh | mean estimated Wh | bias Wh | bias % | relative RMSE % | bias before the floor Wh | mean paid Wh | did nothing | false payouts | mean false payout Wh |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		s := r.Stats
		fp := "0"
		if s.Nothing > 0 {
			fp = fmt.Sprintf("%d (%.1f %%)", s.FalsePaid, float64(s.FalsePaid)/float64(s.Nothing)*100)
		}
		mfp := "—"
		if !math.IsNaN(s.FalsePaidMeanWh) {
			mfp = fmt.Sprintf("%.0f", s.FalsePaidMeanWh)
		}
		if s.N == 0 {
			fmt.Fprintf(w, "| %s | 0 | %d | — | — | — | — | — | — | — | — | — | — |\n", r.Label, r.NoBaseline)
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %.0f | %+.0f | %s | %s | %+.0f | %.0f | %d | %s | %s |\n", r.Label, s.N, r.NoBaseline,
			s.MeanTrueWh, s.MeanEstimatedWh, s.BiasWh, pct(s.BiasPct), unsigned(s.CVRMSEPct), s.NetBiasWh, s.MeanPaidWh, s.Nothing, fp, mfp)
	}
}

func unsigned(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", v)
}
