package sim

import (
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/wallet"
)

// Behaviour is what a simulated validator does.
type Behaviour uint8

// Behaviours. Everything but Honest is Byzantine.
const (
	Honest Behaviour = iota
	// Silent runs but never sends anything.
	Silent
	// Equivocator runs the honest engine but, whenever it proposes, sends
	// one valid proposal to half of its peers and a different valid one to
	// the other half.
	Equivocator
	// DoubleVoter runs the honest engine but sends each vote to half of its
	// peers and a conflicting vote, also signed, to the other half.
	DoubleVoter
	// Garbage sends random bytes, mutated encodings of its messages and
	// well-formed messages with bad signatures, never a valid message.
	Garbage
	// InvalidProposer runs the honest engine but, whenever it proposes,
	// signs and sends a value the validity rule rejects (a block time one
	// millisecond off), to everyone.
	InvalidProposer
	// Amnesiac runs the honest engine but ignores its own lock (the
	// "amnesia" attack): wherever its engine prevotes nil in a round whose
	// valid proposal it has received, it prevotes for that proposal
	// instead. It never signs two prevotes for one round.
	Amnesiac
)

func (b Behaviour) String() string {
	return [...]string{"honest", "silent", "equivocator", "double-voter", "garbage", "invalid-proposer", "amnesiac"}[b]
}

// Scenario describes one simulated network and the faults injected into it.
// Faults (loss, duplication, partitions, crashes) stop at GSTMs, the global
// stabilisation time; Byzantine validators stay Byzantine throughout.
type Scenario struct {
	Name       string
	ChainID    string
	Validators int         // validators per set (the genesis N)
	Candidates int         // nodes; > Validators makes sets change by stake at epochs
	Byzantine  []Behaviour // behaviours of the last len(Byzantine) nodes
	Epoch      uint64      // epoch length in heights; 0 means one epoch forever
	RealCrypto bool        // secp256k1 signatures instead of the fast stand-in

	MinDelayMs, MaxDelayMs int64  // one-way delay, uniform; reordering follows
	LossPPM, DupPPM        uint32 // per delivery, before GST
	Partitions             bool   // random partitions before GST, healed at GST
	Crashes                bool   // random crashes and WAL restarts before GST
	MidReadyCrashes        bool   // crashes also land inside a Ready (torn WAL write, some messages sent)
	ClockSkewMs            int64  // each node's clock is off by up to this much
	// PreGSTMaxDelayMs, if above MaxDelayMs, is the longest one-way delay
	// before GST: delays longer than the timeouts, round after round.
	PreGSTMaxDelayMs int64

	// BlockIntervalMs is the pause a real node makes after applying a
	// decision before it moves to the next height (node.Node waits
	// BlockInterval, then ticks the engine with the current time and
	// calls Advance). Messages that arrive meanwhile are held, as the
	// node holds them, and handed over after Advance.
	BlockIntervalMs int64
	// RoundZero checks that every height commits in round 0: for
	// scenarios without faults or delays beyond the timeouts.
	RoundZero bool
	// QuickSeeds, if > 0, is how many seeds a plain `go test` runs (when
	// -sim.seeds is not given): for the costliest scenarios.
	QuickSeeds int

	// WALCorruption: node 0's WAL is found corrupt mid-file at restarts
	// and repaired (walcorrupt.go).
	WALCorruption WALCorruption

	GSTMs         int64  // faults end at this simulated time
	ExtraHeights  uint64 // liveness: every live honest node reaches max height at GST + this
	LivenessMs    int64  // ... within this long after GST
	StopAtHeight  uint64 // benchmarks: stop once every honest node has this height (0: unused)
	Timeouts      consensus.Timeouts
	GenesisTimeMs int64
}

// Result is what a run measured.
type Result struct {
	Heights          uint64 // lowest height committed by a live honest node at the end
	SimTimeMs        int64
	Broadcasts       uint64 // messages handed to the network by nodes
	Deliveries       uint64 // point-to-point deliveries
	CommitIntervalMs []int64
	MaxRound         int32 // highest round in which an honest node decided
	LockIgnored      int   // prevotes an amnesiac sent against its own lock
	Evidence         int   // evidence reports, of every kind
	ProposalEvidence int   // of which duplicate proposals
	Crashes          int
	Events           uint64
}

