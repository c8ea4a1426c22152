package baseline

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFloorMulDivTable(t *testing.T) {
	cases := []struct{ a, b, c, want int64 }{
		{7, 1, 2, 3},
		{-7, 1, 2, -4}, // toward −∞, not toward zero
		{7, -1, 2, -4},
		{-7, -1, 2, 3},
		{-8, 1, 2, -4},
		{0, -5, 3, 0},
		{-1, 1, 1_000_000, -1},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64}, // 126-bit product
		{math.MinInt64, 1, 1, math.MinInt64},
		{math.MinInt64, 1, 2, math.MinInt64 / 2},
		{1_234_567, 1_200_000, 10 * PPM, 148148}, // 148148.04 → 148148
	}
	for _, tc := range cases {
		got, err := FloorMulDiv(tc.a, tc.b, tc.c)
		if err != nil || got != tc.want {
			t.Errorf("FloorMulDiv(%d,%d,%d) = %d, %v; want %d", tc.a, tc.b, tc.c, got, err, tc.want)
		}
	}
	if _, err := FloorMulDiv(1, 1, 0); !errors.Is(err, ErrDivideByZero) {
		t.Errorf("c=0: %v", err)
	}
	if _, err := FloorMulDiv(1, 1, -3); !errors.Is(err, ErrDivideByZero) {
		t.Errorf("c<0: %v", err)
	}
	if _, err := FloorMulDiv(math.MaxInt64, 4, 2); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if _, err := FloorMulDiv(math.MinInt64, -1, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("−MinInt64: %v", err)
	}
	if got, err := FloorMulDivU(math.MaxUint64, math.MaxUint64, math.MaxUint64); err != nil || got != math.MaxUint64 {
		t.Errorf("FloorMulDivU max: %d %v", got, err)
	}
}

// TestFloorMulDivAgainstBig checks the helper against math/big on seeded
// random operands, including ones whose product needs 128 bits.
func TestFloorMulDivAgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		a := int64(rng.Uint64())
		b := int64(rng.Uint64()) >> rng.IntN(64)
		c := int64(rng.Uint64()>>1) >> rng.IntN(63)
		if c == 0 {
			c = 1
		}
		want := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		m := new(big.Int)
		want.DivMod(want, big.NewInt(c), m) // Euclidean; c > 0 so this is floor
		got, err := FloorMulDiv(a, b, c)
		if !want.IsInt64() {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("%d*%d/%d: want overflow, got %d %v", a, b, c, got, err)
			}
			continue
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("%d*%d/%d = %d %v, want %s", a, b, c, got, err, want)
		}
	}
}

// subI against the exact difference: every case either fits and is exact
// or reports ErrOverflow.
func TestSubI(t *testing.T) {
	vals := []int64{math.MinInt64, math.MinInt64 + 1, -2, -1, 0, 1, 2, math.MaxInt64 - 1, math.MaxInt64}
	for _, a := range vals {
		for _, b := range vals {
			got, err := subI(a, b)
			want := new(big.Int).Sub(big.NewInt(a), big.NewInt(b))
			if want.IsInt64() != (err == nil) || (err == nil && got != want.Int64()) || (err != nil && !errors.Is(err, ErrOverflow)) {
				t.Errorf("subI(%d, %d) = %d, %v; want %s", a, b, got, err, want)
			}
		}
	}
}

// TestOneDivision enforces the rule that every division goes through
// divmod128: no / or % operator (nor /=, %=) in any non-test file.
func TestOneDivision(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BinaryExpr:
				if x.Op == token.QUO || x.Op == token.REM {
					t.Errorf("%s: division operator outside divmod128", fset.Position(x.Pos()))
				}
			case *ast.AssignStmt:
				if x.Tok == token.QUO_ASSIGN || x.Tok == token.REM_ASSIGN {
					t.Errorf("%s: division operator outside divmod128", fset.Position(x.Pos()))
				}
			}
			return true
		})
	}
}

func TestCalendar(t *testing.T) {
	// 2026-11-23 00:00 UTC is a Monday; genesis at local midnight UTC−6.
	c := Calendar{GenesisUnix: 1795392000 + 6*3600, IntervalSeconds: 900, UTCOffsetSeconds: -6 * 3600}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.DayOf(0)
	if c.Weekday(d) != 1 {
		t.Fatalf("weekday of genesis day = %d, want Monday", c.Weekday(d))
	}
	if c.DayStart(d) != 0 || c.DayOf(95) != d || c.DayOf(96) != d+1 || c.DayOf(-1) != d-1 {
		t.Fatalf("day boundaries wrong")
	}
	if c.TypeOf(d+5) != WeekendHoliday || c.TypeOf(d+4) != Weekday {
		t.Fatalf("weekend detection wrong")
	}
	c.Holidays = []int64{d + 3}
	if c.TypeOf(d+3) != WeekendHoliday || c.IsHoliday(d+2) {
		t.Fatalf("holiday detection wrong")
	}
	bad := c
	bad.GenesisUnix += 60
	if err := bad.Validate(); !errors.Is(err, ErrCalendar) {
		t.Fatalf("misaligned midnight accepted: %v", err)
	}
	bad = c
	bad.Holidays = []int64{5, 5}
	if err := bad.Validate(); !errors.Is(err, ErrCalendar) {
		t.Fatalf("unsorted holidays accepted")
	}
}
