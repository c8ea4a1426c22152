package consensus

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/gridmint/gridmint/wallet"
)

// Timeouts are the round timeouts, in milliseconds. Each grows linearly
// with the round (timeout(r) = base + r*delta), so that after GST some
// round is long enough for honest validators to hear one another: the
// paper's liveness condition.
type Timeouts struct {
	ProposeMs, ProposeDeltaMs     int64
	PrevoteMs, PrevoteDeltaMs     int64
	PrecommitMs, PrecommitDeltaMs int64
	// RebroadcastMs is how often the engine re-sends its own messages of
	// the current height: gossip may lose messages, and the algorithm
	// assumes that every message of an honest validator is eventually
	// received.
	RebroadcastMs int64
}

// DefaultTimeouts suit validators on home connections.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		ProposeMs: 3000, ProposeDeltaMs: 500,
		PrevoteMs: 1000, PrevoteDeltaMs: 500,
		PrecommitMs: 1000, PrecommitDeltaMs: 500,
		RebroadcastMs: 2000,
	}
}

func (t *Timeouts) duration(s Step, round int32) int64 {
	r := int64(round)
	switch s {
	case StepPropose:
		return t.ProposeMs + r*t.ProposeDeltaMs
	case StepPrevote:
		return t.PrevoteMs + r*t.PrevoteDeltaMs
	}
	return t.PrecommitMs + r*t.PrecommitDeltaMs
}

// Config is what an Engine is built from.
type Config struct {
	ChainID  string
	App      Application
	Sets     ValidatorSets
	Signer   Signer   // nil for a node that follows but never votes
	Verifier Verifier // nil means WalletVerifier
	Timeouts Timeouts

	// StartHeight is the first height to decide: the application's last
	// committed height + 1.
	StartHeight uint64
	// LastCommit is the certificate of StartHeight-1 (nil at genesis) and
	// LastBlockTimeMs its block time; votes are never timestamped at or
	// before it, so block time only moves forward.
	LastCommit      *Commit
	LastValue       []byte
	LastBlockTimeMs int64
}

// Decision is a decided height: the value, the round it was decided in and
// the commit certificate this node assembled.
//
// The certificate holds more than two thirds of the power but which
// precommits it holds may differ from node to node, and so may its TimeMs.
// The agreed block time of height h is therefore the TimeMs of the commit
// that the block of height h+1 embeds (ProposeValue's lastCommit), as in
// CometBFT: one value that every node validates, made from the votes.
type Decision struct {
	Height uint64
	Round  int32
	Value  []byte
	Commit *Commit
}

// Ready is what the engine asks its caller to do, in this order:
//
//  1. append WAL to the write-ahead log, with fsync if any entry's Sync()
//     is true (Persist does this): a signed message must be durable before
//     it leaves the node, or a crash could let the node sign a conflicting
//     one after restart;
//  2. broadcast Messages;
//  3. apply Decisions to the application, durably, in order;
//  4. hand Evidence to the mempool, log LocalErrors;
//
// and then call Advance.
type Ready struct {
	WAL         []WALEntry
	Messages    []*Message
	Decisions   []Decision
	Evidence    []Evidence
	LocalErrors []error
}

// IsEmpty reports whether there is nothing to do.
func (r *Ready) IsEmpty() bool {
	return len(r.WAL) == 0 && len(r.Messages) == 0 && len(r.Decisions) == 0 &&
		len(r.Evidence) == 0 && len(r.LocalErrors) == 0
}

// Status is a snapshot of the paper's state variables, for tests and the API.
type Status struct {
	Height      uint64
	Round       int32
	Step        Step
	LockedRound int32
	LockedHash  Hash
	ValidRound  int32
	ValidHash   Hash
}

type pendingTimeout struct {
	deadlineMs int64
	seq        uint64
	info       TimeoutInfo
}

// ErrEquivocatingProposer is returned for a second, different proposal from
// a round's proposer. The first one received is kept.
var ErrEquivocatingProposer = errors.New("consensus: proposer sent two different proposals")

// ErrNotStarted is returned by Step and Tick before Start.
var ErrNotStarted = errors.New("consensus: engine not started")

