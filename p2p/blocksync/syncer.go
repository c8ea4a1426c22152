package blocksync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Prepared is what App.Prepare makes of a block for App.Apply: decoded and
// verified, ready to execute.
type Prepared any

// App is the node side of a syncer.
type App interface {
	// Height is the last applied height (0 before the first block).
	Height() uint64
	// Prepare decodes the encoded block of height h and verifies it (its
	// commit certificate against the validator set). The syncer calls it
	// on several goroutines at once, for different heights; an error means
	// the peer that sent raw sent a bad block.
	//
	// An error wrapping ErrNotYet says that h cannot be verified before
	// more blocks are applied (its validator set is decided by an earlier
	// block of a new epoch): the syncer prepares it again after the next
	// Apply, and bans no one. At h = Height()+1 nothing more can be
	// applied first, so there ErrNotYet counts as a bad block.
	Prepare(h uint64, raw []byte) (Prepared, error)
	// Apply executes a prepared block. The syncer calls it on one
	// goroutine, strictly in height order from Height()+1. An error stops
	// the sync: a certified block that cannot be applied is a local fault.
	Apply(p Prepared) error
}

// ErrNotYet is what App.Prepare returns (wrapped) for a block it can
// verify only once more blocks are applied.
var ErrNotYet = errors.New("blocksync: block cannot be verified before earlier blocks are applied")

// Errors that ban a peer (the reason kept in the ban list).
var (
	ErrBadBlock   = errors.New("blocksync: peer sent a block that failed verification")
	ErrLiedHeight = errors.New("blocksync: peer claimed a height it cannot serve")
)

// Config sets a syncer's behaviour. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// BatchBlocks and BatchBytes bound one request.
	BatchBlocks uint32
	BatchBytes  uint32
	// InFlightPerPeer is the number of requests outstanding to one peer.
	InFlightPerPeer int
	// MaxAhead bounds how far beyond the applied height blocks are fetched
	// (the memory held: MaxAhead blocks).
	MaxAhead uint64
	// Workers is the number of goroutines running App.Prepare
	// (GOMAXPROCS when 0).
	Workers int
	// RequestTimeout bounds one request, stream opening included.
	RequestTimeout time.Duration
	// StatusInterval is how often a peer's status is asked again while
	// syncing (the target moves while the chain grows).
	StatusInterval time.Duration
	// RetryBackoff is how long a peer that timed out or refused rests; it
	// doubles with each failure in a row up to MaxBackoff.
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// BanDuration is how long a misbehaving peer is not asked.
	BanDuration time.Duration
	// MaxFailures is the number of blocks requests in a row a peer may
	// fail (time out, refuse) before its claimed height stops counting
	// towards the target: a peer that claims more than it ever delivers
	// cannot hold the sync back, though it cannot be proven to lie and is
	// not banned. It is still asked again after its back-off, and counts
	// again after its next delivery.
	MaxFailures int
	// Tick is how often the scheduler wakes up with nothing else to do.
	Tick time.Duration
	// Now is the clock of bans, back-offs, status ages and the rate
	// (time.Now when nil). Timeouts of requests use real time.
	Now func() time.Time
	// OnBan is called (on the syncer's goroutine) when a peer is banned, so
	// the node can score it down or close its connection.
	OnBan func(p peer.ID, reason error)
	// Logger receives debug lines (slog.Default when nil).
	Logger *slog.Logger
}

