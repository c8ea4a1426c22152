// Package codec is gridmint's one canonical binary encoding: every value that
// is signed or hashed (readings, transactions, votes, proposals, blocks, state
// entries) is written with an Encoder and read back with a Decoder.
//
// The layout is deliberately plain so that it has exactly one encoding per
// value:
//
//   - fixed-width integers are big-endian (uint8/16/32/64, int64 as two's
//     complement), so there is no "non-minimal" form to reject;
//   - lengths and counts are unsigned LEB128 varints; the decoder rejects a
//     varint with a redundant trailing zero group or one that overflows 64
//     bits, so each length has one encoding;
//   - booleans are one byte, 0 or 1; any other byte is an error;
//   - byte strings and strings are a varint length then the bytes, with the
//     length bounded by the caller (a decoder never allocates more than the
//     caller allowed); strings must be valid UTF-8;
//   - there is no field name, no optional field and no padding: a type's
//     EncodeTo writes its fields in one fixed order, and its version, where
//     a layout can change, is the first byte.
//
// A Decoder keeps the first error and returns zero values afterwards, so a
// type's DecodeFrom reads straight through and checks once. Finish rejects
// trailing bytes. The round-trip property every decoder in the project must
// keep, and which the fuzz tests check, is:
//
//	if Decode(b) succeeds then Encode(Decode(b)) == b
//
// What this package does not do: it knows nothing of signatures or hashing
// domains (see wallet.SigningHash) and it never uses reflection, so an
// encoding cannot change because a struct field was added or reordered.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Errors a Decoder reports. Callers match them with errors.Is.
var (
	ErrShort       = errors.New("codec: input too short")
	ErrTrailing    = errors.New("codec: trailing bytes")
	ErrNonMinimal  = errors.New("codec: non-minimal varint")
	ErrOverflow    = errors.New("codec: varint overflows 64 bits")
	ErrTooLong     = errors.New("codec: length above limit")
	ErrBadBool     = errors.New("codec: boolean is not 0 or 1")
	ErrBadUTF8     = errors.New("codec: string is not valid UTF-8")
	ErrOutOfRange  = errors.New("codec: value out of range")
	ErrBadVersion  = errors.New("codec: unknown version")
	ErrNotCanon    = errors.New("codec: value not in canonical form")
	ErrUnknownKind = errors.New("codec: unknown kind")
)

// Encodable is a value with a canonical encoding.
type Encodable interface {
	EncodeTo(e *Encoder)
}

// Decodable is a value that reads its canonical encoding. DecodeFrom reads
// fields from d and reports problems through d.Fail; it need not check
// d.Err itself.
type Decodable interface {
	DecodeFrom(d *Decoder)
}

// Encode returns the canonical encoding of v.
func Encode(v Encodable) []byte {
	var e Encoder
	v.EncodeTo(&e)
	return e.Bytes()
}

// Decode reads the canonical encoding of v from b and rejects trailing bytes.
// On error v may be partly filled and must not be used.
func Decode(b []byte, v Decodable) error {
	d := NewDecoder(b)
	v.DecodeFrom(d)
	return d.Finish()
}

// Encoder appends canonical encodings to a buffer. The zero value is ready.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an encoder whose buffer has room for sizeHint bytes.
func NewEncoder(sizeHint int) *Encoder { return &Encoder{buf: make([]byte, 0, sizeHint)} }

// Bytes returns the encoded bytes. The slice aliases the encoder's buffer.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes written so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the buffer and keeps its capacity.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Uint8 writes one byte.
func (e *Encoder) Uint8(v uint8) { e.buf = append(e.buf, v) }

// Uint16 writes v big-endian in 2 bytes.
func (e *Encoder) Uint16(v uint16) { e.buf = binary.BigEndian.AppendUint16(e.buf, v) }

// Uint32 writes v big-endian in 4 bytes.
func (e *Encoder) Uint32(v uint32) { e.buf = binary.BigEndian.AppendUint32(e.buf, v) }

// Uint64 writes v big-endian in 8 bytes.
func (e *Encoder) Uint64(v uint64) { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }

// Int64 writes v as two's complement big-endian in 8 bytes.
func (e *Encoder) Int64(v int64) { e.Uint64(uint64(v)) }

// Bool writes 1 for true, 0 for false.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// Uvarint writes v as an unsigned LEB128 varint in its shortest form.
func (e *Encoder) Uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

// Fixed writes b as is, with no length: for fields whose size is part of the
// layout (hashes, addresses, signatures).
func (e *Encoder) Fixed(b []byte) { e.buf = append(e.buf, b...) }

