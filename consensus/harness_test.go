package consensus

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/wallet"
)

// The rule tests drive one engine (validator "me") in a set of four equal
// validators through scripts: each line is a command, and expectations are
// checked against what the engine sent and its state. Equal powers make
// the proposer schedule plain round robin in address order; "me" is the
// validator of index 3, so it proposes in round 3 (and 7, ...) at height 1.
//
// Commands:
//
//	proposal R V [vr]     the proposer of round R proposes value V (valid round vr, default -1)
//	prevote R V i,j,...   validators i, j, ... prevote V (a value name or nil) in round R
//	precommit R V i,j,... likewise for precommits
//	timeout               time jumps to the engine's next deadline
//	sent M; M; ...        the engine signed and sent exactly these since the last check
//	                      (M is "prevote R V", "precommit R V" or "proposal R V vr")
//	sent -                it sent nothing
//	state k=v ...         round=, step=, locked=R/V, valid=R/V, height=
//	decided V             the engine decided V at the current height-1
//	evidence i            the engine reported double signing by validator i
//
// Values are named by one upper-case letter; the application finds every
// value valid except "X".

const testChain = "gridmint-test"

type testApp struct {
	proposeCalls int
	next         string
}

func (a *testApp) ProposeValue(height uint64, _ *Commit) ([]byte, error) {
	a.proposeCalls++
	if a.next == "" {
		return nil, errors.New("nothing to propose")
	}
	return []byte(a.next), nil
}

func (a *testApp) ValidateValue(height uint64, v []byte) error {
	if string(v) == "X" {
		return errors.New("X is invalid")
	}
	return nil
}

type staticSets struct{ set *ValidatorSet }

func (s staticSets) ValidatorSet(uint64) (*ValidatorSet, error) { return s.set, nil }

type harness struct {
	t       *testing.T
	keys    []*wallet.PrivateKey // by index in the set
	set     *ValidatorSet
	eng     *Engine
	app     *testApp
	nowMs   int64
	sent    []*Message // own signed messages since the last "sent"
	decided []Decision
	evid    []Evidence
	wal     []WALEntry
	me      int
}

const testRebroadcastMs = 1 << 40 // never, in rule tests

var testTimeouts = Timeouts{ProposeMs: 1000, ProposeDeltaMs: 100, PrevoteMs: 500, PrevoteDeltaMs: 100,
	PrecommitMs: 500, PrecommitDeltaMs: 100, RebroadcastMs: testRebroadcastMs}

// testKeys returns n keys sorted by address, from a fixed seed.
func testKeys(t testing.TB, n int) []*wallet.PrivateKey {
	r := rand.New(rand.NewPCG(1, 2))
	var keys []*wallet.PrivateKey
	for i := 0; i < n; i++ {
		var b [32]byte
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		k, err := wallet.PrivateKeyFromBytes(b[:])
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b *wallet.PrivateKey) int {
		x, y := a.Address(), b.Address()
		return strings.Compare(string(x[:]), string(y[:]))
	})
	return keys
}

func testSet(t testing.TB, keys []*wallet.PrivateKey, powers ...uint64) *ValidatorSet {
	vals := make([]Validator, len(keys))
	for i, k := range keys {
		p := uint64(1)
		if i < len(powers) {
			p = powers[i]
		}
		vals[i] = Validator{Address: k.Address(), PubKey: k.Public(), Power: p}
	}
	s, err := NewValidatorSet(1, vals)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, keys: testKeys(t, 4), app: &testApp{next: "M"}, nowMs: 1_000_000, me: 3}
	h.set = testSet(t, h.keys)
	h.start(nil)
	return h
}

