package baseline

import (
	"errors"
	"math"
	"math/bits"
)

// ErrOverflow is returned when an intermediate or final quantity does not fit
// its integer type. With real meter data (Wh per 15-minute interval, prices in
// base units per kWh) it cannot happen; it exists so that hostile or corrupt
// inputs produce an error instead of a silently wrapped number.
var ErrOverflow = errors.New("baseline: integer overflow")

// ErrDivideByZero is returned when a divisor is zero or negative.
var ErrDivideByZero = errors.New("baseline: division by zero or negative divisor")

// divmod128 is the only place in this package that divides. It returns
// q = ⌊a·b/c⌋ and r = a·b − q·c for unsigned operands, computing the product
// in 128 bits (math/bits) so that a·b never wraps. ok is false when c is zero
// or the quotient does not fit 64 bits.
//
// Every other division in the package — Wh averages, ppm ratios, payouts,
// slashes, day numbers — is FloorMulDiv or FloorMulDivU, which are both thin
// wrappers around this function, so the rounding rule is the same everywhere:
// toward −∞.
func divmod128(a, b, c uint64) (q, r uint64, ok bool) {
	if c == 0 {
		return 0, 0, false
	}
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return 0, 0, false
	}
	q, r = bits.Div64(hi, lo, c)
	return q, r, true
}

// FloorMulDiv returns ⌊a·b/c⌋, rounded toward −∞ (so ⌊−7/2⌋ = −4, not −3 as
// Go's / would give). The product a·b is exact (128 bits). c must be > 0.
// It returns ErrDivideByZero for c ≤ 0 and ErrOverflow when the result does
// not fit an int64.
//
// Plain floor division is FloorMulDiv(a, 1, c).
func FloorMulDiv(a, b, c int64) (int64, error) {
	if c <= 0 {
		return 0, ErrDivideByZero
	}
	neg := (a < 0) != (b < 0)
	if a == 0 || b == 0 {
		neg = false
	}
	q, r, ok := divmod128(absU(a), absU(b), uint64(c))
	if !ok {
		return 0, ErrOverflow
	}
	if !neg {
		if q > math.MaxInt64 {
			return 0, ErrOverflow
		}
		return int64(q), nil
	}
	// Negative exact quotient −(q + r/c): its floor is −q when r = 0 and
	// −(q+1) otherwise.
	if r != 0 {
		q++
	}
	if q > 1<<63 {
		return 0, ErrOverflow
	}
	return int64(-q), nil // -q wraps correctly to math.MinInt64 when q = 2^63
}

// FloorMulDivU returns ⌊a·b/c⌋ for unsigned operands (money in base units),
// with the product exact in 128 bits. c must be > 0.
func FloorMulDivU(a, b, c uint64) (uint64, error) {
	q, _, ok := divmod128(a, b, c)
	if !ok {
		if c == 0 {
			return 0, ErrDivideByZero
		}
		return 0, ErrOverflow
	}
	return q, nil
}

// floorMod returns a − c·⌊a/c⌋, always in [0, c).
func floorMod(a, c int64) (int64, error) {
	q, err := FloorMulDiv(a, 1, c)
	if err != nil {
		return 0, err
	}
	return a - q*c, nil
}

func absU(a int64) uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1 // safe for math.MinInt64
	}
	return uint64(a)
}

// addI and mulI are checked int64 arithmetic.
func addI(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, ErrOverflow
	}
	return s, nil
}

// subI is checked a − b (unlike addI(a, -b), also right for b = math.MinInt64).
func subI(a, b int64) (int64, error) {
	s := a - b
	if (b > 0 && s > a) || (b < 0 && s < a) {
		return 0, ErrOverflow
	}
	return s, nil
}

func mulI(a, b int64) (int64, error) {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(absU(a), absU(b))
	if hi != 0 {
		return 0, ErrOverflow
	}
	if !neg {
		if lo > math.MaxInt64 {
			return 0, ErrOverflow
		}
		return int64(lo), nil
	}
	if lo > 1<<63 {
		return 0, ErrOverflow
	}
	return int64(-lo), nil
}

func addU(a, b uint64) (uint64, error) {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return 0, ErrOverflow
	}
	return s, nil
}
