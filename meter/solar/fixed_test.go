package solar

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

const q30 = float64(one)

func ndToRad(a int64) float64 { return float64(a) / 1e9 * math.Pi / 180 }

func TestCordicTable(t *testing.T) {
	for i, v := range cordicAtanPd {
		want := math.Atan(math.Ldexp(1, -i)) * 180 / math.Pi * 1e12
		if math.Abs(float64(v)-want) > 0.5+1e-3*math.Max(1, want*1e-12) {
			t.Errorf("cordicAtanPd[%d] = %d, want %.1f", i, v, want)
		}
	}
	k := 1.0
	for i := 0; i < cordicIter; i++ {
		k /= math.Sqrt(1 + math.Ldexp(1, -2*i))
	}
	if got, want := float64(cordicGainQ40), k*math.Ldexp(1, 40); math.Abs(got-want) > 0.5 {
		t.Errorf("cordicGainQ40 = %v, want %v", got, want)
	}
}

// TestSinCosDense compares sincos with math.Sin/math.Cos on a dense grid of
// 0.0001° steps over one full turn plus random angles over the whole int64
// range. Max error: see the logged figure (asserted ≤ 4e-9, i.e. about 4
// Q30 LSB).
func TestSinCosDense(t *testing.T) {
	const tol = 4e-9
	var maxErr float64
	check := func(a int64) {
		s, c := sincos(a)
		r := ndToRad(floorMod(a, deg360))
		es := math.Abs(float64(s)/q30 - math.Sin(r))
		ec := math.Abs(float64(c)/q30 - math.Cos(r))
		e := math.Max(es, ec)
		if e > maxErr {
			maxErr = e
		}
		if e > tol {
			t.Fatalf("sincos(%d nd): got (%v, %v), want (%v, %v)", a, float64(s)/q30, float64(c)/q30, math.Sin(r), math.Cos(r))
		}
	}
	step, nRand := int64(100_000), 200_000 // 0.0001° steps
	if testing.Short() {
		step, nRand = 1_000_003, 20_000
	}
	for a := -deg360; a <= deg360; a += step {
		check(a)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < nRand; i++ {
		check(rng.Int64() - rng.Int64())
	}
	for _, a := range []int64{0, deg90, -deg90, deg180, -deg180, 1 << 62, -1 << 63, 1<<63 - 1} {
		check(a)
	}
	t.Logf("sincos max abs error %.3g (%.2f Q30 LSB)", maxErr, maxErr*q30)
}

// TestAtan2Dense compares atan2 with math.Atan2 on points around circles of
// radius 2^0..2^62 and on random int64 pairs; error asserted below 2e-7°.
func TestAtan2Dense(t *testing.T) {
	const tolDeg = 2e-7
	var maxErr float64
	check := func(y, x int64) {
		got := float64(atan2(y, x)) / 1e9
		want := math.Atan2(float64(y), float64(x)) * 180 / math.Pi
		e := math.Abs(got - want)
		if e > 180 { // ±180° are the same direction
			e = math.Abs(e - 360)
		}
		if e > maxErr {
			maxErr = e
		}
		if e > tolDeg {
			t.Fatalf("atan2(%d, %d) = %v°, want %v°", y, x, got, want)
		}
	}
	for shift := 10; shift <= 62; shift += 4 {
		r := math.Ldexp(1, shift)
		for k := 0; k < 36000; k++ {
			th := float64(k) * math.Pi / 18000
			check(int64(r*math.Sin(th)*0.99), int64(r*math.Cos(th)*0.99))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200_000; i++ {
		check(int64(rng.Uint64()), int64(rng.Uint64()))
	}
	for _, v := range [][2]int64{{0, 1}, {1, 0}, {0, -1}, {-1, 0}, {-1 << 63, -1 << 63}, {-1 << 63, 1<<63 - 1}, {1, 1<<63 - 1}} {
		check(v[0], v[1])
	}
	if atan2(0, 0) != 0 {
		t.Error("atan2(0,0) != 0")
	}
	t.Logf("atan2 max error %.3g°", maxErr)
}

// TestAsinAcosDense compares asin/acos with math.Asin/math.Acos over the
// whole Q30 domain in steps of 2^-20 and near ±1 in steps of one LSB.
// The error is bounded by the conditioning of the function: 2e-7° plus the
// effect of one Q30 LSB of input, 1/√(1-x²)·LSB.
func TestAsinAcosDense(t *testing.T) {
	var maxErr, maxRel float64
	check := func(s int64) {
		x := float64(s) / q30
		cond := 180 / math.Pi / q30 / math.Sqrt(math.Max(1-x*x, 1/q30))
		for _, c := range []struct {
			got, want float64
		}{
			{float64(asin(s)) / 1e9, math.Asin(x) * 180 / math.Pi},
			{float64(acos(s)) / 1e9, math.Acos(x) * 180 / math.Pi},
		} {
			e := math.Abs(c.got - c.want)
			if e > maxErr {
				maxErr = e
			}
			if r := e / (2e-7 + cond); r > maxRel {
				maxRel = r
			}
			if e > 2e-7+cond {
				t.Fatalf("asin/acos(%v): got %v, want %v", x, c.got, c.want)
			}
		}
	}
	step := int64(1 << 10)
	if testing.Short() {
		step = 1<<13 + 1
	}
	for s := -one; s <= one; s += step {
		check(s)
	}
	for d := int64(0); d < 5000; d++ {
		check(one - d)
		check(-one + d)
	}
	t.Logf("asin/acos max error %.3g° (worst at ±1 where 1 LSB of input is %.3g°); max error/bound %.2f",
		maxErr, math.Acos(1-1/q30)*180/math.Pi, maxRel)
	if asin(one) != deg90 || acos(one) != 0 || acos(-one) != deg180 {
		t.Errorf("exact end points: asin(1)=%d acos(1)=%d acos(-1)=%d", asin(one), acos(one), acos(-one))
	}
}

func TestIsqrt(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	check := func(n uint64) {
		r := isqrt(n)
		// r² ≤ n < (r+1)², checked in big.Int.
		br := new(big.Int).SetUint64(r)
		bn := new(big.Int).SetUint64(n)
		sq := new(big.Int).Mul(br, br)
		br1 := new(big.Int).Add(br, big.NewInt(1))
		sq1 := new(big.Int).Mul(br1, br1)
		if sq.Cmp(bn) > 0 || sq1.Cmp(bn) <= 0 {
			t.Fatalf("isqrt(%d) = %d", n, r)
		}
	}
	for n := uint64(0); n < 100_000; n++ {
		check(n)
	}
	for i := 0; i < 100_000; i++ {
		check(rng.Uint64() >> uint(rng.IntN(64)))
	}
	check(1<<64 - 1)
	check(1 << 62)
}

func TestMulDiv(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	maxI := big.NewInt(1<<63 - 1)
	minI := big.NewInt(-1 << 63)
	check := func(a, b, c int64) {
		got := mulDiv(a, b, c)
		if c == 0 {
			if got != 0 {
				t.Fatalf("mulDiv(%d,%d,0) = %d", a, b, got)
			}
			return
		}
		// Exact: round half away from zero of a*b/c.
		num := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		den := big.NewInt(c)
		neg := num.Sign()*den.Sign() < 0
		num.Abs(num)
		den.Abs(den)
		num.Add(num, new(big.Int).Rsh(den, 1))
		q := num.Quo(num, den)
		if neg {
			q.Neg(q)
		}
		if q.Cmp(maxI) > 0 {
			q = maxI
		} else if q.Cmp(minI) < 0 {
			q = minI
		}
		if q.Int64() != got {
			t.Fatalf("mulDiv(%d,%d,%d) = %d, want %s", a, b, c, got, q)
		}
	}
	for i := 0; i < 200_000; i++ {
		a := int64(rng.Uint64()) >> uint(rng.IntN(64))
		b := int64(rng.Uint64()) >> uint(rng.IntN(64))
		c := int64(rng.Uint64()) >> uint(rng.IntN(64))
		check(a, b, c)
	}
	for _, v := range [][3]int64{{-1 << 63, -1 << 63, 1}, {-1 << 63, 1, -1}, {5, 1, 2}, {-5, 1, 2}, {1 << 62, 4, 1}} {
		check(v[0], v[1], v[2])
	}
}