// Failure is a safety, validity or liveness violation, with what is needed
// to reproduce it.
type Failure struct {
	Scenario string
	Seed     uint64
	Err      error
}

func (f *Failure) Error() string {
	return fmt.Sprintf("scenario %s seed %d: %v (reproduce: go test ./consensus/sim/ -run 'TestSim' -sim.scenario=%s -sim.seed=%d)",
		f.Scenario, f.Seed, f.Err, f.Scenario, f.Seed)
}

func (f *Failure) Unwrap() error { return f.Err }

// Safety and liveness errors.
var (
	ErrSafety   = errors.New("safety: two different blocks committed at one height")
	ErrValidity = errors.New("validity: committed block fails validation")
	ErrLiveness = errors.New("liveness: network healthy but no progress")
	ErrAccused  = errors.New("evidence against an honest validator")
	ErrInternal = errors.New("engine reported an error")
	// ErrEquivocation is an honest node signing conflicting messages, for
	// instance after a crash and restart from its WAL.
	ErrEquivocation = errors.New("equivocation by an honest node")
	// ErrExtraRound is a height that needed more than round 0 in a
	// scenario where nothing should delay it (RoundZero).
	ErrExtraRound = errors.New("a height took more than one round with no fault")
)

type node struct {
	idx      int
	addr     wallet.Address
	signer   consensus.Signer
	behave   Behaviour
	eng      *consensus.Engine
	wal      *memWAL
	app      *app
	up       bool
	skewMs   int64
	tickGen  uint64
	tickAtMs int64 // simulated time of the pending tick, if any
	midCrash bool  // crash inside the next Ready
	group    int   // partition group

	gs *guardState // its double-sign guard (WALCorruption)

	// The pause after a decision (BlockIntervalMs): paused until the
	// evAdvance event of generation pauseGen; held messages meanwhile.
	paused   bool
	pauseGen uint64
	held     [][]byte
	heldFrom []int
	// Amnesiac: the first valid proposal received (or sent) per round,
	// and what it sent in its engine's place per round (re-sent as it was).
	seenProposal    map[roundKey]consensus.Hash
	amnesiaVote     map[roundKey][]byte
	amnesiaProposal map[roundKey][]byte
}

func (n *node) honest() bool { return n.behave == Honest }

type eventKind uint8

const (
	evDeliver eventKind = iota
	evTick
	evCrash
	evRestart
	evPartition
	evHeal
	evSync
	evAdvance
)

