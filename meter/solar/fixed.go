package solar

import "math/bits"

// Fixed-point formats used inside the package (see doc.go):
//
//   - angles: nanodegrees (nd) in int64, 1° = 1e9 nd. Public results are
//     rounded to micro-degrees.
//   - unit-interval quantities (sines, cosines, eccentricity, AU): Q30,
//     value × 2^30 in int64, so 1.0 = one = 1073741824.
//
// Every routine is a fixed sequence of integer adds, shifts, multiplies and
// divides, so results are bit-identical on every platform Go supports.

const (
	one      int64 = 1 << 30 // 1.0 in Q30
	ndPerDeg int64 = 1_000_000_000
	deg90    int64 = 90 * ndPerDeg
	deg180   int64 = 180 * ndPerDeg
	deg360   int64 = 360 * ndPerDeg

	// ndPerRadMilli is 180/π in nanodegrees per radian, times 1000
	// (57295779513.082 nd/rad).
	ndPerRadMilli int64 = 57_295_779_513_082
)

// cordicIter is the number of CORDIC iterations; the residual angle after
// it is below atan(2^-35) ≈ 1.7 nd, well under the 5.3e-8° (one Q30 LSB)
// resolution of the outputs.
const cordicIter = 36

// cordicAtanPd[i] is atan(2^-i) in picodegrees, rounded to nearest
// (fixed_test.go checks every entry against math.Atan).
var cordicAtanPd = [cordicIter]int64{
	45000000000000, 26565051177078, 14036243467926, 7125016348902,
	3576334374997, 1789910608246, 895173710211, 447614170861,
	223810500369, 111905677066, 55952891894, 27976452617,
	13988227142, 6994113675, 3497056851, 1748528427,
	874264214, 437132107, 218566053, 109283027,
	54641513, 27320757, 13660378, 6830189,
	3415095, 1707547, 853774, 426887,
	213443, 106722, 53361, 26680,
	13340, 6670, 3335, 1668,
}

// cordicGainQ40 is ∏ 1/sqrt(1+2^-2i) over cordicIter iterations, in Q40
// (0.60725293500888...).
const cordicGainQ40 int64 = 667681663043

// floorMod returns a mod m in [0, m) for m > 0.
func floorMod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// floorDiv returns ⌊a/m⌋ for m > 0.
func floorDiv(a, m int64) int64 {
	q := a / m
	if a%m != 0 && a < 0 {
		q--
	}
	return q
}

// wrap180 maps an angle in nd to [-180°, 180°).
func wrap180(a int64) int64 { return floorMod(floorMod(a, deg360)+deg180, deg360) - deg180 }