// Engine is the Tendermint state machine of one node. It is not safe for
// concurrent use: the caller serialises Start, Step, Tick, Ready and
// Advance, as with etcd's raft.Node.
type Engine struct {
	cfg     Config
	ver     Verifier
	started bool
	nowMs   int64

	// The paper's state variables.
	height      uint64
	round       int32
	step        Step
	lockedRound int32
	lockedHash  Hash
	validRound  int32
	validValue  []byte
	validHash   Hash

	self    wallet.Address // the signer's address, derived once (it costs a scalar multiplication)
	set     *ValidatorSet  // nil while waiting for the provider
	selfIdx int            // index in set, -1 if not a member
	cursor  proposerCursor

	rounds       []*roundState // index: round, up to round+1
	maxRoundSeen []int32       // by validator index, -1 if none
	skipScratch  []roundPower

	// signed holds every message this validator signed at heights >=
	// height, restored from the WAL on restart. It is consulted before
	// signing anything: a vote or proposal for a (height, round, type)
	// already signed is re-sent as it was, never signed anew.
	signed []*Message

	timeouts   []pendingTimeout
	timeoutSeq uint64

	nextRebroadcastMs int64
	lagSeen           bool // a validator spoke at height-1 since the last rebroadcast

	lastCommit      *Commit
	lastValue       []byte
	lastBlockTimeMs int64

	future          []*Message // messages for height+1, checked when we get there
	futureProposals int        // how many of future are proposals

	// replaying is true while WAL entries are being fed (their own
	// entries are not logged again); replayPending while some are left,
	// paused at a decision the caller has not applied yet.
	replaying     bool
	replayPending bool
	replayQueue   []WALEntry

	// awaitingApply is set from a decision until the caller's Advance:
	// the application has not applied the decided value yet, so the engine
	// must not ask it to propose or validate a value of the next height.
	awaitingApply bool

	out   Ready
	taken [5]int // lengths of out's slices handed out by Ready
}

// NewEngine checks cfg and returns an engine that has not started.
func NewEngine(cfg Config) (*Engine, error) {
	if err := wallet.ValidateChainID(cfg.ChainID); err != nil {
		return nil, err
	}
	if cfg.App == nil || cfg.Sets == nil {
		return nil, errors.New("consensus: config needs App and Sets")
	}
	if cfg.StartHeight == 0 {
		return nil, fmt.Errorf("%w: start height 0", ErrBadHeight)
	}
	e := &Engine{cfg: cfg, ver: cfg.Verifier, lockedRound: -1, validRound: -1, selfIdx: -1}
	if e.ver == nil {
		e.ver = WalletVerifier{}
	}
	if cfg.Signer != nil {
		e.self = cfg.Signer.Address()
	}
	if e.cfg.Timeouts == (Timeouts{}) {
		e.cfg.Timeouts = DefaultTimeouts()
	}
	e.height = cfg.StartHeight
	e.lastCommit = cfg.LastCommit
	e.lastValue = cfg.LastValue
	e.lastBlockTimeMs = cfg.LastBlockTimeMs
	return e, nil
}

// Start begins the engine at nowMs. wal is what the WAL holds (nil for a
// fresh node): the engine first restores every message it signed at heights
// >= StartHeight, so that it never signs a conflicting one, then replays the
// received messages and timeouts to get back to where it was. Messages it
// re-derives are re-sent (they are the same bytes as before the crash).
func (e *Engine) Start(nowMs int64, wal []WALEntry) error {
	if e.started {
		return errors.New("consensus: engine already started")
	}
	e.started = true
	e.nowMs = nowMs
	e.nextRebroadcastMs = nowMs + e.cfg.Timeouts.RebroadcastMs
	for i := range wal {
		if wal[i].Kind == WALSigned && wal[i].Height() >= e.height {
			e.signed = append(e.signed, wal[i].Msg)
		}
	}
	e.replayPending = true
	e.replayQueue = wal
	e.enterHeight()
	e.replay()
	return nil
}

// replay feeds the remaining WAL entries until they run out or one of them
// leads to a decision, which the caller must apply (Advance resumes).
func (e *Engine) replay() {
	e.replaying = true
	defer func() { e.replaying = false }()
	for len(e.replayQueue) > 0 && !e.awaitingApply {
		w := &e.replayQueue[0]
		e.replayQueue = e.replayQueue[1:]
		if w.Height() < e.height {
			continue
		}
		switch w.Kind {
		case WALReceived:
			_ = e.handle(w.Msg) // it was valid when logged; a changed set may reject it now
		case WALTimeout:
			e.onTimeout(w.Timeout)
		}
		e.update()
	}
	if e.awaitingApply {
		return
	}
	e.replayQueue = nil
	e.replayPending = false
	e.restoreFromSigned()
	e.update()
}

// restoreFromSigned makes sure the state after replay is at least as far as
// what the validator signed: received messages were logged without fsync
// and may be lost, signed ones were not. The lock matters for safety: a
// validator that precommitted v in round r must not prevote for another
// value later without a newer proof-of-lock, crash or no crash.
func (e *Engine) restoreFromSigned() {
	if e.set == nil {
		return
	}
	for _, m := range e.signed {
		if m.Height() != e.height {
			continue
		}
		var r int32
		switch m.Kind {
		case MsgVote:
			r = m.Vote.Round
			if m.Vote.Type == Precommit && !m.Vote.BlockHash.IsNil() && r > e.lockedRound {
				e.lockedRound, e.lockedHash = r, m.Vote.BlockHash
			}
		case MsgProposal:
			r = m.Proposal.Round
		}
		if r > e.round {
			e.startRound(r)
		}
	}
	// Votes signed in the current round put the step where they were.
	for _, m := range e.signed {
		if m.Kind == MsgVote && m.Vote.Height == e.height && m.Vote.Round == e.round {
			if m.Vote.Type == Prevote && e.step < StepPrevote {
				e.step = StepPrevote
			}
			if m.Vote.Type == Precommit {
				e.step = StepPrecommit
			}
		}
	}
}

