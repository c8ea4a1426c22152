package sunspec

import (
	"errors"
	"fmt"
	"strings"
)

// SunSpec register decoding: pure functions from the uint16 words a device
// returned to values in W, Wh and ppm. Everything here is integer math and
// never panics on what a device sends (FuzzSunSpecDecode).
//
// A SunSpec map starts at a base register (40000, 0 or 50000) with the
// marker "SunS" (0x5375 0x6e53), followed by models, each a header of two
// registers (model ID, length L in registers) and L data registers, until
// the end marker ID 0xFFFF. Offsets below are into a model's data, i.e.
// relative to the register after L.
//
// Scale factors (type sunssf, int16 in -10..10) multiply a point by
// 10^sf. Scaling is exact for sf >= 0 and rounds toward minus infinity
// (floor) for sf < 0: 12345 with sf -1 is 1234 W, -12345 with sf -1 is
// -1235 W. Floor keeps a monotonic counter monotonic and makes the rounding
// the same on every platform.

// SunSpec marker and end-of-map model ID.
const (
	sunsMarkerHi = 0x5375 // "Su"
	sunsMarkerLo = 0x6e53 // "nS"
	sunspecEndID = 0xFFFF
)

// SunSpec model IDs this package reads.
const (
	modelCommon        = 1
	modelInverter1P    = 101 // int + scale factor
	modelInverterSplit = 102
	modelInverter3P    = 103
	modelInverterF1P   = 111 // float32
	modelInverterF3P   = 113
	modelStorage       = 124
	modelMPPT          = 160
	modelMeter1P       = 201 // int + scale factor
	modelMeter3PWye    = 203
	modelMeter3PDelta  = 204
	modelMeterF1P      = 211 // float32
	modelMeterF3PDelta = 214
)

// Errors of SunSpec decoding. ErrNotImplemented marks a point the device
// reports as "not implemented" (0x8000, 0xFFFF, NaN, ...).
var (
	ErrNotSunSpec     = errors.New("sunspec: no SunS marker")
	ErrNotImplemented = errors.New("sunspec: point not implemented by the device")
	ErrBadScaleFactor = errors.New("sunspec: scale factor outside -10..10")
	ErrBadModelMap    = errors.New("sunspec: malformed model map")
)

// sunspecModel is one model found on a device.
type sunspecModel struct {
	ID   uint16
	Addr uint16 // first data register (after ID and L)
	Len  uint16 // data registers
}

// maxSunSpecModels bounds a model walk, so that a device that never sends
// the end marker cannot keep discovery going for ever.
const maxSunSpecModels = 64

// regReader reads n consecutive holding registers.
type regReader func(addr, n uint16) ([]uint16, error)

// walkModels discovers the model chain at base with read. It stops at the
// end marker, at the end of the register space, or when a read past the last
// model fails (some devices answer "illegal address" instead of sending the
// end marker). Model lengths and addresses are checked against the 16-bit
// register space.
func walkModels(base uint16, read regReader) ([]sunspecModel, error) {
	m, err := read(base, 2)
	if err != nil {
		return nil, err
	}
	if len(m) != 2 || m[0] != sunsMarkerHi || m[1] != sunsMarkerLo {
		return nil, fmt.Errorf("%w at register %d", ErrNotSunSpec, base)
	}
	var models []sunspecModel
	addr := uint32(base) + 2
	for len(models) < maxSunSpecModels {
		if addr+2 > 0x10000 {
			break
		}
		h, err := read(uint16(addr), 2)
		if err != nil {
			var te *transportError
			if len(models) > 0 && !errors.As(err, &te) {
				break // an exception instead of the end marker: tolerated, as evcc and pysunspec do
			}
			return nil, err
		}
		if len(h) != 2 {
			return nil, fmt.Errorf("%w: short header read at %d", ErrBadModelMap, addr)
		}
		if h[0] == sunspecEndID || h[0] == 0 {
			break
		}
		data := addr + 2
		if data+uint32(h[1]) > 0x10000 {
			return nil, fmt.Errorf("%w: model %d at %d of length %d runs past register 65535", ErrBadModelMap, h[0], addr, h[1])
		}
		models = append(models, sunspecModel{ID: h[0], Addr: uint16(data), Len: h[1]})
		addr = data + uint32(h[1])
	}
	if len(models) == 0 {
		return nil, fmt.Errorf("%w: no models after the marker at %d", ErrBadModelMap, base)
	}
	return models, nil
}

// decPow10 holds 10^0 .. 10^18.
var decPow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return
}()

// decodeSF reads a sunssf register.
func decodeSF(w uint16) (int, error) {
	if w == 0x8000 {
		return 0, fmt.Errorf("scale factor: %w", ErrNotImplemented)
	}
	sf := int(int16(w))
	if sf < -10 || sf > 10 {
		return 0, fmt.Errorf("%w: %d", ErrBadScaleFactor, sf)
	}
	return sf, nil
}

