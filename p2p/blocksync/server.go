package blocksync

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"golang.org/x/time/rate"

	"github.com/gridmint/gridmint/codec"
)

// Store is what a server serves: decided blocks, each an opaque encoding of
// the block with its commit certificate (in a node, a consensus.Message of
// kind MsgDecided, as node.ServeBlocks builds it). It must be safe for
// concurrent use.
type Store interface {
	// Base is the lowest height served (above 1 once old blocks are pruned).
	Base() uint64
	// Height is the highest decided height.
	Height() uint64
	// Block returns the encoded block of height h, Base() ≤ h ≤ Height().
	Block(h uint64) ([]byte, error)
}

// ProtocolID is the stream protocol of block sync on a chain.
func ProtocolID(chainID string) protocol.ID {
	return protocol.ID("/gridmint/" + chainID + "/blocksync/1")
}

// ServerConfig sets a server's limits. Zero fields take the defaults of
// DefaultServerConfig.
type ServerConfig struct {
	// MaxBlocks bounds the blocks in one response (≤ MaxResponseBlocks).
	MaxBlocks int
	// MaxBytes bounds the block bytes in one response (≤ MaxResponseBytes
	// less framing); a single block larger than it is still sent alone.
	MaxBytes int
	// RequestsPerSecond and Burst form each peer's token bucket: one token
	// per request of any kind.
	RequestsPerSecond float64
	Burst             int
	// MaxStreamsPerPeer and MaxStreams bound requests served at once, per
	// peer and in all.
	MaxStreamsPerPeer int
	MaxStreams        int
	// ReadTimeout bounds reading the request; WriteTimeout bounds writing
	// the response.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// Now is the clock of the rate limiter (time.Now when nil).
	Now func() time.Time
	// Logger receives debug lines about refused requests (slog.Default
	// when nil).
	Logger *slog.Logger
}

// DefaultServerConfig is sized for a Raspberry Pi serving a few peers that
// catch up at once: 256 blocks or 2 MiB per response (a response is held in
// memory while it is written), 20 requests/s per peer with a burst of 40
// (about 5,000 devnet blocks/s to one peer, more than a Pi applies), 4
// streams per peer and 32 in all (a 32 × 2 MiB worst case of buffers), 10 s
// to read a 17-byte request, 30 s to write a response over a slow uplink.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		MaxBlocks:         256,
		MaxBytes:          2 << 20,
		RequestsPerSecond: 20,
		Burst:             40,
		MaxStreamsPerPeer: 4,
		MaxStreams:        32,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
}