// Status returns the paper's state variables.
func (e *Engine) Status() Status {
	return Status{Height: e.height, Round: e.round, Step: e.step, LockedRound: e.lockedRound,
		LockedHash: e.lockedHash, ValidRound: e.validRound, ValidHash: e.validHash}
}

// ValidatorSet returns the set of the current height (nil while waiting).
func (e *Engine) ValidatorSet() *ValidatorSet { return e.set }

// HasReady reports whether Ready has anything new.
func (e *Engine) HasReady() bool { return !e.out.IsEmpty() }

// Ready returns what the caller must persist, send and apply. The slices
// stay valid until Advance.
func (e *Engine) Ready() Ready {
	rd := e.out
	e.taken = [5]int{len(rd.WAL), len(rd.Messages), len(rd.Decisions), len(rd.Evidence), len(rd.LocalErrors)}
	return rd
}

// Advance tells the engine that the last Ready was done, decisions
// included; after a decision, the engine then moves on to the next height.
func (e *Engine) Advance() {
	e.out.WAL = rest(e.out.WAL, e.taken[0])
	e.out.Messages = rest(e.out.Messages, e.taken[1])
	e.out.Decisions = rest(e.out.Decisions, e.taken[2])
	e.out.Evidence = rest(e.out.Evidence, e.taken[3])
	e.out.LocalErrors = rest(e.out.LocalErrors, e.taken[4])
	e.taken = [5]int{}
	if e.awaitingApply && len(e.out.Decisions) == 0 {
		e.awaitingApply = false
		e.enterHeight()
		if e.replayPending {
			e.replay()
		}
		e.update()
	}
}

// rest drops the first n elements, without keeping the caller's array.
func rest[T any](s []T, n int) []T {
	if n >= len(s) {
		return nil
	}
	return slices.Clone(s[n:])
}

// Tick tells the engine the time is nowMs (Unix ms, from the caller's
// clock; the engine never reads one). Timeouts that are due fire, in
// deadline order.
func (e *Engine) Tick(nowMs int64) error {
	if !e.started {
		return ErrNotStarted
	}
	if nowMs > e.nowMs {
		e.nowMs = nowMs
	}
	if e.set == nil && !e.awaitingApply {
		e.enterHeight()
	}
	for {
		i := e.nextDue()
		if i < 0 {
			break
		}
		t := e.timeouts[i]
		e.timeouts = slices.Delete(e.timeouts, i, i+1)
		e.onTimeout(t.info)
	}
	if e.nowMs >= e.nextRebroadcastMs {
		e.nextRebroadcastMs = e.nowMs + e.cfg.Timeouts.RebroadcastMs
		e.rebroadcast()
	}
	e.update()
	return nil
}

// nextDue returns the index of the earliest due timeout, or -1.
func (e *Engine) nextDue() int {
	best := -1
	for i := range e.timeouts {
		t := &e.timeouts[i]
		if t.deadlineMs > e.nowMs {
			continue
		}
		if best < 0 || t.deadlineMs < e.timeouts[best].deadlineMs ||
			t.deadlineMs == e.timeouts[best].deadlineMs && t.seq < e.timeouts[best].seq {
			best = i
		}
	}
	return best
}

// NextDeadlineMs returns when the engine next needs a Tick: the earliest
// pending timeout or re-broadcast (false before Start). A node may simply
// tick on a timer; a simulation jumps time to it instead.
func (e *Engine) NextDeadlineMs() (int64, bool) {
	if !e.started {
		return 0, false
	}
	d, ok := e.nextRebroadcastMs, true
	for i := range e.timeouts {
		if e.timeouts[i].deadlineMs < d {
			d = e.timeouts[i].deadlineMs
		}
	}
	return d, ok
}

// Step feeds a message from a peer. A non-nil error means the message was
// rejected and says why; errors other than those about old or far-future
// heights mean the sender misbehaved (or relayed someone who did).
func (e *Engine) Step(m *Message) error {
	if !e.started {
		return ErrNotStarted
	}
	err := e.handle(m)
	e.update()
	return err
}

// Bounds of the buffer of messages for the next height.
const (
	maxFutureVotes     = 4 * MaxValidators
	maxFutureProposals = 8
)

