package blocksync

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/gridmint/gridmint/codec"
)

// seedRequests and seedResponses are valid encodings of every message kind;
// testdata/fuzz/Fuzz* holds them and the inputs the fuzzer found.
func seedRequests() [][]byte {
	return [][]byte{
		codec.Encode(&Request{}),
		codec.Encode(&Request{Blocks: true, From: 1, Count: 1, MaxBytes: 1}),
		codec.Encode(&Request{Blocks: true, From: 1 << 40, Count: MaxResponseBlocks, MaxBytes: MaxResponseBytes}),
	}
}

func seedResponses() [][]byte {
	return [][]byte{
		codec.Encode(&Response{Kind: RespStatus, Base: 1, Height: 0}),
		codec.Encode(&Response{Kind: RespStatus, Base: 7, Height: 1 << 33}),
		codec.Encode(&Response{Kind: RespBlocks, From: 1, Blocks: [][]byte{{1}}}),
		codec.Encode(&Response{Kind: RespBlocks, From: 9, Blocks: [][]byte{bytes.Repeat([]byte{0xab}, 200), {2, 3}}}),
		codec.Encode(&Response{Kind: RespError, Code: CodeRateLimited}),
	}
}

// FuzzRequest checks that DecodeRequest never panics and accepts only
// canonical input: whatever it accepts encodes back to the same bytes and
// is within the protocol's ranges.
func FuzzRequest(f *testing.F) {
	for _, s := range seedRequests() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		if again := codec.Encode(&r); !bytes.Equal(again, b) {
			t.Fatalf("non-canonical request accepted: % x re-encodes as % x", b, again)
		}
		if r.Blocks && (r.From == 0 || r.Count == 0 || r.Count > MaxResponseBlocks ||
			r.MaxBytes == 0 || r.MaxBytes > MaxResponseBytes) {
			t.Fatalf("out-of-range request accepted: %+v", r)
		}
	})
}

// FuzzResponse is FuzzRequest for responses.
func FuzzResponse(f *testing.F) {
	for _, s := range seedResponses() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			return
		}
		if again := codec.Encode(&r); !bytes.Equal(again, b) {
			t.Fatalf("non-canonical response accepted: % x re-encodes as % x", b, again)
		}
		switch r.Kind {
		case RespStatus:
			if r.Base == 0 || r.Base > r.Height+1 {
				t.Fatalf("bad status accepted: %+v", r)
			}
		case RespBlocks:
			if r.From == 0 || len(r.Blocks) == 0 || len(r.Blocks) > MaxResponseBlocks {
				t.Fatalf("bad blocks accepted: from %d, %d blocks", r.From, len(r.Blocks))
			}
			for _, blk := range r.Blocks {
				if len(blk) == 0 || len(blk) > MaxBlockBytes {
					t.Fatalf("block of %d bytes accepted", len(blk))
				}
			}
		case RespError:
			if r.Code == 0 || r.Code > maxCode {
				t.Fatalf("code %d accepted", r.Code)
			}
		default:
			t.Fatalf("kind %d accepted", r.Kind)
		}
	})
}

// FuzzReadFrame checks that ReadFrame never panics, never returns more than
// max bytes, and accepts only a minimal length: the frame it read encodes
// back to the bytes it consumed.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{1, 0x01}, uint16(64))
	f.Add(AppendFrame(nil, seedResponses()[3]), uint16(1000))
	f.Add([]byte{0x80, 0x01}, uint16(200))
	f.Add([]byte{0x81, 0x00}, uint16(200))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, uint16(200))
	f.Fuzz(func(t *testing.T, b []byte, max uint16) {
		in := bytes.NewReader(b)
		payload, err := ReadFrame(bufio.NewReaderSize(in, 16), int(max))
		if err != nil {
			return
		}
		if len(payload) == 0 || len(payload) > int(max) {
			t.Fatalf("frame of %d bytes accepted with max %d", len(payload), max)
		}
		frame := AppendFrame(nil, payload)
		if !bytes.HasPrefix(b, frame) {
			t.Fatalf("non-canonical frame accepted: % x, canonical % x", b[:min(len(b), 16)], frame[:min(len(frame), 16)])
		}
	})
}
