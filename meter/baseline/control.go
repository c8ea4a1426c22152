package baseline

import (
	"fmt"
	"slices"
)

// MinControlSites is the fewest control placebos ControlEstimate corrects
// with: below it the estimate is not robust (one site would be the whole
// median), so no correction applies.
const MinControlSites = 3

// ControlEstimate is the robust estimate of a baseline method's error at one
// event from the control group's placebo deltas: placeboWh[j] is control
// site j's NetDeltaWh over the window (Σ baseline − actual for Down, actual
// − baseline for Up), a site that was not dispatched, so its true delivery
// is zero and its delta is the method's error plus its own noise.
//
// The estimate is a trimmed mean: sort the n placebos, drop t = max(1,
// ⌊n/4⌋) from each end, and take ⌊Σ kept / (n − 2t)⌋ (toward −∞). With n =
// 3 that is the median; from n = 8 on it is the interquartile mean. At most
// t sites — a quarter of the control group — can each report any delta at
// all and still leave the estimate between two honest sites' placebos
// (TestPropertyControlEstimateRobust): a few control sites cannot move it.
//
// ok is false, and the estimate 0, with fewer than MinControlSites
// placebos: the request then settles uncorrected. used is n − 2t, the
// placebos averaged. The input is not modified.
func ControlEstimate(placeboWh []int64) (estimateWh int64, used int, ok bool, err error) {
	n := len(placeboWh)
	if n < MinControlSites {
		return 0, 0, false, nil
	}
	if n > 1<<20 {
		return 0, 0, false, fmt.Errorf("%w: %d control placebos", ErrInput, n)
	}
	s := slices.Clone(placeboWh)
	slices.Sort(s)
	t := max(1, n>>2)
	kept := s[t : n-t]
	var sum int64
	for _, v := range kept {
		if sum, err = addI(sum, v); err != nil {
			return 0, 0, false, fmt.Errorf("control estimate: %w", err)
		}
	}
	est, err := FloorMulDiv(sum, 1, int64(len(kept)))
	if err != nil {
		return 0, 0, false, err
	}
	return est, len(kept), true, nil
}

// ControlSplit says which commitments are in the control group: the k
// commitments with the lowest rank are control, where k = ⌊n · sharePPM /
// 10^6⌋ and rank[i] is a number no site could know when it committed (the
// ledger's: SHA-256 of a seed from a block after the commitment deadline
// and the site). Ties (equal ranks) go to the lower index. The result is
// independent of the order commitments were made in only through rank,
// which the caller derives from the site, not the index.
func ControlSplit(rank [][32]byte, sharePPM int64) ([]bool, error) {
	if sharePPM < 0 || sharePPM > PPM {
		return nil, fmt.Errorf("%w: control share %d ppm", ErrInput, sharePPM)
	}
	n := len(rank)
	k, err := FloorMulDiv(int64(n), sharePPM, PPM)
	if err != nil {
		return nil, err
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		for j := 0; j < 32; j++ {
			if rank[a][j] != rank[b][j] {
				return int(rank[a][j]) - int(rank[b][j])
			}
		}
		return 0
	})
	control := make([]bool, n)
	for _, i := range idx[:k] {
		control[i] = true
	}
	return control, nil
}