// ErrHeightSkew is returned for a message at a height the engine cannot
// check now (too old, or more than one ahead); it is not misbehaviour.
var ErrHeightSkew = errors.New("consensus: message for another height")

func (e *Engine) handle(m *Message) error {
	if m == nil {
		return fmt.Errorf("%w: nil message", ErrBadHeight)
	}
	switch m.Kind {
	case MsgProposal:
		if m.Proposal == nil {
			return fmt.Errorf("%w: empty proposal", ErrBadHeight)
		}
	case MsgVote:
		if m.Vote == nil {
			return fmt.Errorf("%w: empty vote", ErrBadHeight)
		}
	case MsgDecided:
		if m.Decided == nil {
			return fmt.Errorf("%w: empty decided", ErrBadHeight)
		}
		return e.onDecided(m)
	default:
		return fmt.Errorf("consensus: unknown message kind %d", m.Kind)
	}
	h := m.Height()
	switch {
	case h == e.height && e.set != nil:
	case h == e.height || h == e.height+1:
		// Checked when we enter that height. Bounded, since they cannot be
		// checked yet: votes to a few rounds' worth, proposals (which
		// carry values of up to MaxValueBytes) to a handful. Whatever is
		// dropped comes back with the senders' re-broadcasts.
		if m.Kind == MsgProposal {
			if e.futureProposals < maxFutureProposals {
				e.futureProposals++
				e.future = append(e.future, m)
			}
		} else if len(e.future)-e.futureProposals < maxFutureVotes {
			e.future = append(e.future, m)
		}
		return nil
	case h+1 == e.height:
		e.lagSeen = true
		return ErrHeightSkew
	default:
		return ErrHeightSkew
	}
	if m.Kind == MsgVote {
		return e.onVote(m)
	}
	return e.onProposal(m)
}

// roundIfTracked returns the state of round r if the engine keeps it:
// rounds up to round+1. Messages of later rounds only count towards the
// round skip (line 55) and are otherwise dropped, so that a Byzantine peer
// cannot make us store an unbounded number of rounds.
func (e *Engine) roundIfTracked(r int32) *roundState {
	if r > e.round+1 {
		return nil
	}
	for int32(len(e.rounds)) <= r {
		rs := newRoundState(e.set.Size())
		e.rounds = append(e.rounds, rs)
		// Own votes signed before a crash count like anyone's.
		k := int32(len(e.rounds) - 1)
		for _, m := range e.signed {
			if m.Kind == MsgVote && m.Vote.Height == e.height && m.Vote.Round == k && e.selfIdx >= 0 {
				rs.votes(m.Vote.Type).add(m.Vote, e.selfIdx, e.set.Validators[e.selfIdx].Power, nil)
			}
		}
	}
	return e.rounds[r]
}

func (e *Engine) onVote(m *Message) error {
	v := m.Vote
	idx := e.set.Index(v.Validator)
	if idx < 0 {
		return fmt.Errorf("%w: %s", ErrUnknownValidator, v.Validator.Hex())
	}
	if err := v.check(); err != nil {
		return err
	}
	rs := e.roundIfTracked(v.Round)
	if rs != nil {
		if rs.votes(v.Type).has(idx, v) {
			return nil // a duplicate: nothing to check or count
		}
	}
	if err := v.Verify(e.cfg.ChainID, &e.set.Validators[idx], e.ver); err != nil {
		return err
	}
	e.seeRound(idx, v.Round)
	if rs == nil {
		return nil
	}
	added, conflict := rs.votes(v.Type).add(v, idx, e.set.Validators[idx].Power, e.countedHash)
	if conflict != nil {
		e.out.Evidence = append(e.out.Evidence, NewDuplicateVoteEvidence(conflict, v))
	}
	if added {
		e.logReceived(m)
	}
	return nil
}

// countedHash says whether a conflicting vote for h is worth counting: h is
// nil or the value of a proposal of this height.
func (e *Engine) countedHash(h Hash) bool {
	if h.IsNil() {
		return true
	}
	for _, rs := range e.rounds {
		if rs.proposal != nil && rs.proposal.ValueHash() == h {
			return true
		}
	}
	return false
}

func (e *Engine) seeRound(idx int, r int32) {
	if r > e.maxRoundSeen[idx] {
		e.maxRoundSeen[idx] = r
	}
}

// proposerOf returns the proposer index of round r at the current height.
func (e *Engine) proposerOf(r int32) int {
	if rs := e.roundIfTracked(r); rs != nil {
		if rs.proposerIdx < 0 {
			rs.proposerIdx = e.cursor.at(e.set.step(e.height, r))
		}
		return rs.proposerIdx
	}
	return e.cursor.at(e.set.step(e.height, r))
}

