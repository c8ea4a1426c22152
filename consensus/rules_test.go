package consensus

import (
	"bytes"
	"testing"

	"github.com/gridmint/gridmint/codec"
)

// The tests in this file hold conditions of Algorithm 1 that the paper
// tests (paper_test.go) left unchecked: each was found by the mutation
// test (scripts/mutate-consensus; consensus/MUTATIONS.md names the mutation
// each one kills). Same script language as paper_test.go: validator 3 is
// the engine under test, in a set of four equal validators.

// TestLine28LockedAfterValidRound: line 29's "lockedRound <= vr" is what
// lets a proof-of-lock newer than the lock release it; with an older one
// the lock holds. Here the proposal of round 2 carries B with vr = 0 and a
// complete proof-of-lock (2f+1 prevotes for B in round 0, which we missed
// in round 0), while we are locked on A since round 1: lockedRound (1) >
// vr (0) and lockedValue != B, so line 28 fires and prevotes nil. Without
// "lockedRound <= vr" the rule would still prevote nil here; this test
// reaches the branch, and TestLine28ValidRoundEqualsLock and the paper
// test "a proposal with a proof-of-lock from vr >= lockedRound" hold the
// other side.
func TestLine28LockedAfterValidRound(t *testing.T) {
	newHarness(t).run(`
		# round 0: we time out and prevote nil; B's prevotes arrive late
		timeout
		sent prevote 0 nil
		prevote 0 B 0,1,2
		timeout
		sent precommit 0 nil
		precommit 0 nil 0,1,2
		timeout
		# round 1: we lock A
		proposal 1 A
		prevote 1 A 0,1
		sent prevote 1 A; precommit 1 A
		state round=1 locked=1/A valid=1/A
		precommit 1 nil 0,1,2
		timeout
		# round 2: B with its complete proof-of-lock from round 0 < 1
		state round=2 step=propose
		proposal 2 B 0
		sent prevote 2 nil
		state step=prevote locked=1/A`)
}

// TestLine28OwnLockAndValidity: line 29's other two conditions. Locked on
// B since round 1, a proposal of B with vr = 0 < 1 and a complete
// proof-of-lock gets a prevote (lockedValue = v); unlocked, an invalid
// value with a complete proof-of-lock gets a nil prevote (valid(v)).
func TestLine28OwnLockAndValidity(t *testing.T) {
	script := func(lock, proposed, want string) string {
		return `
		timeout
		prevote 0 ` + proposed + ` 0,1,2
		timeout
		sent prevote 0 nil; precommit 0 nil
		precommit 0 nil 0,1,2
		timeout
		proposal 1 ` + lock + `
		prevote 1 ` + lock + ` 0,1
		sent prevote 1 ` + lock + `; precommit 1 ` + lock + `
		precommit 1 nil 0,1,2
		timeout
		state round=2 locked=1/` + lock + `
		proposal 2 ` + proposed + ` 0
		sent prevote 2 ` + want
	}
	t.Run("locked on the proposed value", func(t *testing.T) { newHarness(t).run(script("B", "B", "B")) })
	t.Run("invalid value", func(t *testing.T) {
		newHarness(t).run(`
			timeout
			prevote 0 X 0,1,2
			timeout
			sent prevote 0 nil; precommit 0 nil
			precommit 0 nil 0,1,2
			timeout
			state round=1 locked=-1/nil
			proposal 1 X 0
			sent prevote 1 nil
			state step=prevote`)
	})
}

