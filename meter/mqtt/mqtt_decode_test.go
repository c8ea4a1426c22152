package mqtt

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		s    string
		exp  int
		want int64
	}{
		{"0", 0, 0},
		{"1234", 0, 1234},
		{"1234.5", 0, 1234},
		{"-1234.5", 0, -1235}, // floor
		{"-1234.0", 0, -1234},
		{"+7", 0, 7},
		{".5", 3, 500},
		{"1.", 0, 1},
		{"1.2345", 3, 1234}, // kW → W
		{"12345.6789", 3, 12345678},
		{"57.3", 4, 573000}, // % → ppm
		{"0.573", 6, 573000},
		{"1e3", 0, 1000},
		{"1.5E-1", 1, 1},
		{"-2.5e0", 0, -3},
		{"000000000000000000000000000000000000000000000000000123", 0, 123},
		{"0.0000000000000000000000000000000000000000000000000001", 0, 0},
		{"-0.0000000000000000000000000000000000000000000000000001", 0, -1},
		{"9223372036854775807", 0, 1<<63 - 1},
		{"-9223372036854775808", 0, -1 << 63},
		{"-9223372036854775807.5", 0, -1 << 63},
		{"0e400", 0, 0},
	} {
		got, err := parseDecimal(c.s, c.exp)
		if err != nil || got != c.want {
			t.Errorf("parseDecimal(%q, %d) = %d, %v; want %d", c.s, c.exp, got, err, c.want)
		}
	}
	for _, s := range []string{"", "-", ".", "1.2.3", "0x10", "1e", "1e+", "1e5000", "Inf", "NaN", " 1", "1 ", "1,5",
		"9223372036854775808", "-9223372036854775809", "1e19", "1_000"} {
		if v, err := parseDecimal(s, 0); !errors.Is(err, ErrBadNumber) {
			t.Errorf("parseDecimal(%q) = %d, %v; want ErrBadNumber", s, v, err)
		}
	}
}

func TestJSONPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"$":                  "",
		"a":                  "a",
		"$.a.b":              "a.b",
		"ENERGY.Power[0]":    "ENERGY.Power[0]",
		"[2].value":          "[2].value",
		"a[0][1].b":          "a[0][1].b",
		"site.grid-power_W":  "site.grid-power_W",
		"$[0]":               "[0]",
		"loadpoints[10].soc": "loadpoints[10].soc",
	} {
		p, err := parseJSONPath(in)
		if err != nil || p.String() != want {
			t.Errorf("parseJSONPath(%q) = %q, %v; want %q", in, p, err, want)
		}
	}
	for _, in := range []string{"a..b", ".", "a.", "a[", "a[x]", "a[-1]", "a[+1]", "a]", "a[1]b", "[1].", "a.[1]", strings.Repeat("a.", 40) + "a"} {
		if p, err := parseJSONPath(in); !errors.Is(err, ErrBadPath) {
			t.Errorf("parseJSONPath(%q) = %v, %v; want ErrBadPath", in, p, err)
		}
	}
}

func TestPayloadNumber(t *testing.T) {
	path := func(s string) jsonPath {
		p, err := parseJSONPath(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		payload, path string
		exp           int
		want          int64
	}{
		{"1234.5", "", 0, 1234},
		{" 42\n", "", 0, 42},
		{`"17.5"`, "", 0, 17},
		{`{"a":{"b":[1,{"c":"2.5"}]}}`, "a.b[1].c", 3, 2500},
		{`{"ENERGY":{"Power":[100,200]}}`, "ENERGY.Power[1]", 0, 200},
		{`[{"v":-1.25}]`, "[0].v", 0, -2},
		{`{"x": 1e2}`, "x", 0, 100},
	} {
		got, err := payloadNumber([]byte(c.payload), path(c.path), c.exp)
		if err != nil || got != c.want {
			t.Errorf("payloadNumber(%s, %s) = %d, %v; want %d", c.payload, c.path, got, err, c.want)
		}
	}
	for _, c := range []struct {
		payload, path string
		want          error
	}{
		{"unavailable", "", ErrNoValue},
		{"unknown", "", ErrNoValue},
		{"", "", ErrNoValue},
		{`{"a":null}`, "a", ErrNoValue},
		{`{"a":null}`, "a.b", ErrNoValue},
		{`{"a":"unavailable"}`, "a", ErrNoValue},
		{"on", "", ErrBadNumber},
		{`{"a":true}`, "a", ErrBadNumber},
		{`{"a":{"b":1}}`, "a", ErrBadNumber},
		{`{"a":1}`, "b", ErrBadPath},
		{`{"a":[1]}`, "a[1]", ErrBadPath},
		{`{"a":[1]}`, "a.b", ErrBadPath},
		{`{"a":1}`, "[0]", ErrBadPath},
		{`{"a":1}`, "a.b", ErrBadPath},
	} {
		if _, err := payloadNumber([]byte(c.payload), path(c.path), 0); !errors.Is(err, c.want) {
			t.Errorf("payloadNumber(%s, %s): %v; want %v", c.payload, c.path, err, c.want)
		}
	}
	for _, bad := range []string{`{"a":1} x`, `{"a":`, `{"a":1}{}`} {
		if _, err := payloadNumber([]byte(bad), path("a"), 0); err == nil {
			t.Errorf("payload %q accepted", bad)
		}
	}
	if _, err := payloadNumber([]byte(strings.Repeat("1", maxPayload+1)), nil, 0); err == nil {
		t.Error("oversized payload accepted")
	}
}

// ratFloor is floor(s * 10^exp) by exact rational arithmetic, or false
// when s is not a number big.Rat reads the way parseDecimal should.
func ratFloor(s string, exp int) (*big.Int, bool) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, false
	}
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(fuzzAbs(exp))), nil))
	if exp >= 0 {
		r.Mul(r, p)
	} else {
		r.Quo(r, p)
	}
	return new(big.Int).Div(r.Num(), r.Denom()), true
}