func (e *Engine) onProposal(m *Message) error {
	p := m.Proposal
	if err := p.check(); err != nil {
		return err
	}
	rs := e.roundIfTracked(p.Round)
	if rs == nil {
		// Far-future round: verify against the claimed proposer only so
		// that the round counts towards a skip.
		idx := e.set.Index(p.Proposer)
		if idx < 0 {
			return fmt.Errorf("%w: %s", ErrUnknownValidator, p.Proposer.Hex())
		}
		if err := p.Verify(e.cfg.ChainID, &e.set.Validators[idx], e.ver); err != nil {
			return err
		}
		e.seeRound(idx, p.Round)
		return nil
	}
	pidx := e.proposerOf(p.Round)
	if e.set.Validators[pidx].Address != p.Proposer {
		return fmt.Errorf("%w: h=%d r=%d from %s", ErrWrongProposer, p.Height, p.Round, p.Proposer.Hex())
	}
	if rs.proposal != nil && sameProposal(rs.proposal, p) {
		return nil
	}
	if err := p.Verify(e.cfg.ChainID, &e.set.Validators[pidx], e.ver); err != nil {
		return err
	}
	e.seeRound(pidx, p.Round)
	if rs.proposal != nil {
		// Both are signed by the proposer: if they differ in what the
		// signature covers, that is evidence, reported once per round.
		if !rs.proposalConflict && !bytes.Equal(rs.proposal.SignBytes(), p.SignBytes()) {
			rs.proposalConflict = true
			e.out.Evidence = append(e.out.Evidence, NewDuplicateProposalEvidence(rs.proposal, p))
		}
		return fmt.Errorf("%w: h=%d r=%d", ErrEquivocatingProposer, p.Height, p.Round)
	}
	rs.proposal = p
	e.logReceived(m)
	return nil
}

// onDecided takes a value with its commit certificate for the current
// height, from block sync or a peer that decided before us.
func (e *Engine) onDecided(m *Message) error {
	d := m.Decided
	if d.Commit.Height != e.height || e.set == nil {
		if d.Commit.Height+1 == e.height {
			return nil
		}
		return ErrHeightSkew
	}
	if HashValue(d.Value) != d.Commit.BlockHash {
		return ErrValueHash
	}
	if err := VerifyCommit(e.cfg.ChainID, e.set, e.ver, e.height, d.Commit.BlockHash, &d.Commit); err != nil {
		return err
	}
	if err := e.cfg.App.ValidateValue(e.height, d.Value); err != nil {
		// More than 2/3 of the power signed a value we find invalid: our
		// application disagrees with the network. Decide nothing; the
		// operator must look.
		e.localError(fmt.Errorf("certified value at height %d fails validation: %w", e.height, err))
		return nil
	}
	e.logReceived(m)
	c := d.Commit
	e.decide(c.Round, d.Value, &c)
	return nil
}

func (e *Engine) logReceived(m *Message) {
	if !e.replaying {
		e.out.WAL = append(e.out.WAL, WALEntry{Kind: WALReceived, Msg: m})
	}
}

func (e *Engine) localError(err error) {
	e.out.LocalErrors = append(e.out.LocalErrors, err)
}

// enterHeight loads the validator set of the current height and starts
// round 0 (or waits for the set).
func (e *Engine) enterHeight() {
	set, err := e.cfg.Sets.ValidatorSet(e.height)
	if err != nil {
		if !errors.Is(err, ErrSetNotReady) {
			e.localError(fmt.Errorf("validator set for height %d: %w", e.height, err))
		}
		e.set = nil
		return
	}
	if set.StartHeight > e.height {
		e.localError(fmt.Errorf("validator set for height %d starts at %d", e.height, set.StartHeight))
		return
	}
	if e.cursor.set != set {
		e.cursor.reset(set)
	}
	e.set = set
	e.cursor.advanceTo(set.step(e.height, 0))
	e.selfIdx = -1
	if e.cfg.Signer != nil {
		e.selfIdx = set.Index(e.self)
	}
	e.round, e.step = 0, StepPropose
	e.lockedRound, e.lockedHash = -1, NilHash
	e.validRound, e.validValue, e.validHash = -1, nil, NilHash
	e.rounds = e.rounds[:0]
	e.maxRoundSeen = make([]int32, set.Size())
	for i := range e.maxRoundSeen {
		e.maxRoundSeen[i] = -1
	}
	e.timeouts = e.timeouts[:0]
	e.signed = slices.DeleteFunc(e.signed, func(m *Message) bool { return m.Height() < e.height })
	e.startRound(0)
	future := e.future
	e.future, e.futureProposals = nil, 0
	for _, m := range future {
		_ = e.handle(m)
	}
}