// scaleInt returns v * 10^exp, exact for exp >= 0 (an error on overflow) and
// floored for exp < 0. exp may be outside -10..10 (unit conversions add to
// a scale factor) but within -18..18.
func scaleInt(v int64, exp int) (int64, error) {
	switch {
	case exp > 18 || exp < -18:
		return 0, fmt.Errorf("sunspec: scale 10^%d out of range", exp)
	case exp >= 0:
		p := decPow10[exp]
		if v > 0 && v > (1<<63-1)/p || v < 0 && v < (-1<<63)/p {
			return 0, fmt.Errorf("sunspec: %d * 10^%d overflows", v, exp)
		}
		return v * p, nil
	default:
		return sunspecFloorDiv(v, decPow10[-exp]), nil
	}
}

// sunspecFloorDiv divides rounding toward minus infinity (d > 0).
func sunspecFloorDiv(n, d int64) int64 {
	q := n / d
	if n%d != 0 && n < 0 {
		q--
	}
	return q
}

// Point decoders. Each takes a model's data registers and an offset and
// reports ErrNotImplemented for the type's "not implemented" value; an
// offset past the model (a short, non-standard model) is ErrBadModelMap.

func regAt(d []uint16, off, n int) ([]uint16, error) {
	if off < 0 || off+n > len(d) {
		return nil, fmt.Errorf("%w: point at offset %d past model length %d", ErrBadModelMap, off, len(d))
	}
	return d[off : off+n], nil
}

func pointInt16(d []uint16, off int) (int64, error) {
	r, err := regAt(d, off, 1)
	if err != nil {
		return 0, err
	}
	if r[0] == 0x8000 {
		return 0, ErrNotImplemented
	}
	return int64(int16(r[0])), nil
}

func pointUint16(d []uint16, off int) (int64, error) {
	r, err := regAt(d, off, 1)
	if err != nil {
		return 0, err
	}
	if r[0] == 0xFFFF {
		return 0, ErrNotImplemented
	}
	return int64(r[0]), nil
}

// pointAcc32 reads an accumulator (high word first). SunSpec marks an
// unimplemented acc32 with 0; 0x80000000 is also seen in the field.
func pointAcc32(d []uint16, off int) (int64, error) {
	r, err := regAt(d, off, 2)
	if err != nil {
		return 0, err
	}
	v := uint32(r[0])<<16 | uint32(r[1])
	if v == 0 || v == 0x80000000 {
		return 0, ErrNotImplemented
	}
	return int64(v), nil
}

func pointSF(d []uint16, off int) (int, error) {
	r, err := regAt(d, off, 1)
	if err != nil {
		return 0, err
	}
	return decodeSF(r[0])
}

// scaled reads a point with read and its scale factor at sfOff, adds extra
// to the exponent (e.g. 4 to turn % into ppm), and scales.
func scaled(d []uint16, off int, read func([]uint16, int) (int64, error), sfOff, extra int) (int64, error) {
	v, err := read(d, off)
	if err != nil {
		return 0, err
	}
	sf, err := pointSF(d, sfOff)
	if err != nil {
		return 0, err
	}
	return scaleInt(v, sf+extra)
}

// pointFloat32 reads an IEEE 754 binary32 point (high word first) and
// returns it floored to an integer after multiplying by 10^exp (exp 0..6).
// NaN is "not implemented"; infinities and values beyond int64 are errors.
// No floating-point arithmetic is used: the value is m * 2^e exactly.
func pointFloat32(d []uint16, off, exp int) (int64, error) {
	r, err := regAt(d, off, 2)
	if err != nil {
		return 0, err
	}
	return float32BitsToInt(uint32(r[0])<<16|uint32(r[1]), exp)
}

func float32BitsToInt(bits uint32, exp10 int) (int64, error) {
	if exp10 < 0 || exp10 > 6 {
		return 0, fmt.Errorf("sunspec: float scale 10^%d out of range", exp10)
	}
	neg := bits>>31 != 0
	e := int((bits >> 23) & 0xFF)
	m := int64(bits & 0x7FFFFF)
	switch e {
	case 0xFF:
		if m != 0 {
			return 0, ErrNotImplemented // NaN
		}
		return 0, fmt.Errorf("sunspec: infinite float point")
	case 0:
		e = 1 // subnormal
	default:
		m |= 1 << 23
	}
	m *= decPow10[exp10] // < 2^24 * 10^6 < 2^44
	shift := e - 150     // value = m * 2^shift
	var v int64
	switch {
	case shift >= 0:
		if shift > 62 || m > (1<<63-1)>>shift {
			return 0, fmt.Errorf("sunspec: float point beyond int64")
		}
		v = m << shift
		if neg {
			v = -v
		}
	case shift <= -63:
		v = 0
		if neg && m != 0 {
			v = -1
		}
	default:
		v = m >> -shift
		if neg {
			v = -v
			if m&((1<<-shift)-1) != 0 { // a fraction was cut: floor goes one further down
				v--
			}
		}
	}
	return v, nil
}

// decodeString reads a SunSpec string point (two ASCII bytes per register,
// NUL padded) and keeps printable ASCII only, so that a device's label is
// safe to log.
func decodeString(d []uint16, off, n int) string {
	r, err := regAt(d, off, n)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, w := range r {
		for _, c := range [2]byte{byte(w >> 8), byte(w)} {
			if c == 0 {
				return strings.TrimSpace(b.String())
			}
			if c >= 0x20 && c < 0x7F {
				b.WriteByte(c)
			}
		}
	}
	return strings.TrimSpace(b.String())
}