// decimalSyntax says whether s is in parseDecimal's grammar:
// [+-] digits [. digits] [(e|E) [+-] digits], with at least one digit and
// an exponent of at most maxExponent.
func decimalSyntax(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	mant, ex, hasE := strings.Cut(strings.ReplaceAll(s, "E", "e"), "e")
	if strings.Count(s, "e")+strings.Count(s, "E") > 1 {
		return false
	}
	ip, fp, _ := strings.Cut(mant, ".")
	if ip+fp == "" || strings.Trim(ip+fp, "0123456789") != "" {
		return false
	}
	if hasE {
		if ex != "" && (ex[0] == '+' || ex[0] == '-') {
			ex = ex[1:]
		}
		if ex == "" || strings.Trim(ex, "0123456789") != "" {
			return false
		}
		if n, err := strconv.Atoi(ex); err != nil || n > maxExponent {
			return false // parseDecimal bounds the exponent
		}
	}
	return true
}

// FuzzDecimal checks parseDecimal against exact rational arithmetic.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"0", "1234.5", "-1234.5", "1.2345", "1e3", "-0.0001", "9223372036854775807", "-9223372036854775808", ".5", "1.", "1e-400", "0e400"} {
		f.Add(s, int8(0))
		f.Add(s, int8(3))
	}
	f.Fuzz(func(t *testing.T, s string, e int8) {
		exp := int(e) % 10
		got, err := parseDecimal(s, exp)
		if !decimalSyntax(s) {
			if err == nil {
				t.Fatalf("parseDecimal(%q) accepted text outside the grammar: %d", s, got)
			}
			return
		}
		want, ok := ratFloor(s, exp)
		if !ok {
			return // big.Rat is stricter in corners (e.g. huge exponents); no-panic is the check
		}
		if !want.IsInt64() {
			if err == nil {
				t.Fatalf("parseDecimal(%q, %d) = %d; want an overflow error (%s)", s, exp, got, want)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("parseDecimal(%q, %d) = %d, %v; want %s", s, exp, got, err, want)
		}
	})
}

// FuzzJSONPath: a path parses, or is ErrBadPath; a parsed path prints to a
// string that parses to the same path.
func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{"", "$", "a.b", "ENERGY.Power[0]", "[2].value", "a[0][1].b", "$.site.gridPower", "a..b", "a["} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseJSONPath(s)
		if err != nil {
			if !errors.Is(err, ErrBadPath) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		q, err := parseJSONPath(p.String())
		if err != nil || q.String() != p.String() || len(q) != len(p) {
			t.Fatalf("%q -> %q -> %q, %v", s, p, q, err)
		}
	})
}

// FuzzMQTTPayload: any payload with any path gives a number or an error.
func FuzzMQTTPayload(f *testing.F) {
	for _, c := range [][2]string{
		{"1234.5", ""},
		{"unavailable", ""},
		{`"17.5"`, ""},
		{`{"ENERGY":{"Total":1234.567,"Power":[100,200]}}`, "ENERGY.Power[1]"},
		{`{"energy":{"import_kwh":"12345.6789"}}`, "energy.import_kwh"},
		{`[{"v":-1.25}]`, "[0].v"},
		{`{"a":null}`, "a.b"},
	} {
		f.Add([]byte(c[0]), c[1], uint8(3))
	}
	f.Fuzz(func(t *testing.T, payload []byte, path string, e uint8) {
		p, err := parseJSONPath(path)
		if err != nil {
			return
		}
		payloadNumber(payload, p, int(e%7))
	})
}

func BenchmarkPayloadNumber(b *testing.B) {
	payload := []byte(`{"Time":"2026-06-01T12:00:00","ENERGY":{"Total":1234.567,"Power":[7360,12],"Voltage":231}}`)
	p, _ := parseJSONPath("ENERGY.Power[0]")
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := payloadNumber(payload, p, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := payloadNumber([]byte("1234.5"), nil, 3); err != nil {
				b.Fatal(err)
			}
		}
	})
}
