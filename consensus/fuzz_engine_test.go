package consensus

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

// FuzzEngineStep drives one engine with a sequence of messages, ticks and
// restarts decoded from the fuzzer's bytes. The other validators of a fixed
// set of four, with real keys, sign whatever the input says (they may be
// Byzantine: equivocating, voting in any round, proposing invalid values,
// sending commits without a quorum, messages of the next height), the
// engine's own messages may come back, time jumps, and the engine may crash
// and restart from its WAL (whole, or cut after the last synced entry). No
// panic, and after every step:
//
//   - the engine never signs two different messages for one height, round
//     and kind (vote type), across restarts too, and each is in the WAL, as
//     a synced entry, no later than the Ready that sends it;
//   - -1 <= lockedRound <= round, -1 <= validRound <= round, a lock or a
//     valid value is never nil, step is a known step;
//   - the height never goes down, and moves up only by a decision;
//   - every decision is of the height after the last, for a valid value,
//     with a commit certificate that VerifyCommit accepts (more than two
//     thirds of the power in precommits for it);
//   - the engine precommits a value only after 2f+1 prevotes for it in that
//     round (line 36), and once it has precommitted v in round r it
//     prevotes another value in a later round r' only after 2f+1 prevotes
//     for that value in some round vr with r <= vr < r' (lines 22 and 28:
//     the lock), counting the prevotes it was sent with a valid signature
//     and its own.
//
// Input: byte 0 picks the voting powers and which validator the engine is;
// then each operation is three bytes (see step below).
func FuzzEngineStep(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 2, 1, 2, 0, 1, 2, 1, 1, 2, 2, 1})
	f.Add([]byte{3, 3, 0, 0, 3, 0, 0, 3, 0, 0, 3, 0, 0, 3, 0, 0, 3, 0, 0})
	// A decision by proposal + 2f+1 precommits, then a restart.
	f.Add([]byte{1, 0, 0, 1, 2, 0, 1, 2, 1, 1, 2, 2, 1, 6, 0, 0, 0, 0, 1, 1, 0, 1})
	// A commit certificate received whole, then votes of the next height.
	f.Add([]byte{2, 5, 0x0f, 1, 5, 0x03, 1, 1, 0x11, 1, 8, 0, 0, 3, 1, 0})
	// Rounds move on by timeouts and round skips; echoes; equivocation.
	f.Add([]byte{0, 3, 0, 0, 3, 0, 0, 3, 0, 0, 1, 0x1c, 1, 1, 0x1c, 2, 7, 0, 0, 7, 1, 0, 1, 0x01, 1, 1, 0x01, 2, 6, 1, 0})
	f.Add([]byte{5, 0, 1, 0x25, 1, 1, 1, 1, 2, 1, 1, 3, 1, 2, 1, 1, 2, 2, 1, 2, 3, 1, 4, 0, 1})
	// Locked on the round-0 value, then offered another one in round 1
	// (with no valid round): the engine must prevote nil (line 22). One
	// seed per own validator, so that some round-1 proposer is another.
	for me := byte(0); me < 4; me++ {
		f.Add([]byte{me << 2, 0, 0, 0, 8, 3, 1, 8, 0, 0, 3, 0, 0, 0, 1, 1, 3, 0, 0})
	}
	// A polka for A in round 0 the engine does not lock on (no proposal),
	// a lock on M1 in round 1, then A proposed in round 2 with valid round
	// 0: the engine must prevote nil, its lock being newer (line 28).
	for me := byte(0); me < 4; me++ {
		f.Add([]byte{me << 2, 8, 1, 1, 3, 0, 0, 3, 0, 0, 8, 0, 0, 3, 0, 0, 3, 0, 0, 0, 1, 0, 8, 7, 1, 8, 4, 0,
			3, 0, 0, 3, 0, 0, 0, 2, 5, 3, 0, 0})
	}
	keys := testKeys(f, 4)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 3*400 {
			return
		}
		r := newEngineRun(t, keys, data[0])
		ops := data[1:]
		for i := 0; i+3 <= len(ops); i += 3 {
			r.op(ops[i], ops[i+1], ops[i+2])
			r.check(fmt.Sprintf("after op %d (%d %d %d)", i/3, ops[i], ops[i+1], ops[i+2]))
		}
	})
}

// fuzzPowers are the voting power presets byte 0 picks from.
var fuzzPowers = [][]uint64{{1, 1, 1, 1}, {1, 2, 3, 4}, {10, 1, 1, 1}, {3, 3, 3, 1}}