type event struct {
	atMs int64
	seq  uint64
	kind eventKind
	node int
	from int
	data []byte
	gen  uint64
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].atMs != q[j].atMs {
		return q[i].atMs < q[j].atMs
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// Sim is one seeded run of a scenario.
type Sim struct {
	sc       Scenario
	seed     uint64
	rng      *rand.Rand
	nowMs    int64
	seq      uint64
	queue    eventQueue
	nodes    []*node
	sets     consensus.ValidatorSets
	verifier consensus.Verifier
	decided  []consensus.Hash // the first block committed at each height, by anyone
	// signed is everything each honest node ever signed and sent, by
	// (node, height, round, type): an honest node, crashes or not, never
	// sends two different signed messages for one key.
	signed map[signKey][]byte
	// altHash is the second value an equivocating proposer sent in a
	// round, which colluding double voters back.
	altHash map[roundKey]consensus.Hash
	res     Result
	err     error
}

const syncIntervalMs = 500

// Run executes one seed of sc and returns what it measured, or a *Failure.
func Run(sc Scenario, seed uint64) (Result, error) {
	s, err := newSim(sc, seed)
	if err != nil {
		return Result{}, &Failure{sc.Name, seed, err}
	}
	s.run()
	if s.err != nil {
		return s.res, &Failure{sc.Name, seed, s.err}
	}
	return s.res, nil
}

func newSim(sc Scenario, seed uint64) (*Sim, error) {
	if sc.ChainID == "" {
		sc.ChainID = "gridmint-sim"
	}
	if sc.Candidates < sc.Validators {
		sc.Candidates = sc.Validators
	}
	if sc.Timeouts == (consensus.Timeouts{}) {
		sc.Timeouts = consensus.Timeouts{ProposeMs: 300, ProposeDeltaMs: 50, PrevoteMs: 100, PrevoteDeltaMs: 50,
			PrecommitMs: 100, PrecommitDeltaMs: 50, RebroadcastMs: 250}
	}
	if sc.GenesisTimeMs == 0 {
		sc.GenesisTimeMs = 1_700_000_000_000
	}
	s := &Sim{sc: sc, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x6772_6964_6d69_6e74)), signed: map[signKey][]byte{}, altHash: map[roundKey]consensus.Hash{}}
	fv := &fakeVerifier{byAdr: map[wallet.Address]*fakeKey{}}
	stakes := make([]consensus.Stake, sc.Candidates)
	for i := 0; i < sc.Candidates; i++ {
		n := &node{idx: i, up: true, wal: &memWAL{}}
		if sc.RealCrypto {
			k, err := wallet.GenerateKeyFrom(rngReader{s.rng})
			if err != nil {
				return nil, err
			}
			n.signer, n.addr = k, k.Address()
			stakes[i].PubKey = k.Public()
		} else {
			k := &fakeKey{}
			for j := range k.secret {
				k.secret[j] = byte(s.rng.Uint32())
			}
			for j := range k.addr {
				k.addr[j] = byte(s.rng.Uint32())
			}
			fv.keys = append(fv.keys, k)
			fv.byAdr[k.addr] = k
			n.signer, n.addr = k, k.addr
		}
		stakes[i].Address = n.addr
		stakes[i].Amount = 1000
		if sc.ClockSkewMs > 0 {
			n.skewMs = s.rng.Int64N(2*sc.ClockSkewMs+1) - sc.ClockSkewMs
		}
		if b := len(sc.Byzantine) - (sc.Candidates - i); b >= 0 {
			n.behave = sc.Byzantine[b]
		}
		n.app = &app{s: s, n: n}
		s.nodes = append(s.nodes, n)
	}
	if sc.RealCrypto {
		s.verifier = consensus.WalletVerifier{}
	} else {
		s.verifier = fv
	}
	genesis, err := consensus.TopN(1, stakes, sc.Validators)
	if err != nil {
		return nil, err
	}
	epoch := sc.Epoch
	if epoch == 0 {
		epoch = 1 << 62
	}
	s.sets = &consensus.EpochSets{Genesis: genesis, EpochLength: epoch, N: sc.Validators,
		Source: rotatingStakes{base: stakes, byzantine: len(sc.Byzantine)}}
	for _, n := range s.nodes {
		if err := s.startNode(n); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// rotatingStakes is a stake source whose ranking changes every epoch, so
// that sets really change; Byzantine nodes keep the lowest stakes that still
// put them in every set, so each set keeps the scenario's Byzantine power.
type rotatingStakes struct {
	base      []consensus.Stake
	byzantine int
}

func (r rotatingStakes) StakesAfter(height uint64) ([]consensus.Stake, error) {
	out := slices.Clone(r.base)
	n := len(out)
	for i := range out {
		if i >= n-r.byzantine {
			out[i].Amount = 1_000_000 // always in the set
			continue
		}
		out[i].Amount = 1000 + uint64((i*7+int(height)*3)%(n+1))*100
	}
	return out, nil
}

func (s *Sim) push(e *event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.queue, e)
}

func (s *Sim) fail(err error) {
	if s.err == nil {
		s.err = fmt.Errorf("at %d ms: %w", s.nowMs, err)
	}
}

func (s *Sim) nodeClock(n *node) int64 { return s.sc.GenesisTimeMs + s.nowMs + n.skewMs }

// startNode builds n's engine from its application's durable chain and its
// WAL, as a node restarting after a crash does.
func (s *Sim) startNode(n *node) error {
	signer, err := s.engineSigner(n)
	if err != nil {
		return err
	}
	cfg := consensus.Config{
		ChainID: s.sc.ChainID, App: n.app, Sets: s.sets, Signer: signer, Verifier: s.verifier,
		Timeouts: s.sc.Timeouts, StartHeight: uint64(len(n.app.chain)) + 1,
	}
	if len(n.app.chain) > 0 {
		last := &n.app.chain[len(n.app.chain)-1]
		cfg.LastCommit, cfg.LastValue, cfg.LastBlockTimeMs = last.commit, last.value, last.timeMs
	}
	eng, err := consensus.NewEngine(cfg)
	if err != nil {
		return err
	}
	entries, err := consensus.ReadWAL(n.wal)
	if err != nil {
		return fmt.Errorf("node %d WAL: %w", n.idx, err)
	}
	n.eng = eng
	entries = s.restoreFromGuard(n, entries, cfg.StartHeight)
	if err := eng.Start(s.nodeClock(n), entries); err != nil {
		return err
	}
	s.flush(n)
	s.scheduleTick(n)
	return nil
}