// TestLine28ValidRoundEqualsLock: lockedRound = vr releases a lock on
// another value (the paper's "<=", not "<"). Two proofs-of-lock in one
// round need f+1 double voters (here validators 0 and 1, who are reported),
// so only the rule as written, not safety, tells "<=" from "<".
func TestLine28ValidRoundEqualsLock(t *testing.T) {
	newHarness(t).run(`
		proposal 0 A
		prevote 0 A 0,1
		sent prevote 0 A; precommit 0 A
		state locked=0/A
		precommit 0 nil 0,1,2
		timeout
		timeout
		prevote 1 nil 0,1,2
		precommit 1 nil 0,1,2
		timeout
		sent prevote 1 nil; precommit 1 nil
		state round=2 locked=0/A
		proposal 2 B 0
		sent -
		# 0 and 1 prevoted A in round 0 and now also B: evidence, and
		# their B prevotes count (B is a proposal of this height)
		prevote 0 B 0
		evidence 0
		prevote 0 B 1
		evidence 1
		sent -
		prevote 0 B 2
		sent prevote 2 B`)
}

// TestLine55SkipsToTheRoundOfFPlusOne: the round skip goes to the highest
// round that f+1 power has reached, not to the highest round any single
// (possibly Byzantine) validator claims.
func TestLine55SkipsToTheRoundOfFPlusOne(t *testing.T) {
	newHarness(t).run(`
		prevote 7 nil 0
		state round=0
		prevote 5 nil 1
		state round=5 step=propose`)
}

// TestLine57OnlyAtStepPropose: a propose timeout that fires after the
// engine has moved to step precommit does nothing; in particular it does
// not put the step back to prevote, where line 36 would lock a value we
// precommitted nil for.
func TestLine57OnlyAtStepPropose(t *testing.T) {
	newHarness(t).run(`
		proposal 0 A
		prevote 0 nil 0
		prevote 0 B 1
		# the prevote timeout (500 ms) fires before the propose timeout (1000 ms)
		timeout
		sent prevote 0 A; precommit 0 nil
		state step=precommit
		timeout
		sent -
		state round=0 step=precommit
		prevote 0 A 2
		prevote 0 A 1
		evidence 1
		state step=precommit locked=-1/nil valid=0/A
		sent -`)
}

// TestThresholds pins 2f+1 (more than two thirds of the power) and f+1
// (more than one third) at their boundaries, for totals divisible by three
// and not.
func TestThresholds(t *testing.T) {
	keys := testKeys(t, 7)
	cases := []struct {
		powers          []uint64
		quorum, noQuota uint64 // the least power that is a quorum, and the most that is not
		third, noThird  uint64
	}{
		{[]uint64{1, 1, 1}, 3, 2, 2, 1},
		{[]uint64{1, 1, 1, 1}, 3, 2, 2, 1},
		{[]uint64{1, 1, 1, 1, 1, 1}, 5, 4, 3, 2},
		{[]uint64{1, 1, 1, 1, 1, 1, 1}, 5, 4, 3, 2},
		{[]uint64{50, 25, 25}, 67, 66, 34, 33},
	}
	for _, c := range cases {
		s := testSet(t, keys[:len(c.powers)], c.powers...)
		if !s.HasQuorum(c.quorum) || s.HasQuorum(c.noQuota) {
			t.Errorf("powers %v: quorum(%d)=%v quorum(%d)=%v, want true, false", c.powers, c.quorum, s.HasQuorum(c.quorum), c.noQuota, s.HasQuorum(c.noQuota))
		}
		if !s.HasOneThird(c.third) || s.HasOneThird(c.noThird) {
			t.Errorf("powers %v: oneThird(%d)=%v oneThird(%d)=%v, want true, false", c.powers, c.third, s.HasOneThird(c.third), c.noThird, s.HasOneThird(c.noThird))
		}
	}
}

