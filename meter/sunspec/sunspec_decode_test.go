package sunspec

import (
	"github.com/gridmint/gridmint/meter"

	"encoding/binary"
	"errors"
	"math/big"
	"testing"
	"time"
)

func TestScaleInt(t *testing.T) {
	for _, c := range []struct {
		v    int64
		exp  int
		want int64
		err  bool
	}{
		{12345, 0, 12345, false},
		{12345, -1, 1234, false},
		{-12345, -1, -1235, false}, // floor, not truncation
		{-12340, -1, -1234, false},
		{5, -10, 0, false},
		{-5, -10, -1, false},
		{32767, 10, 327_670_000_000_000, false},
		{1 << 62, 1, 0, true},
		{-1 << 62, 1, 0, true},
		{1, 19, 0, true},
	} {
		got, err := scaleInt(c.v, c.exp)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("scaleInt(%d, %d) = %d, %v; want %d (err %v)", c.v, c.exp, got, err, c.want, c.err)
		}
	}
}

func TestDecodeSF(t *testing.T) {
	for w, want := range map[uint16]int{0: 0, 0xFFFE: -2, 10: 10, 0xFFF6: -10} {
		if sf, err := decodeSF(w); err != nil || sf != want {
			t.Errorf("decodeSF(%#x) = %d, %v", w, sf, err)
		}
	}
	if _, err := decodeSF(0x8000); !errors.Is(err, ErrNotImplemented) {
		t.Errorf("0x8000: %v", err)
	}
	for _, w := range []uint16{11, 0xFFF5, 0x7FFF} {
		if _, err := decodeSF(w); !errors.Is(err, ErrBadScaleFactor) {
			t.Errorf("decodeSF(%#x): %v", w, err)
		}
	}
}

func TestNotImplementedPoints(t *testing.T) {
	d := []uint16{0x8000, 0xFFFF, 0, 0, 0x8000, 0}
	if _, err := pointInt16(d, 0); err != ErrNotImplemented {
		t.Error("int16 0x8000")
	}
	if _, err := pointUint16(d, 1); err != ErrNotImplemented {
		t.Error("uint16 0xFFFF")
	}
	if _, err := pointAcc32(d, 2); err != ErrNotImplemented {
		t.Error("acc32 0")
	}
	if _, err := pointAcc32(d, 4); err != ErrNotImplemented {
		t.Error("acc32 0x80000000")
	}
	if _, err := pointAcc32(d, 5); !errors.Is(err, ErrBadModelMap) {
		t.Error("acc32 past the end")
	}
	if _, err := float32BitsToInt(0x7fc00000, 0); err != ErrNotImplemented {
		t.Error("float NaN")
	}
	if _, err := float32BitsToInt(0x7f800000, 0); err == nil {
		t.Error("float +Inf")
	}
}

func TestFloat32BitsToInt(t *testing.T) {
	for _, c := range []struct {
		bits uint32
		exp  int
		want int64
	}{
		{0x45870e00, 0, 4321}, // 4321.75
		{0xc37a8000, 0, -251}, // -250.5
		{0x4cbc614f, 0, 98765432},
		{0x3f800000, 6, 1000000}, // 1.0 * 10^6
		{0xbf000000, 0, -1},      // -0.5
		{0x80000000, 0, 0},       // -0
		{0x00000001, 0, 0},       // smallest subnormal
		{0x80000001, 0, -1},
		{0x5effffff, 0, 9223371487098961920}, // largest float32 below 2^63
	} {
		got, err := float32BitsToInt(c.bits, c.exp)
		if err != nil || got != c.want {
			t.Errorf("float32BitsToInt(%#x, %d) = %d, %v; want %d", c.bits, c.exp, got, err, c.want)
		}
	}
	if _, err := float32BitsToInt(0x5f000000, 0); err == nil { // 2^63
		t.Error("2^63 accepted")
	}
}

func TestWalkModelsMalformed(t *testing.T) {
	// A model whose length runs past the register space.
	regs := map[uint16]uint16{65000: sunsMarkerHi, 65001: sunsMarkerLo, 65002: 1, 65003: 1000}
	if _, err := walkModels(65000, mapReader(regs)); !errors.Is(err, ErrBadModelMap) {
		t.Errorf("runaway model: %v", err)
	}
	// No end marker: the walk stops at the first unreadable header.
	regs = sunspecMap(40000, newModel(modelCommon, 65))
	delete(regs, 40069)
	delete(regs, 40070)
	if ms, err := walkModels(40000, mapReader(regs)); err != nil || len(ms) != 1 {
		t.Errorf("missing end marker: %v %v", ms, err)
	}
	// A marker with nothing after it.
	regs = map[uint16]uint16{0: sunsMarkerHi, 1: sunsMarkerLo, 2: 0xFFFF, 3: 0}
	if _, err := walkModels(0, mapReader(regs)); !errors.Is(err, ErrBadModelMap) {
		t.Errorf("empty map: %v", err)
	}
	// A device that never ends: bounded.
	loop := func(addr, n uint16) ([]uint16, error) {
		if addr == 0 {
			return []uint16{sunsMarkerHi, sunsMarkerLo}, nil
		}
		return []uint16{7, 0}, nil
	}
	if ms, err := walkModels(0, loop); err != nil || len(ms) != maxSunSpecModels {
		t.Errorf("endless map: %d models, %v", len(ms), err)
	}
}