func (s *Sim) scheduleTick(n *node) {
	if !n.up || n.paused {
		return
	}
	d, ok := n.eng.NextDeadlineMs()
	if !ok {
		return
	}
	at := d - s.sc.GenesisTimeMs - n.skewMs
	if at < s.nowMs {
		at = s.nowMs
	}
	if n.tickGen > 0 && n.tickAtMs <= at && n.tickAtMs >= s.nowMs {
		return // an earlier tick is already pending
	}
	n.tickGen++
	n.tickAtMs = at
	s.push(&event{atMs: at, kind: evTick, node: n.idx, gen: n.tickGen})
}

func (s *Sim) faulty() bool { return s.nowMs < s.sc.GSTMs }

func (s *Sim) run() {
	sc := &s.sc
	if sc.Partitions {
		for t := int64(0); t < sc.GSTMs; t += 1 + s.rng.Int64N(sc.GSTMs/3+1) {
			s.push(&event{atMs: t + s.rng.Int64N(500), kind: evPartition})
		}
		s.push(&event{atMs: sc.GSTMs, kind: evHeal})
	}
	if sc.Crashes {
		crashes := 1 + s.rng.IntN(2*len(s.nodes))
		for i := 0; i < crashes; i++ {
			s.push(&event{atMs: s.rng.Int64N(sc.GSTMs + 1), kind: evCrash, node: s.rng.IntN(len(s.nodes))})
		}
	}
	s.push(&event{atMs: syncIntervalMs, kind: evSync})

	var targetHeight uint64
	deadline := sc.GSTMs + sc.LivenessMs
	for s.err == nil && len(s.queue) > 0 {
		e := heap.Pop(&s.queue).(*event)
		if e.atMs > s.nowMs {
			s.nowMs = e.atMs
		}
		s.res.Events++
		if targetHeight == 0 && s.nowMs >= sc.GSTMs && sc.StopAtHeight == 0 {
			targetHeight = uint64(len(s.decided)) + sc.ExtraHeights
		}
		if sc.StopAtHeight > 0 {
			targetHeight = sc.StopAtHeight
		}
		if targetHeight > 0 && s.minHonestHeight() >= targetHeight {
			break
		}
		if s.nowMs > deadline {
			s.fail(fmt.Errorf("%w: honest heights %v, target %d, %d ms after GST; nodes: %s", ErrLiveness, s.honestHeights(), targetHeight, s.nowMs-sc.GSTMs, s.describe()))
			break
		}
		s.handle(e)
	}
	s.res.SimTimeMs = s.nowMs
	s.res.Heights = s.minHonestHeight()
}

func (s *Sim) minHonestHeight() uint64 {
	m := uint64(1 << 63)
	for _, n := range s.nodes {
		if n.honest() && uint64(len(n.app.chain)) < m {
			m = uint64(len(n.app.chain))
		}
	}
	return m
}

func (s *Sim) honestHeights() []int {
	var hs []int
	for _, n := range s.nodes {
		if n.honest() {
			hs = append(hs, len(n.app.chain))
		}
	}
	return hs
}

func (s *Sim) handle(e *event) {
	switch e.kind {
	case evDeliver:
		n := s.nodes[e.node]
		if !n.up || !s.reachable(e.from, e.node) {
			return
		}
		s.res.Deliveries++
		if n.paused {
			if len(n.held) < maxHeld {
				n.held = append(n.held, e.data)
				n.heldFrom = append(n.heldFrom, e.from)
			}
			return
		}
		s.step(n, e.from, e.data)
		s.scheduleTick(n)
	case evTick:
		n := s.nodes[e.node]
		if !n.up || e.gen != n.tickGen {
			return
		}
		n.tickGen++ // the pending tick is consumed
		n.tickAtMs = -1
		_ = n.eng.Tick(s.nodeClock(n))
		s.flush(n)
		s.scheduleTick(n)
	case evCrash:
		n := s.nodes[e.node]
		if !n.up || !s.faulty() {
			return
		}
		if s.sc.MidReadyCrashes && s.rng.IntN(2) == 0 {
			n.midCrash = true
			return
		}
		s.crash(n)
	case evRestart:
		n := s.nodes[e.node]
		if n.up {
			return
		}
		n.up = true
		if err := s.startNode(n); err != nil {
			s.fail(err)
		}
	case evPartition:
		if !s.faulty() {
			return
		}
		groups := 2 + s.rng.IntN(2)
		for _, n := range s.nodes {
			n.group = s.rng.IntN(groups)
		}
		if s.rng.IntN(3) == 0 { // isolate one node
			for _, n := range s.nodes {
				n.group = 0
			}
			s.nodes[s.rng.IntN(len(s.nodes))].group = 1
		}
	case evHeal:
		for _, n := range s.nodes {
			n.group = 0
		}
	case evSync:
		s.blockSync()
		s.push(&event{atMs: s.nowMs + syncIntervalMs, kind: evSync})
	case evAdvance:
		n := s.nodes[e.node]
		if !n.up || !n.paused || e.gen != n.pauseGen {
			return
		}
		s.resume(n)
	}
}