func (h *harness) start(wal []WALEntry) {
	eng, err := NewEngine(Config{ChainID: testChain, App: h.app, Sets: staticSets{h.set},
		Signer: h.keys[h.me], Timeouts: testTimeouts, StartHeight: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	h.eng = eng
	if err := eng.Start(h.nowMs, wal); err != nil {
		h.t.Fatal(err)
	}
	h.drain()
}

// drain does what a node does with Ready: keep the WAL, collect what was
// sent and decided.
func (h *harness) drain() {
	for h.eng.HasReady() {
		rd := h.eng.Ready()
		h.wal = append(h.wal, rd.WAL...)
		for _, m := range rd.Messages {
			if signedBy(m, h.keys[h.me].Address()) {
				h.sent = append(h.sent, m)
			}
		}
		h.decided = append(h.decided, rd.Decisions...)
		h.evid = append(h.evid, rd.Evidence...)
		for _, err := range rd.LocalErrors {
			h.t.Logf("local error: %v", err)
		}
		h.eng.Advance()
	}
}

func signedBy(m *Message, a wallet.Address) bool {
	switch m.Kind {
	case MsgVote:
		return m.Vote.Validator == a
	case MsgProposal:
		return m.Proposal.Proposer == a
	}
	return false
}

func valueOf(name string) []byte { return []byte(name) }

func hashOf(name string) Hash {
	if name == "nil" {
		return NilHash
	}
	return HashValue(valueOf(name))
}

// nameOf maps a hash back to a one-letter value name.
func nameOf(h Hash) string {
	if h.IsNil() {
		return "nil"
	}
	for c := 'A'; c <= 'Z'; c++ {
		if HashValue([]byte{byte(c)}) == h {
			return string(c)
		}
	}
	return h.String()
}

func (h *harness) vote(typ VoteType, round int32, value string, idx int) *Message {
	v := &Vote{Type: typ, Height: h.eng.Status().Height, Round: round, BlockHash: hashOf(value),
		TimestampMs: h.nowMs, Validator: h.keys[idx].Address()}
	sig, err := h.keys[idx].SignTyped(TagVote, testChain, v.SignBytes())
	if err != nil {
		h.t.Fatal(err)
	}
	v.Signature = sig
	return &Message{Kind: MsgVote, Vote: v}
}

func (h *harness) proposal(round, vr int32, value string) *Message {
	height := h.eng.Status().Height
	pidx := h.set.ProposerIndex(height, round)
	p := &Proposal{Height: height, Round: round, ValidRound: vr, Value: valueOf(value), Proposer: h.keys[pidx].Address()}
	sig, err := h.keys[pidx].SignTyped(TagProposal, testChain, p.SignBytes())
	if err != nil {
		h.t.Fatal(err)
	}
	p.Signature = sig
	return &Message{Kind: MsgProposal, Proposal: p}
}

func (h *harness) step(m *Message) {
	if err := h.eng.Step(m); err != nil {
		h.t.Fatalf("step %s: %v", m, err)
	}
	h.drain()
}

func describe(m *Message) string {
	switch m.Kind {
	case MsgVote:
		return fmt.Sprintf("%s %d %s", m.Vote.Type, m.Vote.Round, nameOf(m.Vote.BlockHash))
	case MsgProposal:
		return fmt.Sprintf("proposal %d %s %d", m.Proposal.Round, nameOf(m.Proposal.ValueHash()), m.Proposal.ValidRound)
	}
	return m.String()
}

func mustInt(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return n
}

// run executes a script.
func (h *harness) run(script string) {
	t := h.t
	for lineNo, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("line %d %q: %s", lineNo+1, line, fmt.Sprintf(format, args...))
		}
		switch f[0] {
		case "proposal":
			vr := int32(-1)
			if len(f) > 3 {
				vr = int32(mustInt(t, f[3]))
			}
			h.step(h.proposal(int32(mustInt(t, f[1])), vr, f[2]))
		case "prevote", "precommit":
			typ := Prevote
			if f[0] == "precommit" {
				typ = Precommit
			}
			for _, s := range strings.Split(f[3], ",") {
				h.step(h.vote(typ, int32(mustInt(t, f[1])), f[2], mustInt(t, s)))
			}
		case "timeout":
			d, _ := h.eng.NextDeadlineMs()
			if d >= h.nowMs+testRebroadcastMs/2 {
				fail("no timeout pending")
			}
			h.nowMs = d
			if err := h.eng.Tick(h.nowMs); err != nil {
				fail("%v", err)
			}
			h.drain()
		case "sent":
			var got []string
			for _, m := range h.sent {
				got = append(got, describe(m))
			}
			want := []string{}
			if rest := strings.TrimSpace(strings.TrimPrefix(line, "sent")); rest != "-" {
				for _, w := range strings.Split(rest, ";") {
					want = append(want, strings.TrimSpace(w))
				}
			}
			if strings.Join(got, "; ") != strings.Join(want, "; ") {
				fail("sent [%s], want [%s]", strings.Join(got, "; "), strings.Join(want, "; "))
			}
			h.sent = nil
		case "state":
			st := h.eng.Status()
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				var got string
				switch k {
				case "height":
					got = strconv.FormatUint(st.Height, 10)
				case "round":
					got = strconv.Itoa(int(st.Round))
				case "step":
					got = st.Step.String()
				case "locked":
					got = fmt.Sprintf("%d/%s", st.LockedRound, nameOf(st.LockedHash))
				case "valid":
					got = fmt.Sprintf("%d/%s", st.ValidRound, nameOf(st.ValidHash))
				default:
					fail("unknown state key %q", k)
				}
				if got != v {
					fail("%s=%s, want %s", k, got, v)
				}
			}
		case "decided":
			if len(h.decided) == 0 {
				fail("nothing decided")
			}
			d := h.decided[len(h.decided)-1]
			if string(d.Value) != f[1] {
				fail("decided %q", d.Value)
			}
			if err := VerifyCommit(testChain, h.set, WalletVerifier{}, d.Height, HashValue(d.Value), d.Commit); err != nil {
				fail("commit: %v", err)
			}
		case "undecided":
			if len(h.decided) != 0 {
				fail("decided %q", h.decided[0].Value)
			}
		case "evidence":
			idx := mustInt(t, f[1])
			if len(h.evid) == 0 || h.evid[len(h.evid)-1].Offender() != h.keys[idx].Address() {
				fail("no evidence against %d (%d reports)", idx, len(h.evid))
			}
		default:
			fail("unknown command")
		}
	}
}
