package blocksync

import (
	"bufio"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridmint/gridmint/codec"
)

func ctx10s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func remoteCode(err error) ErrCode {
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

// TestServerAnswers checks status, ranges, the byte bound and refusals of
// heights not served, through the real client.
func TestServerAnswers(t *testing.T) {
	const n = 50
	c := newTestChain(t, n, 300)
	client := newHost(t)
	st := newMemStore(c, n)
	st.base = 5
	srv := serve(t, client, st, ServerConfig{RequestsPerSecond: 1000, Burst: 1000, MaxBlocks: 20})
	cl := NewClient(client, testChainID)
	ctx := ctx10s(t)

	base, height, err := cl.Status(ctx, srv.ID())
	if err != nil || base != 5 || height != n {
		t.Fatalf("status %d %d %v", base, height, err)
	}
	blocks, err := cl.Blocks(ctx, srv.ID(), 10, 100, MaxResponseBytes)
	if err != nil || len(blocks) != 20 {
		t.Fatalf("blocks: %d, %v (want the server's 20)", len(blocks), err)
	}
	for i, b := range blocks {
		if string(b) != string(c.blocks[10+i-1]) {
			t.Fatalf("block %d differs", 10+i)
		}
	}
	// The byte bound: each block is the same size; 2.5 blocks' worth gives 2.
	size := uint32(len(c.blocks[0]))
	if blocks, err = cl.Blocks(ctx, srv.ID(), 10, 10, size*5/2); err != nil || len(blocks) != 2 {
		t.Fatalf("2.5 blocks of bytes: %d, %v", len(blocks), err)
	}
	// A bound below one block still gets one.
	if blocks, err = cl.Blocks(ctx, srv.ID(), 10, 10, 1); err != nil || len(blocks) != 1 {
		t.Fatalf("1 byte: %d, %v", len(blocks), err)
	}
	// Up to the top, not past it.
	if blocks, err = cl.Blocks(ctx, srv.ID(), n-2, 10, MaxResponseBytes); err != nil || len(blocks) != 3 {
		t.Fatalf("top: %d, %v", len(blocks), err)
	}
	for _, from := range []uint64{4, n + 1} {
		if _, err := cl.Blocks(ctx, srv.ID(), from, 1, MaxResponseBytes); remoteCode(err) != CodeNotAvailable {
			t.Fatalf("from %d: %v", from, err)
		}
	}
}

// TestServerRateLimit: a peer gets Burst requests, then CodeRateLimited
// until its bucket refills on the server's clock.
func TestServerRateLimit(t *testing.T) {
	c := newTestChain(t, 5, 100)
	client := newHost(t)
	clock := newFakeClock()
	srv := serve(t, client, newMemStore(c, 5), ServerConfig{RequestsPerSecond: 2, Burst: 3, Now: clock.Now})
	cl := NewClient(client, testChainID)
	ctx := ctx10s(t)
	for i := range 3 {
		if _, _, err := cl.Status(ctx, srv.ID()); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, _, err := cl.Status(ctx, srv.ID()); remoteCode(err) != CodeRateLimited {
		t.Fatalf("4th request: %v", err)
	}
	clock.Advance(500 * time.Millisecond) // one token at 2/s
	if _, _, err := cl.Status(ctx, srv.ID()); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	if _, _, err := cl.Status(ctx, srv.ID()); remoteCode(err) != CodeRateLimited {
		t.Fatalf("after the refilled token: %v", err)
	}
}

// blocksReq encodes a blocks request without the range checks.
func blocksReq(from uint64, count, maxBytes uint32) []byte {
	e := codec.NewEncoder(17)
	e.Uint8(tagBlocksReq)
	e.Uint64(from)
	e.Uint32(count)
	e.Uint32(maxBytes)
	return e.Bytes()
}

// TestServerRejectsBadRequests: malformed frames and requests get
// CodeBadRequest and nothing else.
func TestServerRejectsBadRequests(t *testing.T) {
	c := newTestChain(t, 5, 100)
	client := newHost(t)
	srv := serve(t, client, newMemStore(c, 5), ServerConfig{RequestsPerSecond: 1000, Burst: 1000})
	ctx := ctx10s(t)
	for name, frame := range map[string][]byte{
		"unknown tag":     AppendFrame(nil, []byte{0x7f}),
		"trailing byte":   AppendFrame(nil, []byte{tagStatusReq, 0}),
		"truncated":       AppendFrame(nil, codec.Encode(&Request{Blocks: true, From: 1, Count: 1, MaxBytes: 1})[:13:13]),
		"zero count":      AppendFrame(nil, blocksReq(1, 0, 1)),
		"from zero":       AppendFrame(nil, blocksReq(0, 1, 1)),
		"count too large": AppendFrame(nil, blocksReq(1, MaxResponseBlocks+1, 1)),
		"height overflow": AppendFrame(nil, blocksReq(^uint64(0), 2, 1)),
		"non-minimal len": {0x81, 0x00, tagStatusReq},
		"oversized frame": AppendFrame(nil, make([]byte, MaxRequestBytes+1)),
	} {
		st, err := client.NewStream(ctx, srv.ID(), ProtocolID(testChainID))
		if err != nil {
			t.Fatal(err)
		}
		_ = st.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := st.Write(frame); err != nil {
			t.Fatalf("%s: write: %v", name, err)
		}
		_ = st.CloseWrite()
		raw, err := ReadFrame(bufio.NewReader(st), MaxResponseBytes)
		if err != nil {
			t.Fatalf("%s: read: %v", name, err)
		}
		resp, err := DecodeResponse(raw)
		if err != nil || resp.Kind != RespError || resp.Code != CodeBadRequest {
			t.Fatalf("%s: response %+v, %v", name, resp, err)
		}
		_ = st.Close()
	}
}