// startRound is the paper's StartRound(round), lines 11-21. Triggered by
// entering a height (round 0), by timeoutPrecommit (line 65) and by f+1
// messages of a later round (line 55).
func (e *Engine) startRound(r int32) {
	e.round, e.step = r, StepPropose
	// Timeouts of earlier rounds can no longer do anything (lines 57, 61
	// and 65 check the round); dropping them keeps the list short.
	e.timeouts = slices.DeleteFunc(e.timeouts, func(t pendingTimeout) bool { return t.info.Round < r })
	e.roundIfTracked(r + 1)
	if e.selfIdx >= 0 && e.proposerOf(r) == e.selfIdx {
		e.propose(r)
	}
	// Scheduled even by the proposer: if it could not make a proposal it
	// must still move on; otherwise its own proposal has moved it past
	// step propose and the timeout does nothing.
	e.schedule(StepPropose, r)
}

// propose signs and sends PROPOSAL(h, r, proposal, validRound), lines 14-19:
// the valid value if there is one, else a new one from the application.
func (e *Engine) propose(r int32) {
	if old := e.findSigned(MsgProposal, r, 0); old != nil {
		e.send(old)
		e.acceptOwnProposal(old.Proposal)
		return
	}
	p := &Proposal{Height: e.height, Round: r, ValidRound: -1, Proposer: e.self}
	if e.validValue != nil {
		p.Value, p.ValidRound = e.validValue, e.validRound
	} else {
		v, err := e.cfg.App.ProposeValue(e.height, e.lastCommit)
		if err != nil {
			e.localError(fmt.Errorf("propose at height %d round %d: %w", e.height, r, err))
			return
		}
		p.Value = v
	}
	sig, err := e.cfg.Signer.SignTyped(TagProposal, e.cfg.ChainID, p.SignBytes())
	if err != nil {
		e.localError(fmt.Errorf("sign proposal: %w", err))
		return
	}
	p.Signature = sig
	m := &Message{Kind: MsgProposal, Proposal: p}
	e.recordSigned(m)
	e.send(m)
	e.acceptOwnProposal(p)
}

func (e *Engine) acceptOwnProposal(p *Proposal) {
	if rs := e.roundIfTracked(p.Round); rs != nil && rs.proposal == nil {
		rs.proposal = p
	}
}

// vote signs and sends a vote of type t in round r for h, or re-sends the
// one signed before if there is one: never two different votes for one
// height, round and type, even across a crash.
func (e *Engine) vote(t VoteType, r int32, h Hash) {
	if e.selfIdx < 0 {
		return
	}
	if old := e.findSigned(MsgVote, r, t); old != nil {
		e.send(old)
		return
	}
	ts := e.nowMs
	if ts <= e.lastBlockTimeMs {
		ts = e.lastBlockTimeMs + 1
	}
	if t == Precommit && !h.IsNil() {
		if bt, ok := e.cfg.App.(BlockTimer); ok {
			if rs := e.roundIfTracked(r); rs != nil && rs.proposal != nil && rs.proposal.ValueHash() == h {
				if vt, ok := bt.BlockTimeMs(rs.proposal.Value); ok && ts <= vt {
					ts = vt + 1
				}
			}
		}
	}
	v := &Vote{Type: t, Height: e.height, Round: r, BlockHash: h, TimestampMs: ts, Validator: e.self}
	sig, err := e.cfg.Signer.SignTyped(TagVote, e.cfg.ChainID, v.SignBytes())
	if err != nil {
		e.localError(fmt.Errorf("sign %s: %w", t, err))
		return
	}
	v.Signature = sig
	m := &Message{Kind: MsgVote, Vote: v}
	e.recordSigned(m)
	e.send(m)
	if rs := e.roundIfTracked(r); rs != nil {
		rs.votes(t).add(v, e.selfIdx, e.set.Validators[e.selfIdx].Power, nil)
	}
}

func (e *Engine) findSigned(kind MsgKind, r int32, t VoteType) *Message {
	for _, m := range e.signed {
		if m.Kind != kind || m.Height() != e.height {
			continue
		}
		if kind == MsgProposal && m.Proposal.Round == r {
			return m
		}
		if kind == MsgVote && m.Vote.Round == r && m.Vote.Type == t {
			return m
		}
	}
	return nil
}

func (e *Engine) recordSigned(m *Message) {
	e.signed = append(e.signed, m)
	// Written even during replay: a message signed now for the first time
	// must be durable before it is sent, whatever the reason we sign it.
	e.out.WAL = append(e.out.WAL, WALEntry{Kind: WALSigned, Msg: m})
}

func (e *Engine) send(m *Message) { e.out.Messages = append(e.out.Messages, m) }

func (e *Engine) schedule(s Step, r int32) {
	e.timeoutSeq++
	e.timeouts = append(e.timeouts, pendingTimeout{
		deadlineMs: e.nowMs + e.cfg.Timeouts.duration(s, r),
		seq:        e.timeoutSeq,
		info:       TimeoutInfo{Height: e.height, Round: r, Step: s},
	})
}