// proposalValue and voteValue map a byte to a value: "M<h%3>" is what the
// engine's application proposes at height h, "X" is invalid to it, and ""
// is nil in votes.
func proposalValue(c byte, h uint64) string {
	return []string{fmt.Sprintf("M%d", h%3), "A", "B", "X"}[c%4]
}

func voteValue(c byte, h uint64) string {
	if c&32 != 0 {
		return "X"
	}
	return []string{"", "A", "B", fmt.Sprintf("M%d", h%3)}[c%4]
}

// signCache keeps the signatures the fuzz's validators make (deterministic,
// RFC 6979), so that repeated inputs do not pay for signing again.
var signCache struct {
	sync.Mutex
	m map[string]wallet.Signature
}

func cachedSign(t *testing.T, k *wallet.PrivateKey, tag wallet.Tag, body []byte) wallet.Signature {
	key := string(k.Address().Hex()) + string(tag) + string(body)
	signCache.Lock()
	defer signCache.Unlock()
	if s, ok := signCache.m[key]; ok {
		return s
	}
	if signCache.m == nil || len(signCache.m) > 200_000 {
		signCache.m = map[string]wallet.Signature{}
	}
	s, err := k.SignTyped(tag, testChain, body)
	if err != nil {
		t.Fatal(err)
	}
	signCache.m[key] = s
	return s
}

type fuzzApp struct{}

func (fuzzApp) ProposeValue(height uint64, _ *Commit) ([]byte, error) {
	if height%5 == 4 {
		return nil, errors.New("nothing to propose at this height")
	}
	return []byte(fmt.Sprintf("M%d", height%3)), nil
}

func (fuzzApp) ValidateValue(_ uint64, v []byte) error {
	if string(v) == "X" {
		return errors.New("X is invalid")
	}
	return nil
}

type sigKey struct {
	height uint64
	round  int32
	kind   MsgKind
	typ    VoteType
}

type engineRun struct {
	t     *testing.T
	keys  []*wallet.PrivateKey
	set   *ValidatorSet
	me    int
	eng   *Engine
	nowMs int64

	wal     []WALEntry
	synced  int // entries of wal known durable (up to the last synced one)
	signed  map[sigKey][]byte
	logged  map[string]bool // encodings of own signed messages in the WAL
	sentOwn []*Message
	decided []Decision
	lastH   uint64
	// prevotes[height][round][hash] is the set of validators whose valid
	// prevote the engine was given (or made).
	prevotes  map[uint64]map[int32]map[Hash]map[int]bool
	ver       Verifier
	restarted int
}

func newEngineRun(t *testing.T, keys []*wallet.PrivateKey, b byte) *engineRun {
	r := &engineRun{t: t, keys: keys, me: int(b>>2) % 4, nowMs: 1_000_000,
		signed: map[sigKey][]byte{}, logged: map[string]bool{}, ver: WalletVerifier{},
		prevotes: map[uint64]map[int32]map[Hash]map[int]bool{}}
	r.set = testSet(t, keys, fuzzPowers[int(b)%len(fuzzPowers)]...)
	r.start()
	r.lastH = r.eng.Status().Height
	return r
}

