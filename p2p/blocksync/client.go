package blocksync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gridmint/gridmint/codec"
)

// RemoteError is a server's refusal.
type RemoteError struct{ Code ErrCode }

func (e *RemoteError) Error() string { return "blocksync: peer refused: " + e.Code.String() }

// ErrBadResponse marks a response that breaks the protocol: malformed, of
// the wrong kind, or a range other than the one asked for. The peer that
// sent it is banned.
var ErrBadResponse = errors.New("blocksync: bad response")

// Client sends single block sync requests, one stream each.
type Client struct {
	h     host.Host
	proto protocol.ID
}

// NewClient returns a client for chainID's block sync protocol on h.
func NewClient(h host.Host, chainID string) *Client {
	return &Client{h: h, proto: ProtocolID(chainID)}
}

// roundTrip opens a stream to p, sends req and reads one response of at
// most maxFrame bytes, all within ctx's deadline.
func (c *Client) roundTrip(ctx context.Context, p peer.ID, req *Request, maxFrame int) (*Response, error) {
	st, err := c.h.NewStream(ctx, p, c.proto)
	if err != nil {
		return nil, err
	}
	// The stream's deadline follows ctx; a context without one still gets
	// the stream's own deadlines from the caller's timeout.
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	if _, err := st.Write(AppendFrame(nil, codec.Encode(req))); err != nil {
		_ = st.Reset()
		return nil, ctxErr(ctx, err)
	}
	_ = st.CloseWrite()
	raw, err := ReadFrame(bufio.NewReader(st), maxFrame)
	if err != nil {
		_ = st.Reset()
		if ctx.Err() == nil && isDecodeErr(err) {
			return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		return nil, ctxErr(ctx, err)
	}
	_ = st.Close()
	resp, err := DecodeResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if resp.Kind == RespError {
		return nil, &RemoteError{Code: resp.Code}
	}
	return &resp, nil
}

func isDecodeErr(err error) bool {
	return errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrEmptyFrame) ||
		errors.Is(err, codec.ErrNonMinimal) || errors.Is(err, codec.ErrOverflow)
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Status asks p for the heights it serves.
func (c *Client) Status(ctx context.Context, p peer.ID) (base, height uint64, err error) {
	resp, err := c.roundTrip(ctx, p, &Request{}, statusFrameBytes)
	if err != nil {
		return 0, 0, err
	}
	if resp.Kind != RespStatus {
		return 0, 0, fmt.Errorf("%w: kind %d to a status request", ErrBadResponse, resp.Kind)
	}
	return resp.Base, resp.Height, nil
}

// Blocks asks p for up to count blocks from height from, of at most
// maxBytes in all. The answer starts at from and has 1..count blocks;
// anything else is ErrBadResponse.
func (c *Client) Blocks(ctx context.Context, p peer.ID, from uint64, count, maxBytes uint32) ([][]byte, error) {
	req := &Request{Blocks: true, From: from, Count: count, MaxBytes: maxBytes}
	resp, err := c.roundTrip(ctx, p, req, blocksFrameBytes(count, maxBytes))
	if err != nil {
		return nil, err
	}
	if resp.Kind != RespBlocks {
		return nil, fmt.Errorf("%w: kind %d to a blocks request", ErrBadResponse, resp.Kind)
	}
	if resp.From != from || len(resp.Blocks) > int(count) {
		return nil, fmt.Errorf("%w: asked %d blocks from %d, got %d from %d",
			ErrBadResponse, count, from, len(resp.Blocks), resp.From)
	}
	return resp.Blocks, nil
}

// statusFrameBytes bounds a status answer (17 bytes) or an error (2).
const statusFrameBytes = 32

// blocksFrameBytes bounds the answer to a blocks request: the tag, From, a
// count of at most 2 varint bytes, at most 4 length bytes a block (a
// block is at most MaxBlockBytes = 2^22), and the blocks, which total at
// most maxBytes unless the first one alone is larger (a server sends it
// anyway). A peer announcing a longer frame is refused before anything
// is allocated for it.
func blocksFrameBytes(count, maxBytes uint32) int {
	n := 1 + 8 + 2 + 4*int64(count) + max(int64(maxBytes), MaxBlockBytes)
	return int(min(n, MaxResponseBytes))
}

// withTimeout is context.WithTimeout that leaves d ≤ 0 unbounded.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
