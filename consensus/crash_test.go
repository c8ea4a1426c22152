package consensus

import (
	"fmt"
	"testing"

	"github.com/gridmint/gridmint/codec"
)

// TestRestartAtEveryWALWrite kills the validator after each WAL write of a
// reference run (the WAL then holds that prefix; what it signed and sent is
// exactly the signed entries in the prefix, since signed entries are
// durable before their messages leave), restarts it from the prefix, and
// then feeds it a hostile continuation in which everyone else pushes a
// different value B. The restarted validator must never sign a vote or
// proposal that differs from one it signed before the crash at the same
// height, round and type, must keep its lock, and with the whole WAL must
// be back exactly where it was.
func TestRestartAtEveryWALWrite(t *testing.T) {
	ref := newHarness(t)
	ref.run(`
		proposal 0 A
		prevote 0 A 0,1
		precommit 0 nil 0,1,2
		timeout
		proposal 1 C
		prevote 1 nil 0,1,2
		precommit 1 nil 0,1,2
		timeout
		timeout
		prevote 2 C 0,1,2
		timeout
		precommit 2 nil 0,1,2
		timeout
		state round=3`)
	full := ref.wal
	want := ref.eng.Status()
	if len(full) < 10 {
		t.Fatalf("reference run wrote only %d WAL entries", len(full))
	}
	for k := 0; k <= len(full); k++ {
		t.Run(fmt.Sprintf("after-%d-writes", k), func(t *testing.T) {
			// Round-trip the prefix through its encoding, as a restart does.
			var prefix []WALEntry
			for i := range full[:k] {
				var e WALEntry
				if err := codec.Decode(codec.Encode(&full[i]), &e); err != nil {
					t.Fatal(err)
				}
				prefix = append(prefix, e)
			}
			signedBefore := map[string]*Message{}
			lockBefore := int32(-1)
			for _, e := range prefix {
				if e.Kind == WALSigned {
					signedBefore[hrsKey(e.Msg)] = e.Msg
					if e.Msg.Kind == MsgVote && e.Msg.Vote.Type == Precommit && !e.Msg.Vote.BlockHash.IsNil() {
						lockBefore = max(lockBefore, e.Msg.Vote.Round)
					}
				}
			}
			h := &harness{t: t, keys: ref.keys, set: ref.set, app: &testApp{next: "B"}, nowMs: ref.nowMs, me: ref.me}
			h.start(prefix)
			if k == len(full) {
				if got := h.eng.Status(); got != want {
					t.Fatalf("after replaying the whole WAL: %+v, want %+v", got, want)
				}
			}
			if st := h.eng.Status(); st.LockedRound < lockBefore {
				t.Fatalf("lock lost: locked round %d, precommitted a value in round %d", st.LockedRound, lockBefore)
			}
			// The hostile continuation.
			for r := int32(0); r < 6; r++ {
				_ = h.eng.Step(h.proposal(r, -1, "B"))
				for _, i := range []int{0, 1, 2} {
					_ = h.eng.Step(h.vote(Prevote, r, "B", i))
				}
				h.drain()
				for _, i := range []int{0, 1, 2} {
					_ = h.eng.Step(h.vote(Precommit, r, "nil", i))
				}
				h.drain()
				for j := 0; j < 3; j++ {
					if d, _ := h.eng.NextDeadlineMs(); d < h.nowMs+testRebroadcastMs/2 {
						h.nowMs = d
						_ = h.eng.Tick(h.nowMs)
						h.drain()
					}
				}
			}
			for _, m := range h.sent {
				if old, ok := signedBefore[hrsKey(m)]; ok && string(codec.Encode(old)) != string(codec.Encode(m)) {
					t.Fatalf("signed %s after restart, but %s before the crash", describe(m), describe(old))
				}
			}
		})
	}
}

func hrsKey(m *Message) string {
	if m.Kind == MsgVote {
		return fmt.Sprintf("v/%d/%d/%d", m.Vote.Height, m.Vote.Round, m.Vote.Type)
	}
	return fmt.Sprintf("p/%d/%d", m.Proposal.Height, m.Proposal.Round)
}

// TestReplayAcrossADecision: the WAL holds a decided height that the
// application never applied (the node died between persisting and
// applying) and then part of the next height. Replay re-emits the
// decision, pauses until the caller applies it (Advance), and then goes on
// to where the node was.
func TestReplayAcrossADecision(t *testing.T) {
	ref := newHarness(t)
	ref.run(`
		proposal 0 A
		prevote 0 A 0,1
		precommit 0 A 0,1
		decided A
		state height=2
		proposal 0 B
		sent prevote 0 A; precommit 0 A; prevote 0 B
		prevote 0 B 0
		state height=2 step=prevote`)
	want := ref.eng.Status()
	h := &harness{t: t, keys: ref.keys, set: ref.set, app: &testApp{next: "Z"}, nowMs: ref.nowMs, me: ref.me}
	eng, err := NewEngine(Config{ChainID: testChain, App: h.app, Sets: staticSets{h.set}, Signer: h.keys[h.me],
		Timeouts: testTimeouts, StartHeight: 1})
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	if err := eng.Start(h.nowMs, ref.wal); err != nil {
		t.Fatal(err)
	}
	rd := eng.Ready()
	if len(rd.Decisions) != 1 || string(rd.Decisions[0].Value) != "A" {
		t.Fatalf("replay decided %v", rd.Decisions)
	}
	if st := eng.Status(); st.Height != 2 || eng.ValidatorSet() != nil {
		t.Fatalf("entered height 2 before the decision was applied: %+v", st)
	}
	eng.Advance()
	h.drain()
	if got := eng.Status(); got != want {
		t.Fatalf("after replay %+v, want %+v", got, want)
	}
	if h.app.proposeCalls != 0 {
		t.Fatal("replay asked the application for a new value")
	}
}
