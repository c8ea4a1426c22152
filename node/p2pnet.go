package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/p2p"
)

// P2PNet is a node's Transport over libp2p (package p2p) and the loop that
// drives the node in real time: the equivalent, on one machine among
// others, of what SimNet does for a whole network in virtual time.
//
// Gossip: consensus messages, transactions and readings go on the chain's
// three gossipsub topics. Each topic's validator runs on gossipsub's
// workers, concurrently, and calls GossipVerdict: the canonical decode and
// Node.PreCheck, which checks the signature through the node's one
// signature cache. What the validator accepted reaches Deliver with its
// signature in that cache, so the mempool, the reading pool, the
// ledger's PreVerify and the consensus verifier do not check it again:
// each signature is verified once per node.
//
// Driving: Run owns the node. One goroutine delivers the accepted
// messages one at a time and ticks the node when its next deadline
// (Node.NextWakeMs) comes on the wall clock; the clock is read here,
// outside the state transitions, and handed to Tick. Consensus messages
// go first: they have their own queue, emptied before the one of
// transactions and readings. Under a flood of transactions the node
// sheds them (shedTx, p2p.Host.ShedIf: a mempool of shedTxAbove or a
// half-full queue), and a full transaction queue drops what peers send
// rather than block gossipsub (see bench/chain and bench/RESULTS.md).
//
// Catch-up: a node that sees a peer ahead asks for the decided blocks it
// lacks (Transport.RequestBlocks). P2PNet answers that through Sync, the
// seam for block sync (package p2p/blocksync); without one it asks a peer
// on the catchup/1 request protocol, which serves Node.ServeBlocks, the
// same answer SimNet gives.
type P2PNet struct {
	host *p2p.Host
	log  *slog.Logger
	// Sync, if set before Run, fetches the blocks a node lacks in place of
	// the built-in catch-up request.
	Sync BlockSyncer
	// Now is the wall clock in Unix ms (default time.Now); tests may slow
	// or shift it, never stop it.
	Now func() int64
	// Speed is how many of Now's milliseconds pass in one of the wall
	// clock's (0 or 1: Now is the wall clock). The devnet runs its
	// validators on a sped-up clock; the timers that wait for the node's
	// next deadline wait Speed times less.
	Speed float64

	node atomic.Pointer[Node]
	// in carries consensus messages (and decided blocks), inTx
	// transactions and readings. Run takes from in first: a flood of
	// transactions must not hold a vote or a proposal back until the
	// round times out (bench/chain saw blocks of 20 s while transactions
	// streamed in through one queue).
	in   chan delivery
	inTx chan delivery
	// pending is the mempool's size as the node's goroutine last saw it,
	// for the tx topic's shed test (shedTx).
	pending atomic.Int64
	// Shed counts transactions and readings heard from peers and dropped
	// because inTx was full (the node is behind on them; gossip is best
	// effort, and their authors resend).
	Shed  atomic.Uint64
	serve chan serveReq
	// do carries Do's functions to the node's goroutine.
	do chan func(*Node)
	// committed is signalled (without blocking) after each commit.
	committed chan struct{}
	// catching is set while a catch-up request is out.
	catching atomic.Bool
	// ctx ends when Run's context does (or Run returns); made with the
	// P2PNet so that Inject from any goroutine reads it without a race.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	status atomic.Pointer[RunStatus]
	// lastAheadMs is when a peer last showed a height above ours.
	lastAheadMs atomic.Int64
	// Rejected and Ignored count the gossip validator's verdicts by topic;
	// Useless, the Ignored ones charged to their sender (stateVerdict).
	Rejected, Ignored, Useless [4]atomic.Uint64
}

// BlockSyncer is the seam for block sync: it is asked for the decided
// blocks from height from on, and hands them to the node (for instance
// through P2PNet.Inject as consensus messages of kind MsgDecided, or by
// its own verified path). RequestBlocks must not block; it is called on
// the node's goroutine.
type BlockSyncer interface {
	RequestBlocks(from uint64)
}

type delivery struct {
	topic Topic
	data  []byte
	// synced is the height of a decided block that block sync hands over
	// (0 for anything else).
	synced uint64
}