// maxHeld bounds the messages held during a pause, as node.maxHeld does.
const maxHeld = 4096

// step hands one delivered message to n's engine, as a node does: tick
// the engine with the current time, step, carry out the Ready.
func (s *Sim) step(n *node, from int, data []byte) {
	var m consensus.Message
	if err := codec.Decode(data, &m); err != nil {
		return // garbage: a real node scores the peer down
	}
	_ = n.eng.Tick(s.nodeClock(n))
	if n.behave == Amnesiac {
		s.noteProposal(n, &m)
	}
	err := n.eng.Step(&m)
	// An honest node never signs anything another honest node rejects.
	// (It may relay what a Byzantine proposer signed: that is not its fault.)
	if err != nil && s.nodes[from].honest() && signedBy(&m, s.nodes[from].addr) && !errors.Is(err, consensus.ErrHeightSkew) {
		s.fail(fmt.Errorf("%w: node %d rejected %s from honest node %d: %v", ErrInternal, n.idx, &m, from, err))
	}
	s.flush(n)
}

// resume ends n's pause after a decision the way node.Node.Tick does once
// fixed: the engine first learns the current time (Tick), then Advance
// moves it to the next height, so the new height's timeouts run from now.
// (Advance before Tick would start them from the stale time of the
// decision: with a pause longer than the propose timeout, it fires at
// once and every height takes two rounds, which the RoundZero check of
// the "paced" scenario catches.)
func (s *Sim) resume(n *node) {
	_ = n.eng.Tick(s.nodeClock(n))
	n.paused = false
	n.eng.Advance()
	s.flush(n)
	held, from := n.held, n.heldFrom
	n.held, n.heldFrom = nil, nil
	for i, data := range held {
		if n.paused || !n.up {
			break // decided again already; the rest are stale
		}
		s.step(n, from[i], data)
	}
	s.scheduleTick(n)
}

func (s *Sim) crash(n *node) {
	s.res.Crashes++
	n.up = false
	n.midCrash = false
	n.paused, n.held, n.heldFrom = false, nil, nil
	n.wal.crash(s.rng)
	s.corruptWAL(n)
	n.eng = nil
	down := 1 + s.rng.Int64N(2000)
	at := s.nowMs + down
	if at > s.sc.GSTMs && s.nowMs < s.sc.GSTMs {
		at = s.sc.GSTMs
	}
	if at < s.nowMs+1 {
		at = s.nowMs + 1
	}
	s.push(&event{atMs: at, kind: evRestart, node: n.idx})
}

func (s *Sim) reachable(a, b int) bool { return s.nodes[a].group == s.nodes[b].group }

// blockSync models p2p block sync: a node behind a reachable peer gets the
// next block with its commit certificate.
func (s *Sim) blockSync() {
	for _, n := range s.nodes {
		if !n.up {
			continue
		}
		h := len(n.app.chain)
		for _, p := range s.nodes {
			if p == n || !p.up || !s.reachable(p.idx, n.idx) || len(p.app.chain) <= h {
				continue
			}
			b := &p.app.chain[h]
			m := &consensus.Message{Kind: consensus.MsgDecided, Decided: &consensus.DecidedMsg{Value: b.value, Commit: *b.commit}}
			s.deliver(p, n, codec.Encode(m))
			break
		}
	}
}

