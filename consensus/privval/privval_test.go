package privval

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/consensus/wal"
	"github.com/gridmint/gridmint/wallet"
)

const chain = "gridmint-test"

func key(t testing.TB) *wallet.PrivateKey {
	t.Helper()
	k, err := wallet.GenerateKeyFrom(rand.NewChaCha8([32]byte{7}))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func vote(k *wallet.PrivateKey, typ consensus.VoteType, h uint64, r int32, block byte, ts int64) []byte {
	v := &consensus.Vote{Type: typ, Height: h, Round: r, BlockHash: consensus.Hash{block}, TimestampMs: ts, Validator: k.Address()}
	return v.SignBytes()
}

func proposal(k *wallet.PrivateKey, h uint64, r int32, value string) []byte {
	p := &consensus.Proposal{Height: h, Round: r, ValidRound: -1, Value: []byte(value), Proposer: k.Address()}
	return p.SignBytes()
}

func newGuard(t *testing.T) (*Guard, *wallet.PrivateKey, string) {
	t.Helper()
	k := key(t)
	dir := t.TempDir()
	g, err := Create(wal.OSFS{}, dir, FileName, k, State{})
	if err != nil {
		t.Fatal(err)
	}
	return g, k, dir
}

// TestSameMessageSameSignature: the last signed message, asked again
// (after a restart that lost it from the WAL), gets the stored signature;
// any other body at that step is refused.
func TestSameMessageSameSignature(t *testing.T) {
	g, k, dir := newGuard(t)
	body := vote(k, consensus.Prevote, 5, 1, 0xaa, 1000)
	sig, err := g.SignTyped(consensus.TagVote, chain, body)
	if err != nil {
		t.Fatal(err)
	}
	if err := wallet.VerifyTyped(k.Public(), consensus.TagVote, chain, body, sig); err != nil {
		t.Fatal(err)
	}
	// Reopened from the file, as after a crash.
	g, err = Open(wal.OSFS{}, dir, FileName, k)
	if err != nil {
		t.Fatal(err)
	}
	again, err := g.SignTyped(consensus.TagVote, chain, body)
	if err != nil || again != sig {
		t.Fatalf("same message: %v, same signature %v", err, again == sig)
	}
	m, ok := g.Last().Message()
	if !ok || m.Vote.Signature != sig || !bytes.Equal(m.Vote.SignBytes(), body) {
		t.Fatalf("the state does not give back the vote: %v", ok)
	}
	for _, other := range [][]byte{
		vote(k, consensus.Prevote, 5, 1, 0xbb, 1000), // another block
		vote(k, consensus.Prevote, 5, 1, 0xaa, 1001), // another timestamp
	} {
		_, err := g.SignTyped(consensus.TagVote, chain, other)
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrDoubleSign) || re.Last.Height != 5 || re.File != filepath.Join(dir, FileName) {
			t.Fatalf("conflicting prevote: %v", err)
		}
	}
	if _, err := g.SignTyped(consensus.TagVote, "other-chain", body); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("same body on another chain: %v", err)
	}
}

// TestLowerStepRefused: everything at or below the last signed (height,
// round, step) other than that message is refused; everything above is
// signed, and persisted before the signature is returned.
func TestLowerStepRefused(t *testing.T) {
	g, k, dir := newGuard(t)
	if _, err := g.SignTyped(consensus.TagVote, chain, vote(k, consensus.Precommit, 10, 2, 1, 5)); err != nil {
		t.Fatal(err)
	}
	refused := [][2]any{
		{consensus.TagVote, vote(k, consensus.Prevote, 10, 2, 1, 5)},   // lower step
		{consensus.TagProposal, proposal(k, 10, 2, "v")},               // lowest step
		{consensus.TagVote, vote(k, consensus.Precommit, 10, 1, 1, 5)}, // lower round
		{consensus.TagVote, vote(k, consensus.Precommit, 9, 7, 1, 5)},  // lower height
		{consensus.TagVote, vote(k, consensus.Precommit, 10, 2, 2, 5)}, // same step, other block
	}
	for i, c := range refused {
		if _, err := g.SignTyped(c[0].(wallet.Tag), chain, c[1].([]byte)); !errors.Is(err, ErrDoubleSign) {
			t.Fatalf("case %d: %v", i, err)
		}
	}
	accepted := [][2]any{
		{consensus.TagProposal, proposal(k, 10, 3, "w")},
		{consensus.TagVote, vote(k, consensus.Prevote, 10, 3, 1, 6)},
		{consensus.TagVote, vote(k, consensus.Prevote, 11, 0, 1, 7)},
	}
	for i, c := range accepted {
		sig, err := g.SignTyped(c[0].(wallet.Tag), chain, c[1].([]byte))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		back, err := Open(wal.OSFS{}, dir, FileName, k)
		if err != nil {
			t.Fatal(err)
		}
		if st := back.Last(); st.Signature != sig || !bytes.Equal(st.SignBytes, c[1].([]byte)) {
			t.Fatalf("case %d: not persisted before the signature was returned: %s", i, st.String())
		}
	}
	if _, err := g.SignTyped("gridmint/tx/v1", chain, []byte{1}); err == nil {
		t.Fatal("signed something that is not a vote or a proposal")
	}
}