// BytesVar writes a varint length and then b.
func (e *Encoder) BytesVar(b []byte) {
	e.Uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// String writes a varint length and then the bytes of s. s must be valid
// UTF-8 for a decoder to accept it; callers validate before encoding.
func (e *Encoder) String(s string) {
	e.Uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// Decoder reads canonical encodings. It keeps the first error; every read
// after an error returns a zero value.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a decoder over b. The decoder never modifies b; byte
// slices it returns are copies.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error seen, or nil.
func (d *Decoder) Err() error { return d.err }

// Fail records err (wrapped with the current offset) unless an error is
// already recorded. Types call it to reject out-of-range values.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %w", d.off, err)
	}
}

// Failf records a formatted error wrapping ErrOutOfRange.
func (d *Decoder) Failf(format string, args ...any) {
	d.Fail(fmt.Errorf("%w: %s", ErrOutOfRange, fmt.Sprintf(format, args...)))
}

// Remaining returns how many bytes are left unread.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Finish returns the first error, or ErrTrailing if bytes are left unread.
func (d *Decoder) Finish() error {
	if d.err != nil {
		return d.err
	}
	if d.off != len(d.b) {
		return fmt.Errorf("%w: %d unread", ErrTrailing, len(d.b)-d.off)
	}
	return nil
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.Fail(ErrShort)
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

// Uint8 reads one byte.
func (d *Decoder) Uint8() uint8 {
	s := d.take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

// Uint16 reads 2 bytes big-endian.
func (d *Decoder) Uint16() uint16 {
	s := d.take(2)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint16(s)
}

// Uint32 reads 4 bytes big-endian.
func (d *Decoder) Uint32() uint32 {
	s := d.take(4)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

// Uint64 reads 8 bytes big-endian.
func (d *Decoder) Uint64() uint64 {
	s := d.take(8)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint64(s)
}

// Int64 reads 8 bytes of two's complement big-endian.
func (d *Decoder) Int64() int64 { return int64(d.Uint64()) }

// Bool reads one byte that must be 0 or 1.
func (d *Decoder) Bool() bool {
	s := d.take(1)
	if s == nil {
		return false
	}
	switch s[0] {
	case 0:
		return false
	case 1:
		return true
	}
	d.off--
	d.Fail(ErrBadBool)
	return false
}

// Uvarint reads an unsigned LEB128 varint and rejects non-minimal and
// overflowing forms.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for i := 0; ; i++ {
		if d.off+i >= len(d.b) {
			d.Fail(ErrShort)
			return 0
		}
		c := d.b[d.off+i]
		if i == 9 && c > 1 {
			d.Fail(ErrOverflow)
			return 0
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			// A final group of zero after at least one group is redundant:
			// the shorter form would have ended one byte earlier.
			if c == 0 && i > 0 {
				d.Fail(ErrNonMinimal)
				return 0
			}
			d.off += i + 1
			return v
		}
	}
}

// Len reads a varint length and checks it against max and against the bytes
// left, so that a hostile length never causes a large allocation.
func (d *Decoder) Len(max int) int {
	n := d.Uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(max) {
		d.Fail(fmt.Errorf("%w: %d > %d", ErrTooLong, n, max))
		return 0
	}
	return int(n)
}

// Count reads a varint element count bounded by max. Each element takes at
// least minElemSize bytes, so counts that cannot fit in the input are
// rejected before the caller allocates.
func (d *Decoder) Count(max, minElemSize int) int {
	n := d.Len(max)
	if d.err != nil {
		return 0
	}
	if minElemSize > 0 && n > d.Remaining()/minElemSize {
		d.Fail(ErrShort)
		return 0
	}
	return n
}

// Fixed reads exactly len(dst) bytes into dst.
func (d *Decoder) Fixed(dst []byte) {
	s := d.take(len(dst))
	if s != nil {
		copy(dst, s)
	}
}

// BytesVar reads a varint length bounded by max and then that many bytes,
// returned as a fresh copy (nil for length 0).
func (d *Decoder) BytesVar(max int) []byte {
	n := d.Len(max)
	s := d.take(n)
	if len(s) == 0 {
		return nil
	}
	out := make([]byte, n)
	copy(out, s)
	return out
}

// String reads a varint length bounded by max and then that many bytes of
// valid UTF-8.
func (d *Decoder) String(max int) string {
	n := d.Len(max)
	s := d.take(n)
	if s == nil {
		return ""
	}
	if !utf8.Valid(s) {
		d.off -= n
		d.Fail(ErrBadUTF8)
		return ""
	}
	return string(s)
}

// Version reads one version byte and fails unless it equals want.
func (d *Decoder) Version(want uint8) {
	v := d.Uint8()
	if d.err == nil && v != want {
		d.Fail(fmt.Errorf("%w: %d, want %d", ErrBadVersion, v, want))
	}
}