func (c *ServerConfig) fill() {
	d := DefaultServerConfig()
	if c.MaxBlocks <= 0 || c.MaxBlocks > MaxResponseBlocks {
		c.MaxBlocks = d.MaxBlocks
	}
	if c.MaxBytes <= 0 || c.MaxBytes > MaxResponseBytes-MaxBlockBytes/2 {
		c.MaxBytes = d.MaxBytes
	}
	if c.RequestsPerSecond <= 0 {
		c.RequestsPerSecond = d.RequestsPerSecond
	}
	if c.Burst <= 0 {
		c.Burst = d.Burst
	}
	if c.MaxStreamsPerPeer <= 0 {
		c.MaxStreamsPerPeer = d.MaxStreamsPerPeer
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = d.MaxStreams
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// maxLimiters bounds the per-peer limiter table; idle entries (a full
// bucket, so forgetting them changes nothing) are dropped above it.
const maxLimiters = 1024

// Server answers block sync requests from a Store on a host.
type Server struct {
	h     host.Host
	proto protocol.ID
	store Store
	cfg   ServerConfig

	mu       sync.Mutex
	limiters map[peer.ID]*rate.Limiter
	streams  map[peer.ID]int
	total    int
}

// NewServer registers the block sync protocol of chainID on h and serves
// store. Close removes the handler.
func NewServer(h host.Host, chainID string, store Store, cfg ServerConfig) *Server {
	cfg.fill()
	s := &Server{
		h: h, proto: ProtocolID(chainID), store: store, cfg: cfg,
		limiters: make(map[peer.ID]*rate.Limiter),
		streams:  make(map[peer.ID]int),
	}
	h.SetStreamHandler(s.proto, s.handle)
	return s
}

// Close stops serving new streams.
func (s *Server) Close() { s.h.RemoveStreamHandler(s.proto) }

// admit applies the rate and concurrency limits to a new stream from p. On
// success the caller must call release(p).
func (s *Server) admit(p peer.ID) (ErrCode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	l := s.limiters[p]
	if l == nil {
		if len(s.limiters) >= maxLimiters {
			for id, old := range s.limiters {
				if old.TokensAt(now) >= float64(s.cfg.Burst) && s.streams[id] == 0 {
					delete(s.limiters, id)
				}
			}
		}
		l = rate.NewLimiter(rate.Limit(s.cfg.RequestsPerSecond), s.cfg.Burst)
		s.limiters[p] = l
	}
	if !l.AllowN(now, 1) {
		return CodeRateLimited, false
	}
	if s.streams[p] >= s.cfg.MaxStreamsPerPeer || s.total >= s.cfg.MaxStreams {
		return CodeBusy, false
	}
	s.streams[p]++
	s.total++
	return 0, true
}

func (s *Server) release(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.streams[p]--; s.streams[p] <= 0 {
		delete(s.streams, p)
	}
}

func (s *Server) handle(st network.Stream) {
	defer st.Close()
	p := st.Conn().RemotePeer()
	log := s.cfg.Logger.With("peer", p)
	if code, ok := s.admit(p); !ok {
		log.Debug("blocksync: refused", "reason", code)
		s.reply(st, &Response{Kind: RespError, Code: code})
		return
	}
	defer s.release(p)

	_ = st.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	raw, err := ReadFrame(bufio.NewReaderSize(st, MaxRequestBytes+10), MaxRequestBytes)
	if err != nil {
		log.Debug("blocksync: bad request frame", "err", err)
		if errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrEmptyFrame) ||
			errors.Is(err, codec.ErrNonMinimal) || errors.Is(err, codec.ErrOverflow) {
			s.reply(st, &Response{Kind: RespError, Code: CodeBadRequest})
		} else {
			_ = st.Reset()
		}
		return
	}
	req, err := DecodeRequest(raw)
	if err != nil {
		log.Debug("blocksync: bad request", "err", err)
		s.reply(st, &Response{Kind: RespError, Code: CodeBadRequest})
		return
	}
	_ = st.CloseRead()
	s.reply(st, s.answer(&req))
}

// answer builds the response to a well-formed request.
func (s *Server) answer(req *Request) *Response {
	base, height := s.store.Base(), s.store.Height()
	if base == 0 {
		base = 1
	}
	if !req.Blocks {
		if base > height+1 {
			base = height + 1
		}
		return &Response{Kind: RespStatus, Base: base, Height: height}
	}
	if req.From < base || req.From > height {
		return &Response{Kind: RespError, Code: CodeNotAvailable}
	}
	n := uint64(req.Count)
	if n > uint64(s.cfg.MaxBlocks) {
		n = uint64(s.cfg.MaxBlocks)
	}
	if last := req.From + n - 1; last > height {
		n = height - req.From + 1
	}
	maxBytes := min(int(req.MaxBytes), s.cfg.MaxBytes)
	resp := &Response{Kind: RespBlocks, From: req.From}
	total := 0
	for i := uint64(0); i < n; i++ {
		b, err := s.store.Block(req.From + i)
		if err == nil && (len(b) == 0 || len(b) > MaxBlockBytes) {
			err = fmt.Errorf("block %d of %d bytes", req.From+i, len(b))
		}
		if err != nil {
			if i == 0 {
				s.cfg.Logger.Debug("blocksync: store", "height", req.From, "err", err)
				return &Response{Kind: RespError, Code: CodeNotAvailable}
			}
			break
		}
		if i > 0 && total+len(b) > maxBytes {
			break
		}
		total += len(b)
		resp.Blocks = append(resp.Blocks, b)
	}
	return resp
}

func (s *Server) reply(st network.Stream, r *Response) {
	_ = st.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := st.Write(AppendFrame(nil, codec.Encode(r))); err != nil {
		_ = st.Reset()
	}
}
