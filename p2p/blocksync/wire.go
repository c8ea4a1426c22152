package blocksync

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/gridmint/gridmint/codec"
)

// Protocol limits. They bound what a decoder will accept from a peer, so a
// hostile length never causes a large allocation.
const (
	// MaxRequestBytes bounds one request frame. The largest request (a
	// blocks request) is 1+8+4+4 = 17 bytes.
	MaxRequestBytes = 64
	// MaxBlockBytes bounds one encoded block with its commit certificate.
	MaxBlockBytes = 4 << 20
	// MaxResponseBlocks bounds the number of blocks in one response.
	MaxResponseBlocks = 1024
	// MaxResponseBytes bounds one response frame.
	MaxResponseBytes = 8 << 20
)

// Message type tags: the first byte of every frame's payload.
const (
	tagStatusReq  = 0x01
	tagBlocksReq  = 0x02
	tagStatusResp = 0x81
	tagBlocksResp = 0x82
	tagErrorResp  = 0x8f
)

// Errors of the wire format.
var (
	ErrFrameTooLarge = errors.New("blocksync: frame above limit")
	ErrEmptyFrame    = errors.New("blocksync: empty frame")
	ErrUnknownTag    = errors.New("blocksync: unknown message tag")
)

// Request is what a client sends on a fresh stream: either a status request
// (Blocks false) or a request for Count blocks from height From whose
// encoding should total at most MaxBytes (the server may send fewer, never
// none unless it answers with an error).
type Request struct {
	Blocks   bool
	From     uint64
	Count    uint32
	MaxBytes uint32
}

// EncodeTo writes the canonical encoding: tag, then for a blocks request
// From (u64), Count (u32) and MaxBytes (u32), big-endian.
func (r *Request) EncodeTo(e *codec.Encoder) {
	if !r.Blocks {
		e.Uint8(tagStatusReq)
		return
	}
	e.Uint8(tagBlocksReq)
	e.Uint64(r.From)
	e.Uint32(r.Count)
	e.Uint32(r.MaxBytes)
}

// DecodeFrom reads a request and checks its ranges: Count in
// [1, MaxResponseBlocks], MaxBytes in [1, MaxResponseBytes], From ≥ 1 and
// From+Count-1 not overflowing.
func (r *Request) DecodeFrom(d *codec.Decoder) {
	*r = Request{}
	switch tag := d.Uint8(); {
	case d.Err() != nil:
	case tag == tagStatusReq:
	case tag == tagBlocksReq:
		r.Blocks = true
		r.From = d.Uint64()
		r.Count = d.Uint32()
		r.MaxBytes = d.Uint32()
		if d.Err() != nil {
			return
		}
		if r.From == 0 || r.Count == 0 || r.Count > MaxResponseBlocks ||
			r.MaxBytes == 0 || r.MaxBytes > MaxResponseBytes ||
			r.From+uint64(r.Count)-1 < r.From {
			d.Fail(fmt.Errorf("%w: blocks request from %d count %d max bytes %d",
				codec.ErrOutOfRange, r.From, r.Count, r.MaxBytes))
		}
	default:
		d.Fail(fmt.Errorf("%w: request 0x%02x", ErrUnknownTag, tag))
	}
}

// ErrCode is the reason a server refused a request.
type ErrCode uint8

// Error codes a server answers with.
const (
	CodeBadRequest   ErrCode = 1 // malformed or oversized request
	CodeRateLimited  ErrCode = 2 // the peer asked too often
	CodeBusy         ErrCode = 3 // too many concurrent requests
	CodeNotAvailable ErrCode = 4 // the first height asked for is not served
	CodeInternal     ErrCode = 5 // the store failed
	maxCode                  = CodeInternal
)

func (c ErrCode) String() string {
	switch c {
	case CodeBadRequest:
		return "bad request"
	case CodeRateLimited:
		return "rate limited"
	case CodeBusy:
		return "busy"
	case CodeNotAvailable:
		return "not available"
	case CodeInternal:
		return "internal error"
	}
	return fmt.Sprintf("code %d", uint8(c))
}

// Response is a server's answer: a status (base and height), a batch of
// blocks starting at From, or an error code.
type Response struct {
	Kind   RespKind
	Base   uint64   // status: lowest height served
	Height uint64   // status: highest height served
	From   uint64   // blocks: height of Blocks[0]
	Blocks [][]byte // blocks: 1..MaxResponseBlocks encoded blocks
	Code   ErrCode  // error
}

// RespKind says which fields of a Response are set.
type RespKind uint8

// Response kinds.
const (
	RespStatus RespKind = iota + 1
	RespBlocks
	RespError
)