// deliver schedules one point-to-point delivery with the scenario's delay,
// loss and duplication.
func (s *Sim) deliver(from, to *node, data []byte) {
	copies := 1
	if s.faulty() {
		if s.sc.LossPPM > 0 && s.rng.Uint32N(1_000_000) < s.sc.LossPPM {
			return
		}
		if s.sc.DupPPM > 0 && s.rng.Uint32N(1_000_000) < s.sc.DupPPM {
			copies = 2
		}
	}
	maxDelay := s.sc.MaxDelayMs
	if s.faulty() && s.sc.PreGSTMaxDelayMs > maxDelay {
		maxDelay = s.sc.PreGSTMaxDelayMs
	}
	for c := 0; c < copies; c++ {
		d := s.sc.MinDelayMs
		if maxDelay > s.sc.MinDelayMs {
			d += s.rng.Int64N(maxDelay - s.sc.MinDelayMs + 1)
		}
		s.push(&event{atMs: s.nowMs + d, kind: evDeliver, node: to.idx, from: from.idx, data: data})
	}
}

func (s *Sim) broadcast(from *node, data []byte, to func(peer int) bool) {
	s.res.Broadcasts++
	for _, p := range s.nodes {
		if p != from && (to == nil || to(p.idx)) {
			s.deliver(from, p, data)
		}
	}
}

// flush does what a node's Ready asks, in the order the engine requires:
// WAL (fsync where needed), then messages, then decisions.
func (s *Sim) flush(n *node) {
	for n.up && !n.paused && n.eng.HasReady() {
		rd := n.eng.Ready()
		if n.midCrash {
			s.crashInside(n, &rd)
			return
		}
		if err := consensus.Persist(n.wal, &rd); err != nil {
			s.fail(err)
			return
		}
		for _, m := range rd.Messages {
			s.send(n, m)
		}
		for i := range rd.Decisions {
			s.commit(n, &rd.Decisions[i])
		}
		for _, ev := range rd.Evidence {
			s.checkEvidence(n, ev)
		}
		if n.honest() {
			for _, err := range rd.LocalErrors {
				if guardRefused(err) {
					continue
				}
				s.fail(fmt.Errorf("%w: node %d: %v", ErrInternal, n.idx, err))
			}
		}
		if len(rd.Decisions) > 0 && len(n.app.chain)%8 == 0 {
			if err := consensus.CompactWAL(n.wal, uint64(len(n.app.chain))); err != nil {
				s.fail(err)
			}
		}
		if len(rd.Decisions) > 0 && s.sc.BlockIntervalMs > 0 {
			// The node pauses; resume calls Advance.
			n.paused = true
			n.pauseGen++
			s.push(&event{atMs: s.nowMs + s.sc.BlockIntervalMs, kind: evAdvance, node: n.idx, gen: n.pauseGen})
			return
		}
		n.eng.Advance()
	}
}

// crashInside kills n part-way through a Ready: either while writing the
// WAL (a torn write: some records, no sync, then unsynced ones are lost at
// random) or after the WAL is durable and some of the messages are out.
func (s *Sim) crashInside(n *node, rd *consensus.Ready) {
	cut := s.rng.IntN(len(rd.WAL) + len(rd.Messages) + 1)
	if cut <= len(rd.WAL) {
		for i := 0; i < cut; i++ {
			_ = n.wal.Append([][]byte{codec.Encode(&rd.WAL[i])}, false)
		}
	} else {
		if err := consensus.Persist(n.wal, rd); err != nil {
			s.fail(err)
		}
		for _, m := range rd.Messages[:cut-len(rd.WAL)] {
			s.send(n, m)
		}
	}
	s.crash(n)
}