// onTimeout runs the paper's OnTimeoutPropose (line 57), OnTimeoutPrevote
// (line 61) and OnTimeoutPrecommit (line 65). A timeout of another height
// or round does nothing.
func (e *Engine) onTimeout(t TimeoutInfo) {
	if t.Height != e.height || t.Round != e.round || e.set == nil {
		return
	}
	switch {
	case t.Step == StepPropose && e.step == StepPropose:
		e.logTimeout(t)
		e.vote(Prevote, e.round, NilHash)
		e.step = StepPrevote
	case t.Step == StepPrevote && e.step == StepPrevote:
		e.logTimeout(t)
		e.vote(Precommit, e.round, NilHash)
		e.step = StepPrecommit
	case t.Step == StepPrecommit:
		e.logTimeout(t)
		e.startRound(e.round + 1)
	}
}

func (e *Engine) logTimeout(t TimeoutInfo) {
	if !e.replaying {
		e.out.WAL = append(e.out.WAL, WALEntry{Kind: WALTimeout, Timeout: t})
	}
}

// valid is the paper's valid(v) for the proposal of rs, asked of the
// application once per proposal.
func (e *Engine) valid(rs *roundState) bool {
	if rs.validity == 0 {
		rs.validity = -1
		if err := e.cfg.App.ValidateValue(e.height, rs.proposal.Value); err == nil {
			rs.validity = 1
		}
	}
	return rs.validity == 1
}

// update applies the paper's upon-rules until none applies. Each rule
// function returns true if it changed the state in a way that may enable
// another rule.
func (e *Engine) update() {
	for e.set != nil {
		if e.ruleDecide() || e.ruleRoundSkip() || e.ruleCurrentRound() {
			continue
		}
		return
	}
}

// ruleDecide is line 49: upon PROPOSAL(h, r, v, *) from proposer(h, r) AND
// 2f+1 PRECOMMIT(h, r, id(v)) while decision_p[h] = nil, for any round r:
// if valid(v), decide v.
func (e *Engine) ruleDecide() bool {
	for r, rs := range e.rounds {
		if rs.proposal == nil {
			continue
		}
		id := rs.proposal.ValueHash()
		if !e.set.HasQuorum(rs.precommits.powerFor(id)) || !e.valid(rs) {
			continue
		}
		e.decide(int32(r), rs.proposal.Value, e.buildCommit(int32(r), id))
		return true
	}
	return false
}

// buildCommit collects the precommits for id in round r, in address order
// (the set is sorted by address, so index order is address order).
func (e *Engine) buildCommit(r int32, id Hash) *Commit {
	c := &Commit{Height: e.height, Round: r, BlockHash: id}
	pc := &e.rounds[r].precommits
	for idx := range pc.votes {
		if v := pc.voteFor(idx, id); v != nil {
			c.Sigs = append(c.Sigs, CommitSig{Validator: v.Validator, TimestampMs: v.TimestampMs, Signature: v.Signature})
		}
	}
	return c
}

// decide records the decision and moves to the next height (lines 51-54).
func (e *Engine) decide(r int32, value []byte, c *Commit) {
	e.out.Decisions = append(e.out.Decisions, Decision{Height: e.height, Round: r, Value: value, Commit: c})
	if t := c.TimeMs(e.set); t > e.lastBlockTimeMs {
		e.lastBlockTimeMs = t
	}
	e.lastCommit, e.lastValue = c, value
	e.height++
	// Wait for the caller to apply the decision (Advance) before touching
	// the next height: its validator set and its values depend on it.
	e.set = nil
	e.awaitingApply = true
}

// ruleRoundSkip is line 55: upon f+1 messages of some round > round_p,
// StartRound(round). We take the highest round R such that validators
// whose latest message is at round >= R hold f+1 power: at least one
// honest validator has reached R, so skipping there cannot be forced by
// the Byzantine alone, and it is never unsafe to start a later round.
func (e *Engine) ruleRoundSkip() bool {
	// Cheap test first: it runs after every message.
	var ahead uint64
	for i, r := range e.maxRoundSeen {
		if r > e.round {
			ahead += e.set.Validators[i].Power
		}
	}
	if !e.set.HasOneThird(ahead) {
		return false
	}
	e.skipScratch = e.skipScratch[:0]
	for i, r := range e.maxRoundSeen {
		if r > e.round {
			e.skipScratch = append(e.skipScratch, roundPower{r, e.set.Validators[i].Power})
		}
	}
	slices.SortFunc(e.skipScratch, func(a, b roundPower) int { return int(b.round - a.round) })
	var power uint64
	for _, a := range e.skipScratch {
		power += a.power
		if e.set.HasOneThird(power) {
			e.startRound(a.round)
			return true
		}
	}
	return false
}

type roundPower struct {
	round int32
	power uint64
}