// DefaultConfig: 128 blocks or 1 MiB per request (a batch of devnet blocks
// is about 256 KiB, one round trip for 128 heights), 2 requests in flight
// per peer (one is being served while the other is on the wire), 2,048
// blocks ahead (4 MiB of devnet blocks), 10 s per request, status every
// 2 s, 1 s back-off up to 30 s, bans of 10 minutes, a peer's height
// ignored after 3 failed blocks requests in a row.
func DefaultConfig() Config {
	return Config{
		BatchBlocks:     128,
		BatchBytes:      1 << 20,
		InFlightPerPeer: 2,
		MaxAhead:        2048,
		RequestTimeout:  10 * time.Second,
		StatusInterval:  2 * time.Second,
		RetryBackoff:    time.Second,
		MaxBackoff:      30 * time.Second,
		BanDuration:     10 * time.Minute,
		MaxFailures:     3,
		Tick:            200 * time.Millisecond,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.BatchBlocks == 0 || c.BatchBlocks > MaxResponseBlocks {
		c.BatchBlocks = d.BatchBlocks
	}
	if c.BatchBytes == 0 || c.BatchBytes > MaxResponseBytes {
		c.BatchBytes = d.BatchBytes
	}
	if c.InFlightPerPeer <= 0 {
		c.InFlightPerPeer = d.InFlightPerPeer
	}
	if c.MaxAhead == 0 {
		c.MaxAhead = d.MaxAhead
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = d.StatusInterval
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = d.RetryBackoff
	}
	if c.MaxBackoff < c.RetryBackoff {
		c.MaxBackoff = max(d.MaxBackoff, c.RetryBackoff)
	}
	if c.BanDuration <= 0 {
		c.BanDuration = d.BanDuration
	}
	if c.Tick <= 0 {
		c.Tick = d.Tick
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = d.MaxFailures
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// State is what a syncer is doing.
type State uint8

// Sync states.
const (
	StateIdle     State = iota // not running
	StateSyncing               // fetching and applying blocks
	StateCaughtUp              // at the best height any peer has
	StateNoPeers               // no peer to sync from: waiting for one
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateSyncing:
		return "syncing"
	case StateCaughtUp:
		return "caught-up"
	case StateNoPeers:
		return "no-peers"
	}
	return fmt.Sprintf("state-%d", uint8(s))
}

// Progress is a snapshot of a syncer for `gridmint status` and a progress bar.
type Progress struct {
	State        State
	StartHeight  uint64  // applied height when Run started
	Current      uint64  // applied height now
	Target       uint64  // best height a usable peer claims
	BlocksPerSec float64 // applied since Run started, per second (display only)
	Peers        int     // peers with a known status, not banned, not failing
	Banned       int
}

// Syncer brings an App up to the height of its peers over block sync.
type Syncer struct {
	h      host.Host
	client *Client
	app    App
	cfg    Config
	bans   *BanList

	running atomic.Bool

	mu      sync.Mutex
	prog    Progress
	changed chan struct{}
}

// NewSyncer returns a syncer of chainID's blocks for app, asking the peers
// h is connected to.
func NewSyncer(h host.Host, chainID string, app App, cfg Config) *Syncer {
	cfg.fill()
	return &Syncer{
		h: h, client: NewClient(h, chainID), app: app, cfg: cfg,
		bans:    NewBanList(cfg.Now),
		prog:    Progress{State: StateIdle, StartHeight: app.Height(), Current: app.Height()},
		changed: make(chan struct{}),
	}
}

// Bans is the syncer's ban list.
func (s *Syncer) Bans() *BanList { return s.bans }

// Progress returns a snapshot of the sync.
func (s *Syncer) Progress() Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prog
}

// Changed returns a channel that is closed at the next change of Progress.
func (s *Syncer) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Syncer) setProgress(p Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == s.prog {
		return
	}
	s.prog = p
	close(s.changed)
	s.changed = make(chan struct{})
}

// ErrRunning is returned by Run when the syncer already runs.
var ErrRunning = errors.New("blocksync: syncer already running")

// Run syncs until the app has applied the best height that its peers
// claim, asked again once it got there, and returns nil. With no usable
// peer it waits (state no-peers). It returns ctx's error when cancelled
// and an error of App.Apply. No App method is called after Run returns.
func (s *Syncer) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	r := &run{
		s: s, ctx: ctx, cfg: &s.cfg,
		peers:   make(map[peer.ID]*peerState),
		ready:   make(map[uint64]Prepared),
		applyCh: make(chan readyBlock, 256),
		jobs:    make(chan job, 4*s.cfg.Workers),
		events:  make(chan any, 64),
		kick:    make(chan struct{}, 1),
		errCh:   make(chan error, 1),
	}
	r.start = s.app.Height()
	r.applied, r.nextFeed, r.frontier = r.start, r.start+1, r.start+1
	r.startTime = s.cfg.Now()

	notifee := &network.NotifyBundle{
		ConnectedF:    func(network.Network, network.Conn) { r.poke() },
		DisconnectedF: func(network.Network, network.Conn) { r.poke() },
	}
	s.h.Network().Notify(notifee)
	for range s.cfg.Workers {
		r.wg.Add(1)
		go r.worker()
	}
	r.wg.Add(1)
	go r.applier()

	err := r.loop()

	cancel()
	s.h.Network().StopNotify(notifee)
	r.wg.Wait()
	p := r.progress()
	if err == nil {
		p.State = StateCaughtUp
	} else {
		p.State = StateIdle
	}
	s.setProgress(p)
	return err
}

