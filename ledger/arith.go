package ledger

import (
	"errors"
	"math"
	"math/bits"
)

// Checked arithmetic. Every product or sum of quantities a user chose
// (amounts, fees, W, Wh, prices, window lengths, bonds) goes through these
// helpers or is bounded first by a documented limit (see the package doc,
// "Arithmetic"); a result that does not fit is refused with ErrOverflow, it
// never wraps and never panics.

// ErrOverflow: a quantity of the transaction does not fit the integer it is
// kept in (a transaction whose numbers are too large).
var ErrOverflow = errors.New("arithmetic overflow")

// Bounds on the numbers of a flexibility request. They are far above any
// real grid (a terawatt, a million FLX per kWh) and low enough that the
// escrow's intermediate products stay exact in 64 bits:
// ⌊MaxFlexTargetW × 3600 / 3600⌋ × 1440 intervals × cap ≤ 2^40 × 2^11 × 10
// < 2^55 Wh. The escrow itself (price × Wh / 1000) must also fit 64 bits:
// MaxPayoutChecked refuses the terms where it does not.
const (
	// MaxFlexTargetW bounds a request's TargetW and a commitment's
	// CommittedW (the baseline package's own limit, 2^40 W).
	MaxFlexTargetW = 1 << 40
	// MaxFlexPrice bounds PriceBaseUnitsPerKWh.
	MaxFlexPrice = 1 << 40
	// MaxFlexInterval bounds a window's End (interval index), as
	// baseline.Calendar bounds interval numbers.
	MaxFlexInterval = 1 << 40
)

// addU returns a + b and whether it fits.
func addU(a, b uint64) (uint64, bool) {
	s, carry := bits.Add64(a, b, 0)
	return s, carry == 0
}

// mulU returns a × b and whether it fits.
func mulU(a, b uint64) (uint64, bool) {
	hi, lo := bits.Mul64(a, b)
	return lo, hi == 0
}

// mulDivU returns ⌊a × b / c⌋ (the product exact in 128 bits) and whether
// it fits; c == 0 does not fit.
func mulDivU(a, b, c uint64) (uint64, bool) {
	if c == 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return 0, false // the quotient needs more than 64 bits
	}
	q, _ := bits.Div64(hi, lo, c)
	return q, true
}

// satAdd is a + b, saturating at the largest uint64. Only for figures that
// are reported or used as weights, never for money.
func satAdd(a, b uint64) uint64 {
	if s, ok := addU(a, b); ok {
		return s
	}
	return math.MaxUint64
}

// sumU sums xs and reports whether the sum fits.
func sumU(xs ...uint64) (uint64, bool) {
	var t uint64
	for _, x := range xs {
		var ok bool
		if t, ok = addU(t, x); !ok {
			return 0, false
		}
	}
	return t, true
}