// start builds the engine as a node does after a crash: from the committed
// height and the WAL.
func (r *engineRun) start() {
	cfg := Config{ChainID: testChain, App: fuzzApp{}, Sets: staticSets{r.set}, Signer: r.keys[r.me],
		Verifier: r.ver, Timeouts: testTimeouts, StartHeight: uint64(len(r.decided)) + 1}
	cfg.Timeouts.RebroadcastMs = 3000
	if n := len(r.decided); n > 0 {
		d := r.decided[n-1]
		cfg.LastCommit, cfg.LastValue, cfg.LastBlockTimeMs = d.Commit, d.Value, d.Commit.TimeMs(r.set)
	}
	eng, err := NewEngine(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.eng = eng
	if err := eng.Start(r.nowMs, r.wal); err != nil {
		r.t.Fatal(err)
	}
	r.drain()
}

func (r *engineRun) height() uint64 { return r.eng.Status().Height }

// drain does what a node does with Ready, checking the order of its duties.
func (r *engineRun) drain() {
	t := r.t
	for n := 0; r.eng.HasReady(); n++ {
		if n > 1000 {
			t.Fatal("Ready never empties")
		}
		rd := r.eng.Ready()
		for i := range rd.WAL {
			w := &rd.WAL[i]
			r.wal = append(r.wal, *w)
			if w.Sync() {
				r.synced = len(r.wal)
			}
			if w.Kind == WALSigned {
				if !w.Sync() {
					t.Fatal("a signed entry is not synced")
				}
				r.own(w.Msg, "logged")
				r.logged[string(codec.Encode(w.Msg))] = true
			}
		}
		for _, m := range rd.Messages {
			if !signedBy(m, r.keys[r.me].Address()) {
				continue
			}
			r.own(m, "sent")
			if !r.logged[string(codec.Encode(m))] {
				t.Fatalf("sent %s before it was in the WAL", m)
			}
			r.sentOwn = append(r.sentOwn, m)
			if len(r.sentOwn) > 64 {
				r.sentOwn = r.sentOwn[len(r.sentOwn)-64:]
			}
		}
		for _, d := range rd.Decisions {
			want := uint64(len(r.decided)) + 1
			if d.Height != want {
				t.Fatalf("decided height %d, want %d", d.Height, want)
			}
			if string(d.Value) == "X" {
				t.Fatal("decided an invalid value")
			}
			if d.Commit == nil || d.Commit.Round != d.Round {
				t.Fatalf("decision without its commit: %+v", d)
			}
			if err := VerifyCommit(testChain, r.set, WalletVerifier{}, d.Height, HashValue(d.Value), d.Commit); err != nil {
				t.Fatalf("decided height %d on a commit that does not verify: %v", d.Height, err)
			}
			r.decided = append(r.decided, d)
		}
		for _, ev := range rd.Evidence {
			if ev == nil {
				t.Fatal("nil evidence")
			}
		}
		r.eng.Advance()
	}
}

// own records a message signed by the engine's key and fails on a second,
// different one for the same height, round and kind.
func (r *engineRun) own(m *Message, what string) {
	var k sigKey
	switch m.Kind {
	case MsgVote:
		k = sigKey{m.Vote.Height, m.Vote.Round, MsgVote, m.Vote.Type}
	case MsgProposal:
		k = sigKey{m.Proposal.Height, m.Proposal.Round, MsgProposal, 0}
	default:
		r.t.Fatalf("%s a %v as own signed message", what, m.Kind)
	}
	enc := codec.Encode(m)
	old, seen := r.signed[k]
	if seen && !bytes.Equal(old, enc) {
		r.t.Fatalf("double sign at %+v (after %d restarts):\n%x\n%x", k, r.restarted, old, enc)
	}
	r.signed[k] = enc
	if !seen && m.Kind == MsgVote {
		r.checkVote(m.Vote)
	}
}

// notePrevote records a validly signed prevote the engine is given.
func (r *engineRun) notePrevote(v *Vote) {
	byRound := r.prevotes[v.Height]
	if byRound == nil {
		byRound = map[int32]map[Hash]map[int]bool{}
		r.prevotes[v.Height] = byRound
	}
	byHash := byRound[v.Round]
	if byHash == nil {
		byHash = map[Hash]map[int]bool{}
		byRound[v.Round] = byHash
	}
	if byHash[v.BlockHash] == nil {
		byHash[v.BlockHash] = map[int]bool{}
	}
	byHash[v.BlockHash][r.set.Index(v.Validator)] = true
}

// polka reports whether the engine was given 2f+1 prevotes for h in round.
func (r *engineRun) polka(height uint64, round int32, h Hash) bool {
	var power uint64
	for idx := range r.prevotes[height][round][h] {
		power += r.set.Validators[idx].Power
	}
	return r.set.HasQuorum(power)
}

// checkVote checks a vote the engine signed for the first time against the
// locking rules.
func (r *engineRun) checkVote(v *Vote) {
	t := r.t
	if v.Type == Prevote {
		r.notePrevote(v)
	}
	if v.BlockHash.IsNil() {
		return
	}
	if v.Type == Precommit {
		if !r.polka(v.Height, v.Round, v.BlockHash) {
			t.Fatalf("precommit for %s at h=%d r=%d without 2f+1 prevotes for it", v.BlockHash, v.Height, v.Round)
		}
		return
	}
	// The lock: the latest own precommit for a value before this round.
	lockRound, lockHash := int32(-1), NilHash
	for k, enc := range r.signed {
		if k.height != v.Height || k.kind != MsgVote || k.typ != Precommit || k.round >= v.Round || k.round <= lockRound {
			continue
		}
		var m Message
		if err := codec.Decode(enc, &m); err != nil {
			t.Fatal(err)
		}
		if !m.Vote.BlockHash.IsNil() {
			lockRound, lockHash = k.round, m.Vote.BlockHash
		}
	}
	if lockRound < 0 || lockHash == v.BlockHash {
		return
	}
	for vr := lockRound; vr < v.Round; vr++ {
		if r.polka(v.Height, vr, v.BlockHash) {
			return
		}
	}
	t.Fatalf("locked on %s since round %d, prevoted %s in round %d with no 2f+1 prevotes for it in rounds %d..%d",
		lockHash, lockRound, v.BlockHash, v.Round, lockRound, v.Round-1)
}

func (r *engineRun) check(where string) {
	t := r.t
	st := r.eng.Status()
	if st.Height < r.lastH {
		t.Fatalf("%s: height went down from %d to %d", where, r.lastH, st.Height)
	}
	if st.Height != uint64(len(r.decided))+1 {
		t.Fatalf("%s: height %d after %d decisions", where, st.Height, len(r.decided))
	}
	r.lastH = st.Height
	if st.LockedRound < -1 || st.LockedRound > st.Round {
		t.Fatalf("%s: locked round %d, round %d", where, st.LockedRound, st.Round)
	}
	if st.ValidRound < -1 || st.ValidRound > st.Round {
		t.Fatalf("%s: valid round %d, round %d", where, st.ValidRound, st.Round)
	}
	if (st.LockedRound >= 0) == st.LockedHash.IsNil() {
		t.Fatalf("%s: locked round %d with hash %s", where, st.LockedRound, st.LockedHash)
	}
	if (st.ValidRound >= 0) == st.ValidHash.IsNil() {
		t.Fatalf("%s: valid round %d with hash %s", where, st.ValidRound, st.ValidHash)
	}
	if st.Step != StepPropose && st.Step != StepPrevote && st.Step != StepPrecommit {
		t.Fatalf("%s: step %v", where, st.Step)
	}
}

// sender maps a byte to one of the other validators.
func (r *engineRun) sender(b byte) int {
	i := int(b) % 3
	if i >= r.me {
		i++
	}
	return i
}

func (r *engineRun) voteBy(idx int, typ VoteType, height uint64, round int32, value string) *Vote {
	h := NilHash
	if value != "" {
		h = HashValue([]byte(value))
	}
	v := &Vote{Type: typ, Height: height, Round: round, BlockHash: h, TimestampMs: r.nowMs, Validator: r.keys[idx].Address()}
	v.Signature = cachedSign(r.t, r.keys[idx], TagVote, v.SignBytes())
	return v
}

func (r *engineRun) feed(m *Message) {
	if m.Kind == MsgVote && m.Vote.Type == Prevote && r.set.Index(m.Vote.Validator) >= 0 &&
		m.Vote.Verify(testChain, &r.set.Validators[r.set.Index(m.Vote.Validator)], WalletVerifier{}) == nil {
		r.notePrevote(m.Vote)
	}
	_ = r.eng.Step(m) // rejections are fine; the invariants are what counts
	r.drain()
}

// op runs one operation:
//
//	a%10 = 0: proposal of round b%4 by its proposer (or, if b&16, by another
//	          validator), value proposalValue(c), valid round (c>>2)%4 - 1,
//	          at height+1 if b&32, signature broken if b&64
//	1, 2:     prevote / precommit by validator b%3 of round (b>>2)%4 for
//	          voteValue(c), at height+1 if c&4, height-1 if c&8,
//	          signature broken if c&16
//	3:        time moves on by b*20 ms, or to the next deadline if b == 0
//	4:        the same vote twice over from b%3 with two values (equivocation)
//	5:        a commit certificate for proposalValue(c) at round b>>4 signed by the
//	          validators in the bit mask b&15 (one's own precommit only if it
//	          made it), and its value
//	6:        crash and restart; the WAL keeps only its synced prefix if b&1
//	7:        one of the engine's own recent messages comes back (b)
//	8:        a batch: every other validator prevotes (c&1) or precommits
//	          voteValue(b) in round (b>>2)%4
//	9:        a tick at the current time (re-broadcasts, retries)
func (r *engineRun) op(a, b, c byte) {
	h := r.height()
	switch a % 10 {
	case 0:
		round := int32(b % 4)
		height := h
		if b&32 != 0 {
			height++
		}
		pidx := r.set.ProposerIndex(height, round)
		if b&16 != 0 {
			pidx = r.sender(c >> 4)
		}
		if pidx == r.me {
			return
		}
		value := proposalValue(c, height)
		vr := int32((c>>2)%4) - 1
		p := &Proposal{Height: height, Round: round, ValidRound: vr, Value: []byte(value), Proposer: r.keys[pidx].Address()}
		p.Signature = cachedSign(r.t, r.keys[pidx], TagProposal, p.SignBytes())
		if b&64 != 0 {
			p.Signature[5] ^= 1
		}
		r.feed(&Message{Kind: MsgProposal, Proposal: p})
	case 1, 2:
		typ := Prevote
		if a%10 == 2 {
			typ = Precommit
		}
		height := h
		if c&4 != 0 {
			height++
		} else if c&8 != 0 && h > 1 {
			height--
		}
		v := r.voteBy(r.sender(b), typ, height, int32((b>>2)%4), voteValue(c, height))
		if c&16 != 0 {
			v.Signature[7] ^= 1
		}
		r.feed(&Message{Kind: MsgVote, Vote: v})
	case 3:
		if b == 0 {
			if d, ok := r.eng.NextDeadlineMs(); ok && d > r.nowMs {
				r.nowMs = d
			}
		} else {
			r.nowMs += int64(b) * 20
		}
		if err := r.eng.Tick(r.nowMs); err != nil {
			r.t.Fatal(err)
		}
		r.drain()
	case 4:
		idx := r.sender(b)
		typ := Prevote
		if b&4 != 0 {
			typ = Precommit
		}
		round := int32((b >> 3) % 4)
		r.feed(&Message{Kind: MsgVote, Vote: r.voteBy(idx, typ, h, round, voteValue(c, h))})
		r.feed(&Message{Kind: MsgVote, Vote: r.voteBy(idx, typ, h, round, voteValue(c>>2, h))})
	case 5:
		value := proposalValue(c, h)
		round := int32(b >> 4)
		id := HashValue([]byte(value))
		cm := Commit{Height: h, Round: round, BlockHash: id}
		for i := range r.keys {
			if b&(1<<i) == 0 {
				continue
			}
			if i == r.me {
				// Only a precommit the engine really made.
				enc, ok := r.signed[sigKey{h, round, MsgVote, Precommit}]
				if !ok {
					continue
				}
				var m Message
				if codec.Decode(enc, &m) != nil || m.Vote.BlockHash != id {
					continue
				}
				cm.Sigs = append(cm.Sigs, CommitSig{Validator: m.Vote.Validator, TimestampMs: m.Vote.TimestampMs, Signature: m.Vote.Signature})
				continue
			}
			v := r.voteBy(i, Precommit, h, round, value)
			cm.Sigs = append(cm.Sigs, CommitSig{Validator: v.Validator, TimestampMs: v.TimestampMs, Signature: v.Signature})
		}
		if len(cm.Sigs) == 0 {
			return
		}
		r.feed(&Message{Kind: MsgDecided, Decided: &DecidedMsg{Value: []byte(value), Commit: cm}})
	case 6:
		if b&1 != 0 {
			r.wal = r.wal[:r.synced]
		}
		r.synced = len(r.wal)
		r.restarted++
		r.start()
	case 7:
		if len(r.sentOwn) == 0 {
			return
		}
		m := r.sentOwn[int(b)%len(r.sentOwn)]
		var back Message
		if err := codec.Decode(codec.Encode(m), &back); err != nil {
			r.t.Fatalf("own message does not decode: %v", err)
		}
		r.feed(&back)
	case 8:
		typ := Prevote
		if c&1 == 0 {
			typ = Precommit
		}
		round := int32((b >> 2) % 4)
		for i := range r.keys {
			if i != r.me {
				r.feed(&Message{Kind: MsgVote, Vote: r.voteBy(i, typ, h, round, voteValue(b, h))})
			}
		}
	case 9:
		if err := r.eng.Tick(r.nowMs); err != nil {
			r.t.Fatal(err)
		}
		r.drain()
	}
}

// TestEngineFuzzHarnessDecides keeps FuzzEngineStep's decoding meaningful:
// for every choice of own validator and powers, a proposal and a round of
// prevotes and precommits from the others decide each height, across a
// crash and restart, with the checks of every step passing.
func TestEngineFuzzHarnessDecides(t *testing.T) {
	keys := testKeys(t, 4)
	for b := 0; b < 16; b++ {
		r := newEngineRun(t, keys, byte(b))
		script := [][3]byte{{0, 0, 0}, {8, 3, 1}, {8, 3, 0}, {6, 1, 0}, {0, 0, 0}, {8, 3, 1}, {8, 3, 0}, {3, 0, 0}}
		for i, o := range script {
			r.op(o[0], o[1], o[2])
			r.check(fmt.Sprintf("b=%d op %d", b, i))
		}
		// With powers {10, 1, 1, 1} validator 0 decides alone, at every step.
		if len(r.decided) < 2 {
			t.Fatalf("b=%d: %d decisions, height %d; want 2 or more", b, len(r.decided), r.height())
		}
		if len(r.signed) == 0 {
			t.Fatalf("b=%d: the engine signed nothing", b)
		}
	}
}
