package p2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio"
)

// Request/response protocols: one request and one response per stream,
// each a uvarint-length-prefixed frame (go-msgio), the response's first
// byte a status (0 ok, 1 error with a UTF-8 reason). Both sides bound the
// frame they read and the time the exchange takes.

// ProtocolID is a stream protocol of this chain: /gridmint/<chain id>/<name>,
// e.g. ProtocolID("blocks/1").
func (h *Host) ProtocolID(name string) protocol.ID {
	return protocol.ID("/gridmint/" + h.chainID + "/" + name)
}

// RequestHandler answers one request from a peer. An error is sent back as
// the reason; it should say what was wrong with the request, nothing more.
type RequestHandler func(ctx context.Context, from peer.ID, req []byte) ([]byte, error)

// ErrRemote wraps the reason a peer's handler gave.
var ErrRemote = errors.New("p2p: peer refused")

const (
	statusOK  = 0
	statusErr = 1
)

// HandleRequests serves ProtocolID(name): requests over maxReq bytes are
// refused unread, and the whole exchange must end within timeout.
func (h *Host) HandleRequests(name string, maxReq int, timeout time.Duration, handle RequestHandler) {
	h.h.SetStreamHandler(h.ProtocolID(name), func(s network.Stream) {
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(timeout))
		r := msgio.NewVarintReaderSize(s, maxReq)
		req, err := r.ReadMsg()
		if err != nil {
			_ = s.Reset()
			return
		}
		ctx, cancel := context.WithTimeout(h.ctx, timeout)
		resp, herr := handle(ctx, s.Conn().RemotePeer(), req)
		cancel()
		r.ReleaseMsg(req)
		w := msgio.NewVarintWriter(s)
		if herr != nil {
			err = w.WriteMsg(append([]byte{statusErr}, herr.Error()...))
		} else {
			err = w.WriteMsg(append([]byte{statusOK}, resp...))
		}
		if err != nil {
			_ = s.Reset()
		}
	})
}

// Request sends req to p on ProtocolID(name) and returns its response,
// reading at most maxResp bytes. ctx bounds the exchange.
func (h *Host) Request(ctx context.Context, p peer.ID, name string, req []byte, maxResp int) ([]byte, error) {
	s, err := h.h.NewStream(ctx, p, h.ProtocolID(name))
	if err != nil {
		return nil, fmt.Errorf("p2p: open %s to %s: %w", name, p, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if err := msgio.NewVarintWriter(s).WriteMsg(req); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("p2p: %s request to %s: %w", name, p, err)
	}
	_ = s.CloseWrite()
	resp, err := msgio.NewVarintReaderSize(s, maxResp+1).ReadMsg()
	if err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("p2p: %s response from %s: %w", name, p, err)
	}
	_ = s.Close()
	if len(resp) == 0 {
		return nil, fmt.Errorf("p2p: %s response from %s: empty frame", name, p)
	}
	if resp[0] != statusOK {
		return nil, fmt.Errorf("%w: %s from %s: %s", ErrRemote, name, p, resp[1:])
	}
	return resp[1:], nil
}