// EncodeTo writes the canonical encoding: tag, then for a status Base and
// Height (u64), for blocks From (u64), a varint count and each block as a
// varint length and bytes, for an error the code (u8).
func (r *Response) EncodeTo(e *codec.Encoder) {
	switch r.Kind {
	case RespStatus:
		e.Uint8(tagStatusResp)
		e.Uint64(r.Base)
		e.Uint64(r.Height)
	case RespBlocks:
		e.Uint8(tagBlocksResp)
		e.Uint64(r.From)
		e.Uvarint(uint64(len(r.Blocks)))
		for _, b := range r.Blocks {
			e.BytesVar(b)
		}
	case RespError:
		e.Uint8(tagErrorResp)
		e.Uint8(uint8(r.Code))
	default:
		panic(fmt.Sprintf("blocksync: encode response of kind %d", r.Kind))
	}
}

// DecodeFrom reads a response and checks it: a status has Base ≥ 1 and
// Base ≤ Height+1 (Base = Height+1 is a store with nothing to serve); blocks
// number 1..MaxResponseBlocks, each 1..MaxBlockBytes long, with From ≥ 1 and
// no height overflow; an error code is a known one.
func (r *Response) DecodeFrom(d *codec.Decoder) {
	*r = Response{}
	switch tag := d.Uint8(); {
	case d.Err() != nil:
	case tag == tagStatusResp:
		r.Kind = RespStatus
		r.Base = d.Uint64()
		r.Height = d.Uint64()
		if d.Err() == nil && (r.Base == 0 || r.Height == ^uint64(0) || r.Base > r.Height+1) {
			d.Fail(fmt.Errorf("%w: status base %d height %d", codec.ErrOutOfRange, r.Base, r.Height))
		}
	case tag == tagBlocksResp:
		r.Kind = RespBlocks
		r.From = d.Uint64()
		n := d.Count(MaxResponseBlocks, 2)
		if d.Err() != nil {
			return
		}
		if n == 0 || r.From == 0 || r.From+uint64(n)-1 < r.From {
			d.Fail(fmt.Errorf("%w: blocks from %d count %d", codec.ErrOutOfRange, r.From, n))
			return
		}
		r.Blocks = make([][]byte, 0, n)
		for i := 0; i < n && d.Err() == nil; i++ {
			b := d.BytesVar(MaxBlockBytes)
			if d.Err() == nil && len(b) == 0 {
				d.Fail(fmt.Errorf("%w: empty block", codec.ErrOutOfRange))
			}
			r.Blocks = append(r.Blocks, b)
		}
	case tag == tagErrorResp:
		r.Kind = RespError
		r.Code = ErrCode(d.Uint8())
		if d.Err() == nil && (r.Code == 0 || r.Code > maxCode) {
			d.Fail(fmt.Errorf("%w: error code %d", codec.ErrOutOfRange, r.Code))
		}
	default:
		d.Fail(fmt.Errorf("%w: response 0x%02x", ErrUnknownTag, tag))
	}
}

// DecodeRequest decodes one request payload (a frame without its length).
func DecodeRequest(b []byte) (Request, error) {
	var r Request
	err := codec.Decode(b, &r)
	return r, err
}

// DecodeResponse decodes one response payload (a frame without its length).
func DecodeResponse(b []byte) (Response, error) {
	var r Response
	err := codec.Decode(b, &r)
	return r, err
}

// AppendFrame appends the frame of payload to dst: a minimal unsigned
// LEB128 varint length, then the payload.
func AppendFrame(dst, payload []byte) []byte {
	var e codec.Encoder
	e.Uvarint(uint64(len(payload)))
	dst = append(dst, e.Bytes()...)
	return append(dst, payload...)
}

// ReadFrame reads one frame of at most max payload bytes. It rejects a
// non-minimal or overlong length, an empty payload and a payload above max
// before allocating it.
func ReadFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := readFrameLen(r, max)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("blocksync: frame of %d bytes: %w", n, err)
	}
	return buf, nil
}

// readFrameLen reads the varint length of a frame with the same rules as
// codec.Decoder.Uvarint (no redundant zero group, no overflow) and bounds it.
func readFrameLen(r io.ByteReader, max int) (int, error) {
	var v uint64
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if i == 9 && c > 1 {
			return 0, codec.ErrOverflow
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, codec.ErrNonMinimal
			}
			break
		}
		// Stop reading as soon as the length is known to exceed max, so a
		// peer cannot make us read an endless varint.
		if v > uint64(max) {
			return 0, fmt.Errorf("%w: more than %d", ErrFrameTooLarge, max)
		}
	}
	if v == 0 {
		return 0, ErrEmptyFrame
	}
	if v > uint64(max) {
		return 0, fmt.Errorf("%w: %d > %d", ErrFrameTooLarge, v, max)
	}
	return int(v), nil
}