// span is a range of heights [from, to].
type span struct{ from, to uint64 }

func (sp span) len() uint64 { return sp.to - sp.from + 1 }

type peerState struct {
	id             peer.ID
	known          bool
	base, height   uint64
	lastStatus     time.Time
	statusInFlight bool
	statusEpoch    uint64
	inflight       int
	coolUntil      time.Time
	failures       int // requests of any kind failed in a row (back-off)
	fetchFailures  int // blocks requests failed in a row (MaxFailures)
}

type job struct {
	h   uint64
	raw []byte
	p   peer.ID
}

// deferredJob is a block whose Prepare said ErrNotYet, waiting for the
// applied height to pass after.
type deferredJob struct {
	job
	after uint64
}

type readyBlock struct {
	h uint64
	p Prepared
}

type statusDone struct {
	p            peer.ID
	epoch        uint64
	base, height uint64
	err          error
}

type fetchDone struct {
	p   peer.ID
	sp  span
	n   int
	err error
}

type prepDone struct {
	job
	base uint64 // applied height known before Prepare was called
	prep Prepared
	err  error
}

// run is the state of one Run. Only loop's goroutine touches its fields,
// except those marked.
type run struct {
	s   *Syncer
	ctx context.Context
	cfg *Config
	wg  sync.WaitGroup

	peers     map[peer.ID]*peerState
	pending   []span // reassigned heights, sorted, disjoint, not adjacent
	frontier  uint64 // lowest height never assigned
	applied   uint64 // last applied height known to the loop
	nextFeed  uint64 // next height to hand to the applier
	ready     map[uint64]Prepared
	deferred  []deferredJob // Prepare said ErrNotYet
	start     uint64
	startTime time.Time

	target       uint64 // best height a usable peer claims
	usable       int    // peers with a known status, not banned
	initialDone  bool   // every peer first seen has answered or failed
	confirming   bool   // a last status round before declaring caught up
	confirmEpoch uint64 // epoch of that round

	applyCh chan readyBlock // loop → applier; loop never blocks on it
	jobs    chan job        // fetchers → workers
	events  chan any        // fetchers, workers, status askers → loop
	kick    chan struct{}   // applier, notifee → loop (coalesced)
	errCh   chan error      // applier → loop

	appliedA atomic.Uint64 // applier's last applied height
}

func (r *run) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *run) send(ev any) {
	select {
	case r.events <- ev:
	case <-r.ctx.Done():
	}
}

func (r *run) worker() {
	defer r.wg.Done()
	for {
		select {
		case <-r.ctx.Done():
			return
		case j := <-r.jobs:
			base := r.appliedA.Load()
			prep, err := r.s.app.Prepare(j.h, j.raw)
			r.send(prepDone{job: j, base: base, prep: prep, err: err})
		}
	}
}

func (r *run) applier() {
	defer r.wg.Done()
	for {
		select {
		case <-r.ctx.Done():
			return
		case b := <-r.applyCh:
			if err := r.s.app.Apply(b.p); err != nil {
				r.errCh <- fmt.Errorf("blocksync: apply height %d: %w", b.h, err)
				return
			}
			r.appliedA.Store(b.h)
			r.poke()
		}
	}
}