type serveReq struct {
	from  uint64
	reply chan [][]byte
}

// RunStatus is what `gridmint status` shows of a running node.
type RunStatus struct {
	Moniker   string   `json:"moniker"`
	ChainID   string   `json:"chain_id"`
	PeerID    string   `json:"peer_id"`
	Addrs     []string `json:"addrs"`
	Height    uint64   `json:"height"`
	StateRoot string   `json:"state_root"`
	Round     int32    `json:"round"`
	Peers     int      `json:"peers"`
	// Sync is "synced", "catching_up" (a peer is ahead, or the ledger
	// reopened below what this node had committed) or "no_peers".
	Sync      string `json:"sync"`
	Validator bool   `json:"validator"`
	TimeMs    int64  `json:"time_ms"`
	// Block sync (with a BlockSync as Sync): its state ("idle",
	// "syncing", "caught-up", "no-peers"), the height it syncs to, and
	// its rate in blocks/s (display only).
	BlockSync      string `json:"block_sync,omitempty"`
	SyncTarget     uint64 `json:"sync_target,omitempty"`
	SyncBlocksPerS int64  `json:"sync_blocks_per_s,omitempty"`
}

// NewP2PNet wraps a started host. The node comes with Run.
func NewP2PNet(h *p2p.Host, log *slog.Logger) *P2PNet {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &P2PNet{host: h, log: log, Now: func() int64 { return time.Now().UnixMilli() }, ctx: ctx, cancel: cancel,
		in: make(chan delivery, 4096), inTx: make(chan delivery, 4096), serve: make(chan serveReq), do: make(chan func(*Node)), committed: make(chan struct{}, 1)}
}

// wallDuration is how long ms of Now's milliseconds last on the wall.
func (t *P2PNet) wallDuration(ms int64) time.Duration {
	if t.Speed > 1 {
		return time.Duration(float64(ms) / t.Speed * float64(time.Millisecond))
	}
	return time.Duration(ms) * time.Millisecond
}

// Host is the libp2p host.
func (t *P2PNet) Host() *p2p.Host { return t.host }

// Broadcast publishes data on topic; gossip is best effort, so a failure
// (too large, host closed) is logged.
func (t *P2PNet) Broadcast(topic Topic, data []byte) {
	if err := t.host.Publish(p2p.TopicID(topic), data); err != nil {
		t.log.Debug("broadcast dropped", "topic", topic, "bytes", len(data), "err", err)
	}
}

// RequestBlocks asks for the decided blocks from height from on: through
// Sync if set, else one catch-up request at a time to a connected peer.
func (t *P2PNet) RequestBlocks(from uint64) {
	t.lastAheadMs.Store(t.Now())
	if t.Sync != nil {
		t.Sync.RequestBlocks(from)
		return
	}
	if t.node.Load() == nil || t.ctx.Err() != nil || !t.catching.CompareAndSwap(false, true) {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer t.catching.Store(false)
		t.catchUp(from)
	}()
}

// The catch-up protocol: the request is the height to start from (8 bytes,
// big-endian), the response up to catchUpBlocks consensus messages of kind
// MsgDecided (EncodeBlocks).
const (
	catchUpProto    = "catchup/1"
	catchUpBlocks   = 64
	catchUpMaxBytes = 16 << 20
	catchUpTimeout  = 10 * time.Second
	// catchUpBan: how long a peer that broke the protocol is cut off
	// (block sync's ban).
	catchUpBan = 10 * time.Minute
)

