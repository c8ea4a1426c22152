package consensus

import (
	"syscall"
	"testing"
	"time"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

// cpuTime is the process's CPU time. The benchmark machine is shared, so
// each benchmark also reports CPU ns per op, which the neighbours do not
// inflate the way they inflate wall-clock ns/op.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU ns per op since start, over n ops.
func reportCPU(b *testing.B, start time.Duration, n int) {
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(n), "cpu-ns/op")
}

// BenchmarkVoteDecodeVerify is the per-vote cost a validator pays for every
// vote it receives: decode and secp256k1 signature check.
func BenchmarkVoteDecodeVerify(b *testing.B) {
	keys := testKeys(b, 1)
	set := testSet(b, keys)
	enc := codec.Encode(signedVote(b, keys[0], Prevote, 10, 0, "A", 1))
	b.ReportAllocs()
	cpu0, n := cpuTime(), 0
	defer func() { reportCPU(b, cpu0, n) }()
	for b.Loop() {
		n++
		var v Vote
		if err := codec.Decode(enc, &v); err != nil {
			b.Fatal(err)
		}
		if err := v.Verify(testChain, &set.Validators[0], WalletVerifier{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCommit64 checks a commit of 43 precommits (just over two
// thirds of 64 validators): what block sync and block validation pay.
func BenchmarkVerifyCommit64(b *testing.B) {
	keys := testKeys(b, 64)
	set := testSet(b, keys)
	var idx []int
	var ts []int64
	for i := 0; i < 43; i++ {
		idx = append(idx, i)
		ts = append(ts, int64(i))
	}
	c := testCommit(b, keys, 3, 0, "A", idx, ts)
	b.ReportAllocs()
	cpu0, n := cpuTime(), 0
	defer func() { reportCPU(b, cpu0, n) }()
	for b.Loop() {
		n++
		if err := VerifyCommit(testChain, set, WalletVerifier{}, 3, hashOf("A"), c); err != nil {
			b.Fatal(err)
		}
	}
}

type trustingVerifier struct{}

func (trustingVerifier) VerifyTyped(*Validator, wallet.Tag, string, []byte, wallet.Signature) error {
	return nil
}

// BenchmarkEngineHeight64 measures the engine alone (signatures not
// checked): one op is one height of 64 validators seen by one of them, a
// proposal, 63 prevotes and 63 precommits in, a decision out.
func BenchmarkEngineHeight64(b *testing.B) {
	keys := testKeys(b, 64)
	set := testSet(b, keys)
	app := &testApp{next: "A"}
	me := 63
	eng, err := NewEngine(Config{ChainID: testChain, App: app, Sets: staticSets{set}, Signer: keys[me],
		Verifier: trustingVerifier{}, Timeouts: testTimeouts, StartHeight: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(0, nil); err != nil {
		b.Fatal(err)
	}
	eng.Ready()
	eng.Advance()
	addrs := make([]wallet.Address, len(keys))
	for i, k := range keys {
		addrs[i] = k.Address()
	}
	b.ReportAllocs()
	cpu0, n := cpuTime(), 0
	defer func() { reportCPU(b, cpu0, n) }()
	for h := uint64(1); b.Loop(); h++ {
		n++
		p := set.ProposerIndex(h, 0)
		msgs := []*Message{{Kind: MsgProposal, Proposal: &Proposal{Height: h, Round: 0, ValidRound: -1, Value: []byte("A"), Proposer: addrs[p]}}}
		for _, typ := range []VoteType{Prevote, Precommit} {
			for i := 0; i < 63; i++ {
				msgs = append(msgs, &Message{Kind: MsgVote, Vote: &Vote{Type: typ, Height: h, BlockHash: hashOf("A"), Validator: addrs[i]}})
			}
		}
		for _, m := range msgs {
			_ = eng.Step(m)
		}
		rd := eng.Ready()
		if len(rd.Decisions) != 1 {
			b.Fatalf("height %d: %d decisions", h, len(rd.Decisions))
		}
		eng.Advance()
		eng.Ready()
		eng.Advance()
	}
}
