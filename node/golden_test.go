package node

import (
	"encoding/hex"
	"flag"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gridmint/gridmint/internal/golden"
)

var rewriteGolden = flag.Bool("rewrite", false, "rewrite the golden devnet state root in testdata")

// TestDevnetGoldenRoot: one seed's devnet ends at the state root kept in
// testdata, on every architecture. `make cross-test` runs this test as
// linux/arm64 and linux/arm under qemu, so a pass there and here means
// amd64, arm64 and arm build the same chain byte for byte — simulated
// readings, RECs, flexibility requests with their settlements, rewards and
// consensus times included. Blocks are 15 minutes apart (not the default
// 30 s) so that two days of chain fit the emulator's time. Rewrite with
// `go test ./node -run TestDevnetGoldenRoot -rewrite` when the chain's
// rules change on purpose.
func TestDevnetGoldenRoot(t *testing.T) {
	s := runDevnet(t, DevnetConfig{Validators: 4, Homes: 12, Seed: 11, Days: 2.1, BlockIntervalMs: 900_000,
		Deterministic: true})
	if !s.RootsAgree || s.Settled == 0 || s.RECsWh == 0 {
		t.Fatalf("roots agree %v, %d requests settled, %d Wh of RECs: the run covers too little", s.RootsAgree, s.Settled, s.RECsWh)
	}
	// The gaming home (a battery home, on a battery request: the proof cap
	// applies) is never paid more than it truly delivered.
	if s.GamingCommitments == 0 || s.GamingOverpaid != 0 || s.GamingPaidWh > s.GamingTrueWh {
		t.Fatalf("gaming home: %d commitments settled, %d paid above the truth; paid %d Wh, truly delivered %d Wh",
			s.GamingCommitments, s.GamingOverpaid, s.GamingPaidWh, s.GamingTrueWh)
	}
	t.Logf("gaming home: %d commitments, paid %d Wh, truly delivered %d Wh", s.GamingCommitments, s.GamingPaidWh, s.GamingTrueWh)
	golden.Check(t, filepath.Join("testdata", "golden_devnet_root.txt"), hex.EncodeToString(s.StateRoot[:]), *rewriteGolden,
		fmt.Sprintf("devnet state root at height %d", s.Height))
}