func TestStorageDispatchRates(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	d := buildFroniusDump()[1]
	var sto []uint16
	for _, m := range mustWalk(t, d) {
		if m.ID == modelStorage {
			sto, _ = mapReader(d)(m.Addr, m.Len)
		}
	}
	w, err := storageDispatch(sto, meter.Dispatch{Kind: meter.DispatchBatteryDischarge, PowerW: 1, Until: now.Add(time.Millisecond)}, now, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 1 W of 10240 W is 0.0097 %: the smallest non-zero step, never "0 = stop".
	if w[0].Vals[0] != 1 || w[1].Vals[0] != 1 {
		t.Errorf("tiny discharge writes %v", w)
	}
	sto[stoInOutWRSF] = uint16(0xFFFD) // -3: 100 % = 100000 does not fit an int16
	if _, err := storageDispatch(sto, meter.Dispatch{Kind: meter.DispatchNone}, now, 1); err == nil {
		t.Error("unrepresentable 100 % accepted")
	}
}

// FuzzSunSpecDecode feeds arbitrary register contents to discovery and to
// every model decoder: nothing may panic, and what decodes is in range.
func FuzzSunSpecDecode(f *testing.F) {
	for _, regs := range buildFroniusDump() {
		for _, m := range mustWalk(f, regs) {
			d, _ := mapReader(regs)(m.Addr, m.Len)
			b := make([]byte, 2+2*len(d))
			binary.BigEndian.PutUint16(b, m.ID)
			for i, v := range d {
				binary.BigEndian.PutUint16(b[2+2*i:], v)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{0x53, 0x75, 0x6e, 0x53, 0, 1, 0, 2, 0, 0, 0, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 || len(b) > 4096 {
			return
		}
		id := binary.BigEndian.Uint16(b)
		d := make([]uint16, (len(b)-2)/2)
		for i := range d {
			d[i] = binary.BigEndian.Uint16(b[2+2*i:])
		}
		_ = decodeCommon(d)
		for _, mid := range []uint16{id, modelInverter3P, modelInverterF3P, modelMeter3PWye, modelMeterF1P} {
			inverterPowerW(mid, d)
			inverterEnergyWh(mid, d)
			meterPowerW(mid, d)
			if imp, exp, err := meterEnergyWh(mid, d); err == nil && (imp > 1<<62 || exp > 1<<62) {
				t.Fatalf("counter out of range: %d %d", imp, exp)
			}
		}
		if soc, err := storageSoCPpm(d); err == nil && soc > meter.MaxSoCPpm {
			t.Fatalf("SoC %d ppm", soc)
		}
		mpptBatteryPowerW(d)
		now := time.Unix(1_800_000_000, 0)
		for k := meter.DispatchNone; k <= meter.DispatchLoadCurtail; k++ {
			storageDispatch(d, meter.Dispatch{Kind: k, PowerW: int64(id), Until: now.Add(time.Duration(id) * time.Second)}, now, 1)
		}
		// The same words as a register space with the marker at 0.
		space := func(addr, n uint16) ([]uint16, error) {
			if int(addr)+int(n) > len(d) {
				return nil, ErrBadModelMap
			}
			return d[addr : addr+n], nil
		}
		ms, err := walkModels(0, space)
		if err == nil {
			for _, m := range ms {
				if int(m.Addr)+int(m.Len) > 0x10000 {
					t.Fatalf("model %+v past the register space", m)
				}
			}
		}
	})
}

// FuzzSunSpecFloat checks the float32 decoder against exact rational
// arithmetic: floor(value * 10^exp).
func FuzzSunSpecFloat(f *testing.F) {
	for _, b := range []uint32{0x45870e00, 0xc37a8000, 0x4cbc614f, 0x00000001, 0x80000001, 0x5effffff, 0x7fc00000} {
		f.Add(b, uint8(0))
	}
	f.Add(uint32(0xbf000001), uint8(6))
	f.Fuzz(func(t *testing.T, bits uint32, exp uint8) {
		e := int(exp % 7)
		got, err := float32BitsToInt(bits, e)
		be, m := int((bits>>23)&0xFF), int64(bits&0x7FFFFF)
		if be == 0xFF {
			if err == nil {
				t.Fatalf("%#x: NaN/Inf decoded to %d", bits, got)
			}
			return
		}
		if be == 0 {
			be = 1
		} else {
			m |= 1 << 23
		}
		r := new(big.Rat).SetInt64(m)
		r.Mul(r, new(big.Rat).SetInt64(decPow10[e]))
		sh := new(big.Int).Lsh(big.NewInt(1), uint(fuzzAbs(be-150)))
		if be >= 150 {
			r.Mul(r, new(big.Rat).SetInt(sh))
		} else {
			r.Quo(r, new(big.Rat).SetInt(sh))
		}
		if bits>>31 != 0 {
			r.Neg(r)
		}
		q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive divisor
		if !q.IsInt64() {
			if err == nil {
				t.Fatalf("%#x e%d: %s beyond int64 decoded to %d", bits, e, q, got)
			}
			return
		}
		if err != nil || got != q.Int64() {
			t.Fatalf("%#x e%d: got %d, %v; want %s", bits, e, got, err, q)
		}
	})
}

func fuzzAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func BenchmarkSunSpecDecodeModels(b *testing.B) {
	regs := buildFroniusDump()
	var inv, mtr []uint16
	for _, m := range mustWalk(b, regs[1]) {
		if m.ID == modelInverter3P {
			inv, _ = ssMapRead(regs[1], m)
		}
	}
	for _, m := range mustWalk(b, regs[200]) {
		if m.ID == modelMeter3PWye {
			mtr, _ = ssMapRead(regs[200], m)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inverterPowerW(modelInverter3P, inv); err != nil {
			b.Fatal(err)
		}
		if _, _, err := meterEnergyWh(modelMeter3PWye, mtr); err != nil {
			b.Fatal(err)
		}
	}
}

func ssMapRead(regs map[uint16]uint16, m sunspecModel) ([]uint16, error) {
	return mapReader(regs)(m.Addr, m.Len)
}