func (r *run) loop() error {
	tick := time.NewTicker(r.cfg.Tick)
	defer tick.Stop()
	for {
		r.applied = r.appliedA.Load()
		if r.applied < r.start {
			r.applied = r.start
		}
		// The applier may have made room: hand it what is ready. (Feeding
		// only when a block is prepared would strand prepared blocks once
		// applyCh had been full and the last preparations had arrived.)
		r.feed()
		r.retryDeferred()
		if r.schedule() {
			return nil
		}
		r.s.setProgress(r.progress())
		select {
		case <-r.ctx.Done():
			return r.ctx.Err()
		case err := <-r.errCh:
			return err
		case <-r.kick:
		case <-tick.C:
		case ev := <-r.events:
			r.handle(ev)
			// Handle what else is queued before scheduling again.
			for n := 0; n < 256 && len(r.events) > 0; n++ {
				r.handle(<-r.events)
			}
		}
	}
}

func (r *run) handle(ev any) {
	now := r.cfg.Now()
	switch ev := ev.(type) {
	case statusDone:
		ps := r.peers[ev.p]
		if ps == nil {
			return
		}
		ps.statusInFlight = false
		var re *RemoteError
		switch {
		case ev.err == nil:
			if ps.known && ev.height < ps.height {
				r.ban(ps, fmt.Errorf("%w: status height %d after %d", ErrLiedHeight, ev.height, ps.height))
				return
			}
			ps.known, ps.base, ps.height, ps.lastStatus = true, ev.base, ev.height, now
			ps.statusEpoch, ps.failures = ev.epoch, 0
		case errors.Is(ev.err, ErrBadResponse):
			r.ban(ps, ev.err)
		case errors.As(ev.err, &re):
			ps.coolUntil = now.Add(r.cfg.RetryBackoff)
		default:
			r.backoff(ps, now, ev.err)
		}
	case fetchDone:
		ps := r.peers[ev.p]
		if ps != nil {
			ps.inflight--
		}
		if ev.err == nil {
			if uint64(ev.n) < ev.sp.len() {
				r.addPending(span{ev.sp.from + uint64(ev.n), ev.sp.to})
			}
			if ps != nil {
				ps.failures, ps.fetchFailures = 0, 0
			}
			return
		}
		r.addPending(ev.sp)
		if ps == nil {
			return
		}
		ps.fetchFailures++
		var re *RemoteError
		switch {
		case errors.Is(ev.err, ErrBadResponse):
			r.ban(ps, ev.err)
		case errors.As(ev.err, &re) && re.Code == CodeNotAvailable && ev.sp.from >= ps.base && ev.sp.from <= ps.height:
			r.ban(ps, fmt.Errorf("%w: claimed %d, refused %d", ErrLiedHeight, ps.height, ev.sp.from))
		case errors.As(ev.err, &re):
			ps.coolUntil = now.Add(r.cfg.RetryBackoff)
		default:
			r.backoff(ps, now, ev.err)
		}
	case prepDone:
		if ev.err != nil && errors.Is(ev.err, ErrNotYet) && ev.h > ev.base+1 {
			if ev.h >= r.nextFeed {
				r.deferred = append(r.deferred, deferredJob{job: ev.job, after: ev.base})
			}
			return
		}
		if ev.err != nil {
			if ev.h >= r.nextFeed {
				if _, ok := r.ready[ev.h]; !ok {
					r.addPending(span{ev.h, ev.h})
				}
			}
			if ps := r.peers[ev.p]; ps != nil {
				r.ban(ps, fmt.Errorf("%w: height %d: %v", ErrBadBlock, ev.h, ev.err))
			} else {
				r.s.bans.Ban(ev.p, r.cfg.BanDuration, ErrBadBlock)
			}
			return
		}
		if ev.h < r.nextFeed {
			return
		}
		if _, ok := r.ready[ev.h]; !ok {
			r.ready[ev.h] = ev.prep
		}
		r.feed()
	}
}

