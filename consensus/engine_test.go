package consensus

import (
	"errors"
	"testing"
)

// TestStepRejects: what the engine refuses and why (p2p scores peers on it).
func TestStepRejects(t *testing.T) {
	h := newHarness(t)
	outsider := testKeys(t, 5)[4]
	cases := []struct {
		name string
		msg  *Message
		want error
	}{
		{"vote by a non-validator", &Message{Kind: MsgVote, Vote: signedVote(t, outsider, Prevote, 1, 0, "A", 1)}, ErrUnknownValidator},
		{"vote with a bad signature", func() *Message {
			m := h.vote(Prevote, 0, "A", 0)
			m.Vote.Signature[3] ^= 1
			return m
		}(), ErrBadSignature},
		{"vote signed by another validator", func() *Message {
			m := h.vote(Prevote, 0, "A", 0)
			m.Vote.Validator = h.keys[1].Address()
			return m
		}(), ErrBadSignature},
		{"proposal from the wrong proposer", &Message{Kind: MsgProposal, Proposal: signedProposal(t, h.keys[2], 1, 0, -1, "A")}, ErrWrongProposer},
		{"vote of an old height", &Message{Kind: MsgVote, Vote: signedVote(t, h.keys[0], Prevote, 1, 0, "A", 1)}, nil},
		{"commit that does not verify", &Message{Kind: MsgDecided, Decided: &DecidedMsg{Value: []byte("A"),
			Commit: *testCommit(t, h.keys, 1, 0, "A", []int{0, 1}, []int64{1, 2})}}, ErrNoQuorum},
		{"commit for another value", &Message{Kind: MsgDecided, Decided: &DecidedMsg{Value: []byte("B"),
			Commit: *testCommit(t, h.keys, 1, 0, "A", []int{0, 1, 2}, []int64{1, 2, 3})}}, ErrValueHash},
	}
	for _, c := range cases {
		if c.want == nil {
			continue
		}
		if err := h.eng.Step(c.msg); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A second, different proposal from the right proposer is refused, and
	// the first one stays.
	h.step(h.proposal(0, -1, "A"))
	if err := h.eng.Step(h.proposal(0, -1, "B")); !errors.Is(err, ErrEquivocatingProposer) {
		t.Errorf("second proposal: %v", err)
	}
	h.run(`sent prevote 0 A`)
}

// TestBlockSync: a value with a commit certificate decides the height
// without any vote of our own, and the engine then waits for Advance
// before asking the application anything about the next height.
func TestBlockSync(t *testing.T) {
	keys := testKeys(t, 4)
	set := testSet(t, keys)
	app := &testApp{next: "N"}
	// With equal powers proposer(2, 0) is validator 1: make it "me", so
	// that entering height 2 means proposing.
	eng, err := NewEngine(Config{ChainID: testChain, App: app, Sets: staticSets{set}, Signer: keys[1],
		Timeouts: testTimeouts, StartHeight: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(1000, nil); err != nil {
		t.Fatal(err)
	}
	eng.Advance()
	c := testCommit(t, keys, 1, 0, "A", []int{0, 2, 3}, []int64{1, 2, 3})
	if err := eng.Step(&Message{Kind: MsgDecided, Decided: &DecidedMsg{Value: []byte("A"), Commit: *c}}); err != nil {
		t.Fatal(err)
	}
	rd := eng.Ready()
	if len(rd.Decisions) != 1 || string(rd.Decisions[0].Value) != "A" {
		t.Fatalf("decisions %+v", rd.Decisions)
	}
	if app.proposeCalls != 0 {
		t.Fatal("asked to propose at height 2 before the decision of height 1 was applied")
	}
	eng.Advance()
	rd = eng.Ready()
	if app.proposeCalls != 1 || len(rd.Messages) == 0 || rd.Messages[0].Kind != MsgProposal || rd.Messages[0].Proposal.Height != 2 {
		t.Fatalf("after Advance: %d propose calls, messages %v", app.proposeCalls, rd.Messages)
	}
	if !rd.WAL[len(rd.WAL)-1].Sync() {
		t.Fatal("own proposal not marked for fsync")
	}
}

// TestObserverNeverSigns: a node without a signer (or outside the set)
// follows and decides but sends nothing.
func TestObserverNeverSigns(t *testing.T) {
	h := newHarness(t)
	eng, err := NewEngine(Config{ChainID: testChain, App: h.app, Sets: staticSets{h.set}, Timeouts: testTimeouts, StartHeight: 1})
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	if err := eng.Start(h.nowMs, nil); err != nil {
		t.Fatal(err)
	}
	h.run(`
		proposal 0 A
		prevote 0 A 0,1,2
		timeout
		precommit 0 A 0,1,2
		decided A`)
	for _, m := range h.sent {
		t.Errorf("observer sent %s", describe(m))
	}
}

type timedApp struct {
	testApp
	timeMs int64
}

func (a *timedApp) BlockTimeMs([]byte) (int64, bool) { return a.timeMs, true }

// TestPrecommitAfterBlockTime: a precommit for a value is timestamped after
// the value's block time even if the local clock is behind, so that block
// times strictly increase.
func TestPrecommitAfterBlockTime(t *testing.T) {
	h := newHarness(t)
	app := &timedApp{timeMs: h.nowMs + 60_000}
	eng, _ := NewEngine(Config{ChainID: testChain, App: app, Sets: staticSets{h.set}, Signer: h.keys[h.me],
		Timeouts: testTimeouts, StartHeight: 1})
	h.eng = eng
	_ = eng.Start(h.nowMs, nil)
	h.run(`
		proposal 0 A
		prevote 0 A 0,1
		sent prevote 0 A; precommit 0 A`)
	h.drain()
	for _, e := range h.wal {
		if e.Kind == WALSigned && e.Msg.Kind == MsgVote && e.Msg.Vote.Type == Precommit {
			if e.Msg.Vote.TimestampMs <= app.timeMs {
				t.Fatalf("precommit at %d, block time %d", e.Msg.Vote.TimestampMs, app.timeMs)
			}
		}
	}
}

// TestWALEntriesOrder: signed messages are WAL entries marked Sync in the
// same Ready as the messages, so Persist fsyncs them before they are sent.
func TestWALEntriesOrder(t *testing.T) {
	h := newHarness(t)
	_ = h.eng.Step(h.proposal(0, -1, "A"))
	rd := h.eng.Ready()
	var signed int
	for _, w := range rd.WAL {
		if w.Kind == WALSigned {
			signed++
			if !w.Sync() {
				t.Error("signed entry not synced")
			}
		}
	}
	var own int
	for _, m := range rd.Messages {
		if signedBy(m, h.keys[h.me].Address()) {
			own++
		}
	}
	if signed != own || own == 0 {
		t.Fatalf("%d signed WAL entries for %d own messages", signed, own)
	}
	mw := &memLog{}
	if err := Persist(mw, &rd); err != nil {
		t.Fatal(err)
	}
	if !mw.synced {
		t.Fatal("Persist did not sync")
	}
	entries, err := ReadWAL(mw)
	if err != nil || len(entries) != len(rd.WAL) {
		t.Fatalf("read back %d entries: %v", len(entries), err)
	}
	h.eng.Advance()
}

type memLog struct {
	recs   [][]byte
	synced bool
}

func (m *memLog) Append(r [][]byte, sync bool) error {
	m.recs = append(m.recs, r...)
	m.synced = m.synced || sync
	return nil
}
func (m *memLog) ReadAll() ([][]byte, error) { return m.recs, nil }
func (m *memLog) Replace(r [][]byte) error   { m.recs = r; return nil }