func (s *Sim) commit(n *node, d *consensus.Decision) {
	if d.Height != uint64(len(n.app.chain))+1 {
		s.fail(fmt.Errorf("node %d decided height %d with %d committed", n.idx, d.Height, len(n.app.chain)))
		return
	}
	hash := consensus.HashValue(d.Value)
	if d.Height <= uint64(len(s.decided)) {
		if s.decided[d.Height-1] != hash && n.honest() {
			s.fail(fmt.Errorf("%w: height %d: node %d decided %s, another node %s", ErrSafety, d.Height, n.idx, hash, s.decided[d.Height-1]))
			return
		}
	} else if n.honest() {
		s.decided = append(s.decided, hash)
	}
	// Validity: the decided value passes the honest validity rule against
	// this node's own chain (it was proposed by a validator and carries a
	// good parent commit and time).
	if err := n.app.ValidateValue(d.Height, d.Value); err != nil && n.honest() {
		s.fail(fmt.Errorf("%w: node %d height %d: %v", ErrValidity, n.idx, d.Height, err))
		return
	}
	set, err := s.sets.ValidatorSet(d.Height)
	if err != nil {
		s.fail(err)
		return
	}
	if err := consensus.VerifyCommit(s.sc.ChainID, set, s.verifier, d.Height, hash, d.Commit); err != nil {
		s.fail(fmt.Errorf("node %d: own commit certificate: %w", n.idx, err))
		return
	}
	var b block
	_ = codec.Decode(d.Value, &b)
	if n.honest() {
		s.res.MaxRound = max(s.res.MaxRound, d.Round)
		if s.sc.RoundZero && d.Round != 0 {
			s.fail(fmt.Errorf("%w: node %d decided height %d in round %d", ErrExtraRound, n.idx, d.Height, d.Round))
			return
		}
	}
	if k := len(n.app.chain); k > 0 && n.honest() {
		s.res.CommitIntervalMs = append(s.res.CommitIntervalMs, s.nowMs-n.app.chain[k-1].atMs)
	}
	n.app.chain = append(n.app.chain, committed{hash: hash, value: d.Value, commit: d.Commit, timeMs: b.TimeMs, atMs: s.nowMs})
}

func (s *Sim) checkEvidence(n *node, ev consensus.Evidence) {
	s.res.Evidence++
	if _, ok := ev.(*consensus.DuplicateProposalEvidence); ok {
		s.res.ProposalEvidence++
	}
	off := ev.Offender()
	for _, p := range s.nodes {
		if p.addr == off && p.honest() {
			s.fail(fmt.Errorf("%w: node %d accused honest node %d", ErrAccused, n.idx, p.idx))
			return
		}
	}
	enc := codec.Encode(ev)
	back, err := consensus.DecodeEvidence(enc)
	if err != nil || !bytes.Equal(codec.Encode(back), enc) {
		s.fail(fmt.Errorf("evidence does not round-trip: %v", err))
		return
	}
	if s.sc.RealCrypto {
		for _, p := range s.nodes {
			if p.addr == off {
				pub := p.signer.(*wallet.PrivateKey).Public()
				if _, _, err := consensus.VerifyEvidence(s.sc.ChainID, enc, pub); err != nil {
					s.fail(fmt.Errorf("evidence does not verify: %w", err))
				}
			}
		}
	}
}

func signedBy(m *consensus.Message, a wallet.Address) bool {
	switch m.Kind {
	case consensus.MsgVote:
		return m.Vote.Validator == a
	case consensus.MsgProposal:
		return m.Proposal.Proposer == a
	}
	return false
}

// describe summarises every node's state, for failure reports.
func (s *Sim) describe() string {
	var out string
	for _, n := range s.nodes {
		if !n.up {
			out += fmt.Sprintf("[%d %s down] ", n.idx, n.behave)
			continue
		}
		st := n.eng.Status()
		out += fmt.Sprintf("[%d %s h=%d r=%d %s locked=%d/%s valid=%d/%s] ", n.idx, n.behave, st.Height, st.Round, st.Step, st.LockedRound, st.LockedHash, st.ValidRound, st.ValidHash)
	}
	return out
}

type signKey struct {
	node   int
	height uint64
	round  int32
	kind   uint8 // vote type, or 0 for a proposal
}

// checkSigned fails the run if honest node n sends a message it signed that
// differs from one it signed before for the same height, round and type.
func (s *Sim) checkSigned(n *node, m *consensus.Message, enc []byte) {
	if !signedBy(m, n.addr) {
		return
	}
	k := signKey{node: n.idx}
	switch m.Kind {
	case consensus.MsgVote:
		k.height, k.round, k.kind = m.Vote.Height, m.Vote.Round, uint8(m.Vote.Type)
	case consensus.MsgProposal:
		k.height, k.round = m.Proposal.Height, m.Proposal.Round
	}
	if old, ok := s.signed[k]; ok {
		if string(old) != string(enc) {
			s.fail(fmt.Errorf("%w: honest node %d signed two different messages for %+v: %s", ErrEquivocation, n.idx, k, m))
		}
		return
	}
	s.signed[k] = enc
}