// retryDeferred hands the blocks whose Prepare said ErrNotYet back to the
// workers once the applied height has moved far enough past the one they
// were prepared at. It never blocks: a goroutine queues them.
func (r *run) retryDeferred() {
	var again []job
	keep := r.deferred[:0]
	for _, d := range r.deferred {
		switch {
		case d.h < r.nextFeed:
		case r.applied >= d.after+max(1, (d.h-d.after)/2):
			// Halfway from where it was tried to its own height: a block
			// far ahead is tried again O(log distance) times, and every
			// block is tried again by the time it is next.
			again = append(again, d.job)
		default:
			keep = append(keep, d)
		}
	}
	r.deferred = keep
	if len(again) == 0 {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for _, j := range again {
			select {
			case r.jobs <- j:
			case <-r.ctx.Done():
				return
			}
		}
	}()
}

// feed hands ready blocks to the applier in height order, never blocking.
func (r *run) feed() {
	for len(r.applyCh) < cap(r.applyCh) {
		p, ok := r.ready[r.nextFeed]
		if !ok {
			return
		}
		delete(r.ready, r.nextFeed)
		r.applyCh <- readyBlock{h: r.nextFeed, p: p}
		r.nextFeed++
	}
}

func (r *run) ban(ps *peerState, reason error) {
	if ok, _ := r.s.bans.Banned(ps.id); ok {
		return
	}
	r.s.bans.Ban(ps.id, r.cfg.BanDuration, reason)
	ps.known = false
	r.cfg.Logger.Debug("blocksync: banned peer", "peer", ps.id, "reason", reason)
	if r.cfg.OnBan != nil {
		r.cfg.OnBan(ps.id, reason)
	}
}

func (r *run) backoff(ps *peerState, now time.Time, err error) {
	d := r.cfg.RetryBackoff << min(ps.failures, 16)
	if d > r.cfg.MaxBackoff || d <= 0 {
		d = r.cfg.MaxBackoff
	}
	ps.failures++
	ps.coolUntil = now.Add(d)
	r.cfg.Logger.Debug("blocksync: peer failed", "peer", ps.id, "err", err, "rest", d)
}

// addPending records heights that must be fetched again, keeping pending
// sorted and merged.
func (r *run) addPending(sp span) {
	if sp.to < r.nextFeed {
		return
	}
	sp.from = max(sp.from, r.nextFeed)
	i, _ := slices.BinarySearchFunc(r.pending, sp.from, func(a span, h uint64) int {
		switch {
		case a.from < h:
			return -1
		case a.from > h:
			return 1
		}
		return 0
	})
	r.pending = slices.Insert(r.pending, i, sp)
	// Merge overlapping or adjacent neighbours.
	out := r.pending[:0]
	for _, s := range r.pending {
		if n := len(out); n > 0 && s.from <= out[n-1].to+1 {
			out[n-1].to = max(out[n-1].to, s.to)
			continue
		}
		out = append(out, s)
	}
	r.pending = out
}

// take removes from pending (or from the frontier) the next span that ps can
// serve, of at most BatchBlocks heights.
func (r *run) take(ps *peerState) (span, bool) {
	limit := r.applied + r.cfg.MaxAhead
	for i, sp := range r.pending {
		if sp.from > ps.height {
			break
		}
		if sp.from < ps.base {
			continue
		}
		to := min(sp.to, ps.height, sp.from+uint64(r.cfg.BatchBlocks)-1)
		got := span{sp.from, to}
		if to == sp.to {
			r.pending = slices.Delete(r.pending, i, i+1)
		} else {
			r.pending[i].from = to + 1
		}
		return got, true
	}
	if r.frontier > ps.height || r.frontier > limit || r.frontier < ps.base {
		return span{}, false
	}
	to := min(ps.height, limit, r.frontier+uint64(r.cfg.BatchBlocks)-1)
	got := span{r.frontier, to}
	r.frontier = to + 1
	return got, true
}