func (t *P2PNet) catchUp(from uint64) {
	req := binary.BigEndian.AppendUint64(nil, from)
	for _, p := range t.host.Peers() {
		ctx, cancel := context.WithTimeout(t.ctx, catchUpTimeout)
		resp, err := t.host.Request(ctx, p, catchUpProto, req, catchUpMaxBytes)
		cancel()
		if err != nil {
			t.log.Debug("catch-up request", "peer", p, "err", err)
			continue
		}
		msgs, err := DecodeBlocks(resp)
		if err != nil {
			// A broken response is a lie, not a slow link: the peer is
			// cut off, as block sync does (p2p/blocksync's bans).
			t.host.Ban(p, catchUpBan, err)
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		t.log.Info("catching up", "from", from, "blocks", len(msgs), "peer", p)
		// One block at a time: the node holds what arrives in the pause
		// after a block and drops the rest once it decides again, so a
		// batch handed over at once would commit one block per request.
		for _, m := range msgs {
			var cm consensus.Message
			if codec.Decode(m, &cm) != nil || cm.Kind != consensus.MsgDecided {
				t.host.Ban(p, catchUpBan, errors.New("catch-up response: not a decided block"))
				return
			}
			n := t.node.Load()
			if cm.Height() <= n.Ledger().Height() {
				continue
			}
			if !t.Inject(TopicConsensus, m) {
				return
			}
			deadline := time.NewTimer(catchUpTimeout)
			for n.Ledger().Height() < cm.Height() {
				select {
				case <-t.committed:
				case <-deadline.C:
					t.log.Debug("catch-up: block not applied", "height", cm.Height(), "peer", p)
					return
				case <-t.ctx.Done():
					deadline.Stop()
					return
				}
			}
			deadline.Stop()
		}
		return
	}
}

// Inject hands the node a message as if a peer had sent it (it goes
// through Deliver, which checks everything); false once Run has ended.
// For block sync and local submissions; before Run, the message waits
// for it (up to the queue's 4,096).
func (t *P2PNet) Inject(topic Topic, data []byte) bool {
	select {
	case t.queue(topic) <- delivery{topic: topic, data: data}:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// queue is the delivery queue of topic's messages.
func (t *P2PNet) queue(topic Topic) chan delivery {
	if topic == TopicConsensus {
		return t.in
	}
	return t.inTx
}

// injectSynced hands the node a decided block of height h that block sync
// verified: Inject, marked so that the node enters the next height without
// the block pause (the block was decided long ago).
func (t *P2PNet) injectSynced(h uint64, data []byte) bool {
	select {
	case t.in <- delivery{TopicConsensus, data, h}:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// Submit delivers a message of this node's own (a transaction, a reading
// signed here) to the node and publishes it to the peers.
func (t *P2PNet) Submit(topic Topic, data []byte) bool {
	if !t.Inject(topic, data) {
		return false
	}
	t.Broadcast(topic, data)
	return true
}

// EncodeBlocks is the catch-up response: for each message its length (4
// bytes, big-endian, at least 1) and its bytes.
func EncodeBlocks(msgs [][]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = binary.BigEndian.AppendUint32(out, uint32(len(m)))
		out = append(out, m...)
	}
	return out
}

// ErrBadBlocks is a malformed catch-up response.
var ErrBadBlocks = errors.New("node: malformed catch-up response")

// DecodeBlocks reads EncodeBlocks' form: no empty message, no more than
// catchUpBlocks, nothing left over.
func DecodeBlocks(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: %d stray bytes", ErrBadBlocks, len(b))
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if n == 0 || uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: message of %d bytes with %d left", ErrBadBlocks, n, len(b))
		}
		if len(out) == catchUpBlocks {
			return nil, fmt.Errorf("%w: more than %d messages", ErrBadBlocks, catchUpBlocks)
		}
		out = append(out, b[:n:n])
		b = b[n:]
	}
	return out, nil
}

// GossipVerdict is a gossip validator's answer for a message from a peer,
// safe on any goroutine: Reject for what is invalid whatever the node's
// state (malformed, a bad signature, another chain: Node.PreCheck's
// errors), Ignore for what this node cannot check or nobody needs
// forwarded (see consensusVerdict), else Accept. Duplicates by content
// never get here: every message has one canonical encoding, and gossipsub
// drops a message whose SHA-256 it has seen before calling a validator.
func (n *Node) GossipVerdict(topic Topic, data []byte) p2p.Verdict {
	v, _ := n.gossipVerdict(topic, data)
	return v
}

// gossipVerdict is GossipVerdict, and for an Ignored consensus message
// whether the node should still see it (local: it may show that a peer is
// ahead, which is how a node that is behind learns it).
func (n *Node) gossipVerdict(topic Topic, data []byte) (v p2p.Verdict, local bool) {
	if topic == TopicConsensus {
		var m consensus.Message
		if codec.Decode(data, &m) != nil {
			return p2p.Reject, false
		}
		return n.consensusVerdict(&m)
	}
	if n.PreCheck(topic, data) != nil {
		return p2p.Reject, false
	}
	return p2p.Accept, false
}

// consensusVerdict: a consensus message is Accepted (forwarded) only when
// its signature was checked here against its height's validator set: a
// proposal or vote of the next height, or a precommit of the last
// committed one (the next block's certificate carries them). Everything
// else is Ignored, because forwarding what we did not check lets a
// hostile peer use us: a vote by a non-validator two heights ahead of a
// node that is one block behind would pass it unchecked, and the nodes
// one block further, which can check it, would Reject it and score the
// honest node that relayed it down (three such votes graylist it; the
// hostile-peer test saw validators ban each other this way). So:
//
//   - below the committed height, or of the committed height but not a
//     precommit: stale, nobody needs it; Ignore, not delivered;
//   - above the next height, a decided block, or before the node knows
//     its sets: Ignore but delivered here (local), where the engine checks
//     it in full, and learns from it that a peer is ahead; its author's
//     own publication reaches every peer directly (flood publish), so
//     nobody needs our relay;
//   - the next height, or a precommit of the committed one: checked;
//     Reject if the signature fails (wrong chain, not a validator, forged),
//     else Accept.
//
// The set and the heights come from one load of n.next, so the answer is
// about one consistent view even while the node commits.
func (n *Node) consensusVerdict(m *consensus.Message) (v p2p.Verdict, local bool) {
	hs := n.next.Load()
	switch {
	case hs == nil || m.Kind == consensus.MsgDecided || m.Height() > hs.low+1:
		return p2p.Ignore, true
	case m.Height() < hs.low:
		return p2p.Ignore, false
	case m.Height() == hs.low && (m.Kind != consensus.MsgVote || m.Vote.Type != consensus.Precommit):
		return p2p.Ignore, false
	}
	set := hs.sets[m.Height()-hs.low]
	if set == nil {
		return p2p.Ignore, true
	}
	if consensus.CheckSignature(n.cfg.Genesis.ChainID, set, n.ver, m) != nil {
		return p2p.Reject, false
	}
	return p2p.Accept, false
}

// stateVerdict is the second half of a topic validator, for a message
// GossipVerdict accepted (well formed, validly signed, of this chain): the
// cheap checks against the committed state, on gossipsub's workers (the
// ledger's reads are safe there). What fails them is Ignored, not
// Rejected: an honest peer a block ahead or behind may see it valid, so it
// must not cost the P4 penalty that graylists after a handful. But it is
// not forwarded either, and a message no honest node would have passed on
// (useless: a transaction whose account cannot pay the fee or below the
// minimum fee, a reading of an unregistered site or of an interval that
// has not ended) is charged to the peer with Host.Penalize, so that a peer
// flooding them is graylisted (p2p/score.go: 20 are free, about 37 graylist
// it). A replay (a transaction whose nonce the account has used, a reading
// of an interval the site has on chain) is Ignored and not charged: a
// peer one block behind relays what we have just committed.
//
// Consensus messages are left to GossipVerdict: a vote of a height above
// the next cannot be checked before its validator set is known, and a node
// that is behind learns it is behind from those votes.
func (t *P2PNet) stateVerdict(n *Node, topic Topic, data []byte) (v p2p.Verdict, useless bool) {
	l := n.Ledger()
	switch topic {
	case TopicTx:
		_, err := l.CheckTx(data)
		switch {
		case err == nil:
			return p2p.Accept, false
		case errors.Is(err, ledger.ErrBadNonce):
			return p2p.Ignore, false
		}
		return p2p.Ignore, true
	case TopicReading:
		r, err := meter.DecodeReading(data)
		if err != nil {
			return p2p.Reject, false // GossipVerdict decoded it; not reached
		}
		s, ok, err := l.Site(r.Site)
		switch {
		case err != nil:
			return p2p.Ignore, false
		case !ok:
			return p2p.Ignore, true
		case r.Counter <= s.Counter:
			return p2p.Ignore, false // on chain already
		}
		p := n.cfg.Genesis.Params
		secs := int64(p.IntervalSeconds)
		if r.Interval > 1<<40 || n.cfg.Genesis.GenesisTime+(int64(r.Interval)+1)*secs > t.Now()/1000+int64(p.ReadingMaxSkewSeconds) {
			return p2p.Ignore, true // from the future (as the ledger's RejectFuture)
		}
	}
	return p2p.Accept, false
}

// Run drives n until ctx ends: it joins the three topics with n's
// validators, serves catch-up requests, and delivers and ticks on one
// goroutine. It returns nil when ctx ends (the caller then closes the
// host, then the node), or the node's first error.
func (t *P2PNet) Run(ctx context.Context, n *Node) error {
	if !t.node.CompareAndSwap(nil, n) {
		return errors.New("node: P2PNet runs one node")
	}
	stop := context.AfterFunc(ctx, t.cancel)
	defer stop()
	if s, ok := t.Sync.(interface{ stopServing() }); ok {
		defer s.stopServing()
	}
	defer t.wg.Wait()
	defer t.cancel()
	ctx = t.ctx
	t.host.ShedIf(p2p.TopicTx, t.shedTx)
	for _, topic := range []Topic{TopicConsensus, TopicTx, TopicReading} {
		err := t.host.Join(p2p.TopicID(topic), func(from peer.ID, data []byte) p2p.Verdict {
			v, local := n.gossipVerdict(topic, data)
			if local {
				// Not forwarded, but the node sees it (without waiting:
				// a full queue drops it, as gossip is best effort).
				select {
				case t.in <- delivery{topic: topic, data: data}:
				default:
				}
			}
			if v == p2p.Accept {
				var useless bool
				if v, useless = t.stateVerdict(n, topic, data); useless {
					t.host.Penalize(from)
					t.Useless[topic].Add(1)
				}
			}
			switch v {
			case p2p.Reject:
				t.Rejected[topic].Add(1)
			case p2p.Ignore:
				t.Ignored[topic].Add(1)
			}
			return v
		}, func(_ p2p.TopicID, _ peer.ID, data []byte) {
			if topic != TopicConsensus {
				// Shed what the node cannot keep up with rather than
				// block gossipsub's delivery behind it.
				select {
				case t.inTx <- delivery{topic: topic, data: data}:
				default:
					t.Shed.Add(1)
				}
				return
			}
			select {
			case t.in <- delivery{topic: topic, data: data}:
			case <-ctx.Done():
			}
		})
		if err != nil && !errors.Is(err, p2p.ErrJoined) {
			return err
		}
	}
	t.host.HandleRequests(catchUpProto, 8, catchUpTimeout, func(rctx context.Context, _ peer.ID, req []byte) ([]byte, error) {
		if len(req) != 8 {
			return nil, errors.New("want an 8-byte height")
		}
		r := serveReq{from: binary.BigEndian.Uint64(req), reply: make(chan [][]byte, 1)}
		select {
		case t.serve <- r:
		case <-rctx.Done():
			return nil, errors.New("busy")
		}
		select {
		case msgs := <-r.reply:
			return EncodeBlocks(msgs), nil
		case <-rctx.Done():
			return nil, errors.New("busy")
		}
	})
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// A status refresh every second keeps the peer count current while
	// nothing happens.
	refresh := time.NewTicker(time.Second)
	defer refresh.Stop()
	if err := n.Tick(t.Now()); err != nil {
		return err
	}
	published, refreshed := ^uint64(0), true
	for {
		t.pending.Store(int64(n.Pool.Len()))
		if h := n.Ledger().Height(); h != published || refreshed {
			if h != published {
				select {
				case t.committed <- struct{}{}:
				default:
				}
			}
			t.publishStatus(n)
			published, refreshed = h, false
		}
		now := t.Now()
		if wake, ok := n.NextWakeMs(); ok {
			if wake <= now {
				if err := n.Tick(now); err != nil {
					return err
				}
				continue
			}
			timer.Reset(t.wallDuration(wake - now))
		} else {
			timer.Reset(time.Hour)
		}
		deliver := func(d delivery) error {
			// The node's clock moves before each delivery: Deliver does
			// not know the time, and the engine stamps its votes with
			// the last it was given.
			if err := n.Tick(t.Now()); err != nil {
				return err
			}
			n.syncedTo = max(n.syncedTo, d.synced)
			return n.Deliver(d.topic, d.data)
		}
		// Consensus first (see in).
		select {
		case d := <-t.in:
			if err := deliver(d); err != nil {
				return err
			}
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return nil
		case d := <-t.in:
			if err := deliver(d); err != nil {
				return err
			}
		case d := <-t.inTx:
			if err := deliver(d); err != nil {
				return err
			}
		case r := <-t.serve:
			r.reply <- serveBlocks(n, r.from)
		case f := <-t.do:
			f(n)
		case <-timer.C:
			if err := n.Tick(t.Now()); err != nil {
				return err
			}
		case <-refresh.C:
			refreshed = true
		}
	}
}

// shedTxAbove is the mempool size from which a node sheds the
// transactions its peers send (p2p.Host.ShedIf): two blocks' worth of 1
// KiB transactions at the proposer's reap bound (MaxBlockBytes/2, 2 MiB).
// What is shed is neither checked nor forwarded; its sender resends, as
// with CometBFT's full mempool.
const shedTxAbove = 4096

// shedTx: the node is behind on transactions (mempool above shedTxAbove,
// or its delivery queue half full). Safe on any goroutine.
func (t *P2PNet) shedTx() bool {
	return t.pending.Load() >= shedTxAbove || len(t.inTx) >= cap(t.inTx)/2
}

// serveBlocks answers a catch-up request: up to catchUpBlocks decided
// blocks from height from, cut to fit the response's size bound.
func serveBlocks(n *Node, from uint64) [][]byte {
	msgs := n.ServeBlocks(from, catchUpBlocks)
	size := 0
	for i, m := range msgs {
		if size += 4 + len(m); size > catchUpMaxBytes {
			return msgs[:i]
		}
	}
	return msgs
}

// Status is the last status Run published (nil before Run).
func (t *P2PNet) Status() *RunStatus { return t.status.Load() }

func (t *P2PNet) publishStatus(n *Node) {
	st := n.Status()
	peers := len(t.host.Peers())
	s := &RunStatus{Moniker: n.Name(), ChainID: t.host.ChainID(), PeerID: t.host.ID().String(), Addrs: t.host.Addrs(),
		Height: n.Ledger().Height(), Round: st.Round, Peers: peers, Validator: n.guard != nil, TimeMs: t.Now()}
	root := n.Ledger().StateRoot()
	s.StateRoot = fmt.Sprintf("%x", root[:])
	switch {
	case peers == 0:
		s.Sync = "no_peers"
	case n.catchUpTo > s.Height || t.catching.Load() || t.Now()-t.lastAheadMs.Load() < 5_000:
		s.Sync = "catching_up"
	default:
		s.Sync = "synced"
	}
	if bs, ok := t.Sync.(*BlockSync); ok {
		p := bs.Progress()
		s.BlockSync, s.SyncTarget, s.SyncBlocksPerS = p.State.String(), p.Target, int64(p.BlocksPerSec)
		if bs.Running() && peers > 0 {
			s.Sync = "catching_up"
		}
	}
	t.status.Store(s)
}

// P2P is the p2p.Config of these options (field for field; message size
// bounds are p2p's defaults).
func (c P2PConfig) P2P() p2p.Config {
	return p2p.Config{
		Listen: c.Listen, Announce: c.Announce, Bootstrap: c.Bootstrap,
		MDNS: c.MDNS, NATPortMap: c.NATPortMap, MaxPeers: c.MaxPeers, LoopbackOnly: c.LoopbackOnly,
		Limits: p2p.Limits{MemoryMiB: c.LimitMemoryMiB, FDs: c.LimitFDs, Conns: c.LimitConns,
			ConnsInbound: c.LimitConnsInbound, Streams: c.LimitStreams, StreamsPerPeer: c.LimitStreamsPerPeer},
		MaxMessageBytes: p2p.DefaultMaxMessageBytes(),
	}
}