// ruleCurrentRound applies the rules about the current round r_p.
func (e *Engine) ruleCurrentRound() bool {
	r := e.round
	rs := e.roundIfTracked(r)
	p := rs.proposal
	if e.step == StepPropose && p != nil {
		id := p.ValueHash()
		if p.ValidRound == -1 {
			// Line 22: upon PROPOSAL(h, r_p, v, -1) while step = propose.
			if e.valid(rs) && (e.lockedRound == -1 || e.lockedHash == id) {
				e.vote(Prevote, r, id)
			} else {
				e.vote(Prevote, r, NilHash)
			}
			e.step = StepPrevote
			return true
		}
		// Line 28: upon PROPOSAL(h, r_p, v, vr) AND 2f+1 PREVOTE(h, vr,
		// id(v)) while step = propose and 0 <= vr < r_p.
		if vr := e.roundIfTracked(p.ValidRound); vr != nil && e.set.HasQuorum(vr.prevotes.powerFor(id)) {
			if e.valid(rs) && (e.lockedRound <= p.ValidRound || e.lockedHash == id) {
				e.vote(Prevote, r, id)
			} else {
				e.vote(Prevote, r, NilHash)
			}
			e.step = StepPrevote
			return true
		}
	}
	if e.step == StepPrevote && !rs.prevoteWaitDone && e.set.HasQuorum(rs.prevotes.total) {
		// Line 34: upon 2f+1 PREVOTE(h, r_p, *) while step = prevote for
		// the first time: schedule OnTimeoutPrevote.
		rs.prevoteWaitDone = true
		e.schedule(StepPrevote, r)
	}
	if e.step >= StepPrevote && !rs.lockOrValidDone && p != nil {
		// Line 36: upon PROPOSAL(h, r_p, v, *) AND 2f+1 PREVOTE(h, r_p,
		// id(v)) while valid(v) and step >= prevote for the first time.
		id := p.ValueHash()
		if e.set.HasQuorum(rs.prevotes.powerFor(id)) && e.valid(rs) {
			rs.lockOrValidDone = true
			if e.step == StepPrevote {
				e.lockedRound, e.lockedHash = r, id
				e.vote(Precommit, r, id)
				e.step = StepPrecommit
			}
			e.validRound, e.validValue, e.validHash = r, p.Value, id
			return true
		}
	}
	if e.step == StepPrevote && e.set.HasQuorum(rs.prevotes.powerFor(NilHash)) {
		// Line 44: upon 2f+1 PREVOTE(h, r_p, nil) while step = prevote.
		e.vote(Precommit, r, NilHash)
		e.step = StepPrecommit
		return true
	}
	if !rs.precommitWaitDone && e.set.HasQuorum(rs.precommits.total) {
		// Line 47: upon 2f+1 PRECOMMIT(h, r_p, *) for the first time:
		// schedule OnTimeoutPrecommit.
		rs.precommitWaitDone = true
		e.schedule(StepPrecommit, r)
	}
	return false
}

// rebroadcast re-sends this validator's own messages of the current height
// (the current and previous rounds, and every prevote for a value, which
// others may need as proof-of-lock), the proposal of
// the current round, and the last decision if a validator is still voting
// on the previous height.
func (e *Engine) rebroadcast() {
	if e.set == nil {
		return
	}
	for _, m := range e.signed {
		if m.Height() != e.height {
			continue
		}
		var r int32
		if m.Kind == MsgVote {
			r = m.Vote.Round
		} else {
			r = m.Proposal.Round
		}
		// Every non-nil prevote may be someone's proof-of-lock (line 28
		// needs 2f+1 prevotes of the proposal's valid round), and a node
		// that was down or partitioned then has no other way to get it.
		polCandidate := m.Kind == MsgVote && m.Vote.Type == Prevote && !m.Vote.BlockHash.IsNil()
		if r == e.round || r == e.round-1 || polCandidate {
			e.send(m)
		}
	}
	// Relay the proof-of-lock of our valid value: a Byzantine validator
	// may have shown some honest nodes a conflicting vote instead, and the
	// paper's liveness argument assumes that what one honest node received
	// every honest node eventually receives.
	if e.validRound >= 0 {
		pv := &e.rounds[e.validRound].prevotes
		for idx := range pv.votes {
			if v := pv.voteFor(idx, e.validHash); v != nil && idx != e.selfIdx {
				e.send(&Message{Kind: MsgVote, Vote: v})
			}
		}
	}
	if rs := e.roundIfTracked(e.round); rs.proposal != nil && rs.proposal.Proposer != e.self {
		e.send(&Message{Kind: MsgProposal, Proposal: rs.proposal})
	}
	if e.lagSeen && e.lastCommit != nil && e.lastValue != nil {
		e.lagSeen = false
		e.send(&Message{Kind: MsgDecided, Decided: &DecidedMsg{Value: e.lastValue, Commit: *e.lastCommit}})
	}
}