// signedOnly keeps the entries of wal that this validator signed: what a
// restart has when the received messages (logged without fsync) were lost.
func signedOnly(wal []WALEntry) []WALEntry {
	var out []WALEntry
	for _, e := range wal {
		if e.Kind == WALSigned {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) restart(wal []WALEntry, next string) *harness {
	r := &harness{t: h.t, keys: h.keys, set: h.set, app: &testApp{next: next}, nowMs: h.nowMs, me: h.me}
	r.start(wal)
	return r
}

// TestRestartRestoresLock: a validator locked on A in round 0 restarts with
// only its own signed messages (the received ones were lost). It is back in
// round 1 at step prevote, locked on A, counts its own votes, and in round
// 2 does not prevote for another value without a proof-of-lock; with a
// proof-of-lock older than its lock it still refuses.
func TestRestartRestoresLock(t *testing.T) {
	ref := newHarness(t)
	ref.run(`
		proposal 0 A
		prevote 0 A 0,1
		sent prevote 0 A; precommit 0 A
		precommit 0 nil 0,1,2
		timeout
		timeout
		sent prevote 1 nil
		state round=1 step=prevote locked=0/A`)
	wal := signedOnly(ref.wal)
	if len(wal) != 3 {
		t.Fatalf("%d signed entries, want 3", len(wal))
	}
	h := ref.restart(wal, "B")
	h.run(`
		state height=1 round=1 step=prevote locked=0/A
		sent -
		# two more nil prevotes and our own make 2f+1
		prevote 1 nil 0,1
		sent precommit 1 nil
		precommit 1 nil 0,1,2
		timeout
		state round=2 step=propose locked=0/A
		proposal 2 B
		sent prevote 2 nil
		state locked=0/A`)

	// Locked on A in round 1, restarted with only its signed messages: in
	// round 2, B with a complete proof-of-lock from round 0 (older than
	// the restored lock) still gets a nil prevote.
	ref2 := newHarness(t)
	ref2.run(`
		timeout
		prevote 0 nil 0,1,2
		precommit 0 nil 0,1,2
		timeout
		proposal 1 A
		prevote 1 A 0,1
		sent prevote 0 nil; precommit 0 nil; prevote 1 A; precommit 1 A
		state round=1 step=precommit locked=1/A`)
	h2 := ref2.restart(signedOnly(ref2.wal), "B")
	h2.run(`
		state round=1 step=precommit locked=1/A
		precommit 1 nil 0,1,2
		timeout
		state round=2
		proposal 2 B 0
		prevote 0 B 0,1,2
		sent prevote 2 nil`)
}

// TestRestartRestoresPrecommitStep: a validator that precommitted nil in
// round 0 restarts (received messages lost) at step precommit, so that
// 2f+1 prevotes for the proposal arriving afterwards only update the valid
// value (line 36 at step precommit) and do not lock a value it
// precommitted nil for.
func TestRestartRestoresPrecommitStep(t *testing.T) {
	ref := newHarness(t)
	ref.run(`
		proposal 0 A
		prevote 0 nil 0
		prevote 0 B 1
		timeout
		sent prevote 0 A; precommit 0 nil
		state step=precommit`)
	h := ref.restart(signedOnly(ref.wal), "B")
	h.run(`
		state round=0 step=precommit locked=-1/nil
		proposal 0 A
		prevote 0 A 1,2
		state step=precommit locked=-1/nil valid=0/A
		sent -`)
}

// TestLine34NeedsTwoThirdsOfPrevotes: the prevote timeout is armed by
// 2f+1 prevotes of the round, not by entering step prevote.
func TestLine34NeedsTwoThirdsOfPrevotes(t *testing.T) {
	newHarness(t).run(`
		proposal 0 A
		sent prevote 0 A
		# only the propose timeout is pending: it does nothing at step prevote
		timeout
		sent -
		state step=prevote
		prevote 0 B 0
		prevote 0 nil 1
		timeout
		sent precommit 0 nil
		state step=precommit`)
}

// TestLine36NotAtStepPropose: 2f+1 prevotes for the proposal while we are
// still at step propose (its valid round has no proof-of-lock, so line 28
// waits) change nothing; once the propose timeout moves us to step
// prevote, line 36 locks and precommits.
func TestLine36NotAtStepPropose(t *testing.T) {
	newHarness(t).run(`
		proposal 0 A
		sent prevote 0 A
		prevote 0 nil 0,1,2
		sent precommit 0 nil
		precommit 0 nil 0,1,2
		timeout
		state round=1
		proposal 1 A 0
		prevote 1 A 0,1,2
		sent -
		state step=propose locked=-1/nil valid=-1/nil
		timeout
		sent prevote 1 nil; precommit 1 A
		state step=precommit locked=1/A valid=1/A`)
}

// TestLine36NeedsAValidValue: 2f+1 prevotes for an invalid value lock
// nothing and get no precommit for it.
func TestLine36NeedsAValidValue(t *testing.T) {
	newHarness(t).run(`
		proposal 0 X
		sent prevote 0 nil
		prevote 0 X 0,1,2
		sent -
		state step=prevote locked=-1/nil valid=-1/nil
		timeout
		sent precommit 0 nil
		state locked=-1/nil valid=-1/nil`)
}

// TestLine44OnlyAtStepPrevote: 2f+1 nil prevotes while we are still at
// step propose do not make us precommit before we prevote.
func TestLine44OnlyAtStepPrevote(t *testing.T) {
	newHarness(t).run(`
		prevote 0 nil 0,1,2
		sent -
		state step=propose
		timeout
		sent prevote 0 nil; precommit 0 nil
		state step=precommit`)
}

// TestRestartReplaysTimeouts: a precommit timeout leaves no signed message
// behind, only its WAL entry; a restart right after it (before anything
// was signed in the new round) is back in the new round at once.
func TestRestartReplaysTimeouts(t *testing.T) {
	ref := newHarness(t)
	ref.run(`
		proposal 0 A
		prevote 0 nil 0,1,2
		sent prevote 0 A; precommit 0 nil
		precommit 0 nil 0,1,2
		timeout
		state round=1 step=propose`)
	want := ref.eng.Status()
	h := ref.restart(ref.wal, "B")
	if got := h.eng.Status(); got != want {
		t.Fatalf("after restart %+v, want %+v", got, want)
	}
	// Replay re-sends what it re-derives: the same signed votes.
	h.run(`sent prevote 0 A; precommit 0 nil`)
}

// TestRestartResendsOwnProposal: a proposer restarted after signing its
// proposal re-sends that proposal, byte for byte, and does not ask the
// application for a new value (which may differ: a second proposal for
// the round would be evidence against it).
func TestRestartResendsOwnProposal(t *testing.T) {
	ref := newHarness(t)
	ref.run(`
		timeout
		prevote 0 nil 0,1,2
		precommit 0 nil 0,1,2
		timeout
		timeout
		prevote 1 nil 0,1,2
		precommit 1 nil 0,1,2
		timeout
		timeout
		prevote 2 nil 0,1,2
		precommit 2 nil 0,1,2
		timeout
		state round=3
		sent prevote 0 nil; precommit 0 nil; prevote 1 nil; precommit 1 nil; prevote 2 nil; precommit 2 nil; proposal 3 M -1; prevote 3 M`)
	var before []byte
	for _, e := range ref.wal {
		if e.Kind == WALSigned && e.Msg.Kind == MsgProposal {
			before = codec.Encode(e.Msg)
		}
	}
	for name, wal := range map[string][]WALEntry{"whole WAL": ref.wal, "signed entries only": signedOnly(ref.wal)} {
		h := ref.restart(wal, "Z")
		var again [][]byte
		for _, m := range h.sent {
			if m.Kind == MsgProposal {
				again = append(again, codec.Encode(m))
			}
		}
		if len(again) != 1 || !bytes.Equal(again[0], before) {
			t.Errorf("%s: re-sent %d proposals, want the one signed before", name, len(again))
		}
		if h.app.proposeCalls != 0 {
			t.Errorf("%s: asked the application for a value %d times", name, h.app.proposeCalls)
		}
	}
}