// mulDiv returns a*b/c rounded to nearest (ties away from zero), computed
// with a 128-bit intermediate so that a*b may exceed int64. c must be
// non-zero; a quotient that does not fit in int64 saturates. Callers keep
// their operands in ranges where saturation cannot happen; it exists only
// so that no input can make the package panic.
func mulDiv(a, b, c int64) int64 {
	if c == 0 {
		return 0
	}
	neg := false
	ua, ub, uc := absU(a, &neg), absU(b, &neg), absU(c, &neg)
	hi, lo := bits.Mul64(ua, ub)
	// Add c/2 for rounding.
	var carry uint64
	lo, carry = bits.Add64(lo, uc/2, 0)
	hi += carry
	if hi >= uc {
		if neg {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, uc)
	if q > 1<<63-1 {
		if neg {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}

func absU(a int64, neg *bool) uint64 {
	if a < 0 {
		*neg = !*neg
		return uint64(-a) // well defined for MinInt64 too: 1<<63
	}
	return uint64(a)
}

// mulQ returns a*b in Q30 for Q30 operands whose product fits in int64
// (|a|,|b| ≤ 2^31), rounded to nearest.
func mulQ(a, b int64) int64 { return (a*b + 1<<29) >> 30 }

// isqrt returns ⌊√n⌋.
func isqrt(n uint64) uint64 {
	if n < 2 {
		return n
	}
	x := uint64(1) << ((bits.Len64(n) + 1) / 2) // x ≥ √n
	for {
		y := (x + n/x) / 2
		if y >= x {
			return x
		}
		x = y
	}
}

// sqrtQ returns √x in Q30 for x in Q30, x ≥ 0 (negative x gives 0).
func sqrtQ(x int64) int64 {
	if x <= 0 {
		return 0
	}
	return int64(isqrt(uint64(x) << 30)) // x < 2^33 for every caller
}

// sincos returns sin(a) and cos(a) in Q30 for an angle a in nanodegrees
// (any int64). Max error (measured in fixed_test.go): see doc.go.
func sincos(a int64) (sin, cos int64) {
	t := wrap180(a)
	neg := false
	if t > deg90 {
		t -= deg180
		neg = true
	} else if t < -deg90 {
		t += deg180
		neg = true
	}
	// Rotation-mode CORDIC in Q40 with the angle accumulator in picodegrees.
	x, y, z := cordicGainQ40, int64(0), t*1000
	for i := 0; i < cordicIter; i++ {
		dx, dy := y>>uint(i), x>>uint(i)
		if z >= 0 {
			x, y, z = x-dx, y+dy, z-cordicAtanPd[i]
		} else {
			x, y, z = x+dx, y-dy, z+cordicAtanPd[i]
		}
	}
	sin, cos = clampUnit((y+1<<9)>>10), clampUnit((x+1<<9)>>10)
	if neg {
		sin, cos = -sin, -cos
	}
	return sin, cos
}

func clampUnit(v int64) int64 {
	if v > one {
		return one
	}
	if v < -one {
		return -one
	}
	return v
}

// atan2 returns the angle of the vector (x, y) in nanodegrees, in
// (-180°, 180°]. atan2(0, 0) is 0. Any int64 inputs are accepted.
func atan2(y, x int64) int64 {
	// Exact results on the axes (the iteration would leave a residue of
	// a few nd of either sign there).
	switch {
	case y == 0 && x >= 0:
		return 0
	case y == 0:
		return deg180
	case x == 0 && y > 0:
		return deg90
	case x == 0:
		return -deg90
	}
	// Keep -MinInt64 out of reach; halving both keeps the angle.
	if x == -1<<63 || y == -1<<63 {
		x, y = x>>1, y>>1
	}
	m := absI(x)
	if ay := absI(y); ay > m {
		m = ay
	}
	// Scale so that max(|x|,|y|) is in [2^38, 2^39): headroom for the
	// CORDIC gain (×1.65), and enough bits for full Q30 precision.
	if l := bits.Len64(uint64(m)); l > 39 {
		x, y = x>>uint(l-39), y>>uint(l-39)
	} else if l < 39 {
		x, y = x<<uint(39-l), y<<uint(39-l)
	}
	return atan2Norm(y, x)
}

func absI(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// atan2Norm is atan2 for inputs already scaled to at most 2^39 in magnitude.
func atan2Norm(y, x int64) int64 {
	flip := false
	if x < 0 {
		x, y = -x, -y
		flip = true
	}
	// Vectoring-mode CORDIC: rotate (x, y) onto the positive x axis,
	// accumulating the rotation (picodegrees) in z.
	var z int64
	for i := 0; i < cordicIter; i++ {
		dx, dy := y>>uint(i), x>>uint(i)
		if y > 0 {
			x, y, z = x+dx, y-dy, z+cordicAtanPd[i]
		} else {
			x, y, z = x-dx, y+dy, z-cordicAtanPd[i]
		}
	}
	a := roundDiv(z, 1000)
	if flip {
		if a <= 0 {
			a += deg180
		} else {
			a -= deg180
		}
	}
	return a
}

// roundDiv returns a/b rounded to nearest, ties away from zero, for b > 0.
func roundDiv(a, b int64) int64 {
	if a >= 0 {
		return (a + b/2) / b
	}
	return -((-a + b/2) / b)
}

// asin returns asin(s) in nanodegrees for s in Q30 (clamped to [-1, 1]).
func asin(s int64) int64 {
	s = clampUnit(s)
	return atan2(s, sqrtQ(one-mulQ(s, s)))
}

// acos returns acos(c) in nanodegrees, in [0°, 180°], for c in Q30
// (clamped to [-1, 1]).
func acos(c int64) int64 {
	c = clampUnit(c)
	a := atan2(sqrtQ(one-mulQ(c, c)), c)
	// The vector has y ≥ 0, so the true angle is in [0°, 180°]; a residue
	// of a few nd may have crossed either end.
	if a < -deg90 {
		a = deg180
	} else if a < 0 {
		a = 0
	}
	return a
}
