package codec

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// sample is a type that uses every primitive; the tests and the fuzzer use it
// to check the round-trip property of the primitives together.
type sample struct {
	U8    uint8
	U16   uint16
	U32   uint32
	U64   uint64
	I64   int64
	B     bool
	V     uint64
	Hash  [4]byte
	Blob  []byte
	Name  string
	Items []uint32
}

func (s *sample) EncodeTo(e *Encoder) {
	e.Uint8(1) // version
	e.Uint8(s.U8)
	e.Uint16(s.U16)
	e.Uint32(s.U32)
	e.Uint64(s.U64)
	e.Int64(s.I64)
	e.Bool(s.B)
	e.Uvarint(s.V)
	e.Fixed(s.Hash[:])
	e.BytesVar(s.Blob)
	e.String(s.Name)
	e.Uvarint(uint64(len(s.Items)))
	for _, it := range s.Items {
		e.Uint32(it)
	}
}

func (s *sample) DecodeFrom(d *Decoder) {
	d.Version(1)
	s.U8 = d.Uint8()
	s.U16 = d.Uint16()
	s.U32 = d.Uint32()
	s.U64 = d.Uint64()
	s.I64 = d.Int64()
	s.B = d.Bool()
	s.V = d.Uvarint()
	d.Fixed(s.Hash[:])
	s.Blob = d.BytesVar(64)
	s.Name = d.String(32)
	n := d.Count(16, 4)
	if n > 0 {
		s.Items = make([]uint32, n)
		for i := range s.Items {
			s.Items[i] = d.Uint32()
		}
	}
}

func TestRoundTrip(t *testing.T) {
	cases := []sample{
		{},
		{U8: 255, U16: 65535, U32: math.MaxUint32, U64: math.MaxUint64, I64: math.MinInt64, B: true, V: math.MaxUint64,
			Hash: [4]byte{1, 2, 3, 4}, Blob: bytes.Repeat([]byte{7}, 64), Name: "grüne Energie", Items: []uint32{1, 2, 3}},
		{I64: -1, V: 127, Name: "x"},
		{V: 128, Blob: []byte{0}},
	}
	for i, c := range cases {
		b := Encode(&c)
		var got sample
		if err := Decode(b, &got); err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if again := Encode(&got); !bytes.Equal(again, b) {
			t.Fatalf("case %d: re-encoding differs:\n%x\n%x", i, b, again)
		}
	}
}

func TestUvarintForms(t *testing.T) {
	cases := []struct {
		in   []byte
		want uint64
		err  error
	}{
		{[]byte{0x00}, 0, nil},
		{[]byte{0x7f}, 127, nil},
		{[]byte{0x80, 0x01}, 128, nil},
		{[]byte{0x80, 0x00}, 0, ErrNonMinimal},
		{[]byte{0xff, 0x00}, 0, ErrNonMinimal},
		{[]byte{0x81, 0x80, 0x00}, 0, ErrNonMinimal},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, math.MaxUint64, nil},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0, ErrOverflow},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}, 0, ErrOverflow},
		{[]byte{0x80}, 0, ErrShort},
		{nil, 0, ErrShort},
	}
	for _, c := range cases {
		d := NewDecoder(c.in)
		got := d.Uvarint()
		err := d.Finish()
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%x: err %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%x: got %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestRejects(t *testing.T) {
	good := Encode(&sample{Name: "ok", Blob: []byte{1}, Items: []uint32{9}})
	cases := []struct {
		name string
		mut  func([]byte) []byte
		err  error
	}{
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, ErrTrailing},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, ErrShort},
		{"bad version", func(b []byte) []byte { b[0] = 2; return b }, ErrBadVersion},
		{"bool 2", func(b []byte) []byte { b[1+1+2+4+8+8] = 2; return b }, ErrBadBool},
		{"empty", func(b []byte) []byte { return nil }, ErrShort},
	}
	for _, c := range cases {
		b := c.mut(append([]byte(nil), good...))
		var s sample
		if err := Decode(b, &s); !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
	}
}

func TestLengthLimits(t *testing.T) {
	var e Encoder
	e.BytesVar(make([]byte, 65))
	d := NewDecoder(e.Bytes())
	d.BytesVar(64)
	if !errors.Is(d.Err(), ErrTooLong) {
		t.Fatalf("65 bytes under a 64 limit: %v", d.Err())
	}
	// A count that claims more elements than the input can hold fails before
	// any allocation.
	e.Reset()
	e.Uvarint(10)
	e.Uint32(1)
	d = NewDecoder(e.Bytes())
	d.Count(16, 4)
	if !errors.Is(d.Err(), ErrShort) {
		t.Fatalf("count beyond input: %v", d.Err())
	}
	// A length far beyond the input must not allocate (the limit fits in
	// a 32-bit int, so the test means the same on linux/arm).
	e.Reset()
	e.Uvarint(1 << 30)
	d = NewDecoder(e.Bytes())
	d.BytesVar(math.MaxInt32)
	if !errors.Is(d.Err(), ErrShort) {
		t.Fatalf("huge length: %v", d.Err())
	}
}

func TestBadUTF8(t *testing.T) {
	var e Encoder
	e.BytesVar([]byte{0xff, 0xfe})
	d := NewDecoder(e.Bytes())
	d.String(10)
	if !errors.Is(d.Err(), ErrBadUTF8) {
		t.Fatalf("invalid UTF-8 accepted: %v", d.Err())
	}
}

func TestStickyError(t *testing.T) {
	d := NewDecoder([]byte{1})
	d.Uint64()
	if d.Uint8() != 0 || d.Uvarint() != 0 || d.BytesVar(4) != nil {
		t.Fatal("reads after an error must return zero values")
	}
	if !errors.Is(d.Finish(), ErrShort) {
		t.Fatalf("first error lost: %v", d.Finish())
	}
}

// FuzzSample checks the canonical property: any input that decodes encodes
// back to exactly itself.
func FuzzSample(f *testing.F) {
	f.Add(Encode(&sample{}))
	f.Add(Encode(&sample{V: 300, Name: "a", Blob: []byte{1, 2}, Items: []uint32{5, 6}}))
	f.Add([]byte{1, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s sample
		if err := Decode(b, &s); err != nil {
			return
		}
		if again := Encode(&s); !bytes.Equal(again, b) {
			t.Fatalf("non-canonical input accepted:\n in %x\nout %x", b, again)
		}
	})
}

func BenchmarkEncodeDecode(b *testing.B) {
	s := sample{U64: 1 << 40, V: 1 << 20, Name: "site-0001", Blob: make([]byte, 32), Items: []uint32{1, 2, 3, 4}}
	b.ReportAllocs()
	var e Encoder
	for i := 0; i < b.N; i++ {
		e.Reset()
		s.EncodeTo(&e)
		var out sample
		d := NewDecoder(e.Bytes())
		out.DecodeFrom(d)
		if err := d.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}