// schedule refreshes the peer table, asks statuses, assigns spans and
// reports whether the sync is done.
func (r *run) schedule() bool {
	now := r.cfg.Now()
	net := r.s.h.Network()
	for _, id := range net.Peers() {
		if r.peers[id] == nil {
			r.peers[id] = &peerState{id: id}
		}
	}
	ids := make([]peer.ID, 0, len(r.peers))
	for id, ps := range r.peers {
		if net.Connectedness(id) != network.Connected && ps.inflight == 0 && !ps.statusInFlight {
			delete(r.peers, id)
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)

	// Statuses.
	initialPending := false
	for _, id := range ids {
		ps := r.peers[id]
		if banned, _ := r.s.bans.Banned(id); banned {
			ps.known = false
			continue
		}
		if ps.statusInFlight {
			initialPending = initialPending || !ps.known
			continue
		}
		if now.Before(ps.coolUntil) {
			continue
		}
		confirm := r.confirming && ps.statusEpoch < r.confirmEpoch
		if !ps.known || confirm || now.Sub(ps.lastStatus) >= r.cfg.StatusInterval {
			initialPending = initialPending || !ps.known
			r.askStatus(ps)
		}
	}
	if !initialPending {
		r.initialDone = true
	}

	// Target: the best height a usable peer claims.
	target := r.applied
	usable := 0
	for _, id := range ids {
		ps := r.peers[id]
		if !r.usablePeer(ps) {
			continue
		}
		usable++
		target = max(target, ps.height)
	}
	r.target = target
	r.usable = usable

	// Blocks: one span per peer per pass, round robin, lowest IDs first.
	if r.initialDone {
		for assigned := true; assigned; {
			assigned = false
			for _, id := range ids {
				ps := r.peers[id]
				if !ps.known || ps.inflight >= r.cfg.InFlightPerPeer || now.Before(ps.coolUntil) {
					continue
				}
				if banned, _ := r.s.bans.Banned(id); banned {
					continue
				}
				sp, ok := r.take(ps)
				if !ok {
					continue
				}
				r.fetch(ps, sp)
				assigned = true
			}
		}
	}

	// Done: applied the target, and every usable peer answered a status
	// asked after that.
	if !r.initialDone || usable == 0 || r.applied < target {
		r.confirming = false
		return false
	}
	if !r.confirming {
		r.confirming = true
		r.confirmEpoch++
		r.poke() // ask the round's statuses on the next pass
		return false
	}
	for _, id := range ids {
		ps := r.peers[id]
		if !r.usablePeer(ps) {
			continue
		}
		if ps.statusEpoch < r.confirmEpoch && (ps.statusInFlight || !now.Before(ps.coolUntil)) {
			return false
		}
	}
	return true
}

// usablePeer reports whether ps's claimed height counts: its status is
// known, it is not banned, and it has not failed MaxFailures blocks
// requests in a row.
func (r *run) usablePeer(ps *peerState) bool {
	if !ps.known || ps.fetchFailures >= r.cfg.MaxFailures {
		return false
	}
	banned, _ := r.s.bans.Banned(ps.id)
	return !banned
}

func (r *run) askStatus(ps *peerState) {
	ps.statusInFlight = true
	id, epoch := ps.id, r.confirmEpoch
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := withTimeout(r.ctx, r.cfg.RequestTimeout)
		defer cancel()
		base, height, err := r.s.client.Status(ctx, id)
		r.send(statusDone{p: id, epoch: epoch, base: base, height: height, err: err})
	}()
}

func (r *run) fetch(ps *peerState, sp span) {
	ps.inflight++
	id := ps.id
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := withTimeout(r.ctx, r.cfg.RequestTimeout)
		blocks, err := r.s.client.Blocks(ctx, id, sp.from, uint32(sp.len()), r.cfg.BatchBytes)
		cancel()
		if err == nil {
			for i, b := range blocks {
				select {
				case r.jobs <- job{h: sp.from + uint64(i), raw: b, p: id}:
				case <-r.ctx.Done():
					return
				}
			}
		}
		r.send(fetchDone{p: id, sp: sp, n: len(blocks), err: err})
	}()
}

func (r *run) progress() Progress {
	p := Progress{
		State:       StateSyncing,
		StartHeight: r.start,
		Current:     r.applied,
		Target:      max(r.target, r.applied),
		Peers:       r.usable,
		Banned:      r.s.bans.Len(),
	}
	if r.initialDone && r.usable == 0 {
		p.State = StateNoPeers
	}
	if el := r.cfg.Now().Sub(r.startTime); el > 0 && r.applied > r.start {
		p.BlocksPerSec = float64(r.applied-r.start) / el.Seconds()
	}
	return p
}