// TestCorruptFileRefused: a guard file with any byte flipped, cut short,
// extended or missing never opens as a state (never silently reset).
func TestCorruptFileRefused(t *testing.T) {
	g, k, dir := newGuard(t)
	if _, err := g.SignTyped(consensus.TagVote, chain, vote(k, consensus.Precommit, 3, 0, 9, 1)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	try := func(what string, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(wal.OSFS{}, dir, FileName, k)
		if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for i := range good {
		d := bytes.Clone(good)
		d[i] ^= 0x01
		try("flip", d)
	}
	try("short", good[:len(good)-1])
	try("trailing", append(bytes.Clone(good), 0))
	try("empty", nil)
	os.Remove(path)
	if _, err := Open(wal.OSFS{}, dir, FileName, k); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// failFS fails renames, as a full disk would.
type failFS struct{ wal.OSFS }

func (failFS) Rename(string, string) error { return errors.New("disk full") }

// TestFailedWriteRefusesAll: when the state cannot be persisted, the
// signature is not returned and the guard signs nothing more.
func TestFailedWriteRefusesAll(t *testing.T) {
	k := key(t)
	dir := t.TempDir()
	if _, err := Create(failFS{}, dir, FileName, k, State{}); err == nil {
		t.Fatal("Create hid the failed write")
	}
	g, err := Create(wal.OSFS{}, dir, FileName, k, State{})
	if err != nil {
		t.Fatal(err)
	}
	g.fs = failFS{}
	if sig, err := g.SignTyped(consensus.TagVote, chain, vote(k, consensus.Prevote, 1, 0, 1, 1)); err == nil || sig != (wallet.Signature{}) {
		t.Fatalf("signature returned without the state persisted: %v", err)
	}
	g.fs = wal.OSFS{}
	if _, err := g.SignTyped(consensus.TagVote, chain, vote(k, consensus.Prevote, 2, 0, 1, 1)); !errors.Is(err, ErrBroken) {
		t.Fatalf("after a failed write: %v", err)
	}
}

// FuzzDecodeState: no input panics the decoder, and what it accepts
// re-encodes to the same bytes and checks out.
func FuzzDecodeState(f *testing.F) {
	k := key(f)
	z := State{}
	f.Add(z.Encode())
	body := vote(k, consensus.Precommit, 4, 1, 3, 9)
	sig, _ := k.SignTyped(consensus.TagVote, chain, body)
	s := State{ChainID: chain, Height: 4, Round: 1, Step: consensus.StepPrecommit, Tag: consensus.TagVote, SignBytes: body, Signature: sig}
	f.Add(s.Encode())
	pb := proposal(k, 4, 2, "x")
	s2 := State{ChainID: chain, Height: 4, Round: 2, Step: consensus.StepPropose, Tag: consensus.TagProposal, SignBytes: pb}
	f.Add(s2.Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Decode(data)
		if err != nil {
			return
		}
		if !bytes.Equal(st.Encode(), data) {
			t.Fatal("accepted a non-canonical state")
		}
		if err := st.check(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRestore: the guard's last vote is added to WAL entries that lack it
// (and only then), so that the engine re-sends it.
func TestRestore(t *testing.T) {
	g, k, _ := newGuard(t)
	if out, added := Restore(g, nil, 1); added || len(out) != 0 {
		t.Fatal("restored from an empty guard")
	}
	body := vote(k, consensus.Precommit, 8, 2, 4, 77)
	if _, err := g.SignTyped(consensus.TagVote, chain, body); err != nil {
		t.Fatal(err)
	}
	out, added := Restore(g, nil, 8)
	if !added || len(out) != 1 || out[0].Kind != consensus.WALSigned || !bytes.Equal(out[0].Msg.Vote.SignBytes(), body) {
		t.Fatalf("not restored: %v %d", added, len(out))
	}
	if again, added := Restore(g, out, 8); added || len(again) != 1 {
		t.Fatal("restored twice")
	}
	if _, added := Restore(g, nil, 9); added {
		t.Fatal("restored a vote below the start height")
	}
	if _, err := g.SignTyped(consensus.TagProposal, chain, proposal(k, 9, 0, "p")); err != nil {
		t.Fatal(err)
	}
	if _, added := Restore(g, nil, 9); added {
		t.Fatal("restored a proposal, which its sign bytes cannot rebuild")
	}
}

// TestDeferWrites: a guard with deferred writes refuses a conflicting
// signature while it runs, leaves its file as it was until Flush, and a
// guard opened after Flush holds the last signed step.
func TestDeferWrites(t *testing.T) {
	g, k, dir := newGuard(t)
	path := filepath.Join(dir, FileName)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g.DeferWrites()
	body := vote(k, consensus.Precommit, 9, 0, 0xbb, 2000)
	if _, err := g.SignTyped(consensus.TagVote, chain, body); err != nil {
		t.Fatal(err)
	}
	if _, err := g.SignTyped(consensus.TagVote, chain, vote(k, consensus.Precommit, 9, 0, 0xcc, 2000)); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("conflicting precommit: %v", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, before) {
		t.Fatal("the file changed before Flush")
	}
	if err := g.Flush(); err != nil {
		t.Fatal(err)
	}
	g2, err := Open(wal.OSFS{}, dir, FileName, k)
	if err != nil {
		t.Fatal(err)
	}
	if l := g2.Last(); l.Height != 9 || l.Step != consensus.StepPrecommit || !bytes.Equal(l.SignBytes, body) {
		t.Fatalf("reopened at %s", l)
	}
	if err := g.Flush(); err != nil { // nothing new: no write
		t.Fatal(err)
	}
}
