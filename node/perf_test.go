package node

import (
	"fmt"
	"testing"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/wallet"
)

// TestDevnetOneRoundPerHeight: with no faulty validator and the devnet's
// delays far below the propose timeout, every height commits in round 0
// on every validator (the round is the one of the stored commit
// certificate). It failed, every height in round 1, while the node
// entered each height on the engine clock of before the block pause, so
// that the round-0 propose timeout fired before the proposal arrived.
func TestDevnetOneRoundPerHeight(t *testing.T) {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 6, Seed: 7, Blocks: 60, Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := d.Run()
	if err != nil {
		t.Fatal(err)
	}
	if s.Height < 60 || !s.RootsAgree {
		t.Fatalf("height %d, roots agree %v", s.Height, s.RootsAgree)
	}
	for i, n := range d.nodes {
		late := 0
		for h := uint64(1); h <= n.Ledger().Height(); h++ {
			if r := consensusDecisionFromStore(t, n, h).Commit.Round; r != 0 {
				if late < 5 {
					t.Errorf("validator %d: height %d committed in round %d", i, h, r)
				}
				late++
			}
		}
		if late > 0 {
			t.Errorf("validator %d: %d of %d heights committed after round 0", i, late, n.Ledger().Height())
		}
	}
}

// TestDevnetSignaturesCheckedOnce: each validator recovers the signature
// of each reading and each transaction once, however many times it checks
// it (the reading pool or mempool on arrival, PreVerify, Propose or
// Execute, the mempool's re-check after each commit). So a node's count of
// secp256k1 recoveries is exactly the readings and transactions it holds:
// those in its blocks plus those still in its pools (the devnet sends no
// badly signed input, which would be checked again each time). Before the
// reading pool verified through the ledger's cache, each reading was
// recovered twice per node (ReadingPool.Add, then PreVerify), and the
// process ran more recoveries than the caches counted. Every
// verification (votes, proposals, commit certificates, site key proofs)
// goes through the caches too.
func TestDevnetSignaturesCheckedOnce(t *testing.T) {
	rec0, ver0 := wallet.SecpCounts()
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 5, Seed: 3, Days: 0.25, Deterministic: true,
		BlockIntervalMs: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := d.Run()
	if err != nil {
		t.Fatal(err)
	}
	var accepted uint64
	for _, a := range s.ReadingsAccepted {
		accepted += a
	}
	if accepted < 5*19 || !s.RootsAgree {
		t.Fatalf("%d readings accepted, roots agree %v: the run covers too little", accepted, s.RootsAgree)
	}
	var recs, vers uint64
	for i, n := range d.nodes {
		readings, txs := uint64(n.Readings.Len()), uint64(n.Pool.Len())
		for h := uint64(1); h <= n.Ledger().Height(); h++ {
			b, err := n.Ledger().Block(h)
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range b.Txs {
				tx, err := ledger.DecodeTx(raw)
				if err != nil {
					t.Fatal(err)
				}
				txs++
				if p, ok := tx.Payload.(*ledger.Readings); ok {
					readings += uint64(len(p.Readings))
				}
			}
		}
		if readings < accepted {
			t.Fatalf("validator %d holds %d readings, %d were accepted", i, readings, accepted)
		}
		c := n.Sigs()
		t.Logf("validator %d: %d readings, %d transactions, %d blocks: %d recoveries, %d verifications, %d cache hits",
			i, readings, txs, n.Ledger().Height(), c.Recoveries(), c.Verifications(), c.Hits())
		if got, want := c.Recoveries(), readings+txs; got != want {
			t.Errorf("validator %d: %d recoveries for %d readings and %d transactions", i, got, readings, txs)
		}
		recs, vers = recs+c.Recoveries(), vers+c.Verifications()
	}
	// And no node checked a signature outside its cache: the process ran
	// exactly the checks the four caches counted (the homes and the
	// utility only sign).
	rec1, ver1 := wallet.SecpCounts()
	if rec1-rec0 != recs || ver1-ver0 != vers {
		t.Errorf("the process ran %d recoveries and %d verifications, the nodes' caches counted %d and %d",
			rec1-rec0, ver1-ver0, recs, vers)
	}
}

// TestDevnetParallelChecksSameRun: the devnet checks signatures on worker
// goroutines ahead of the event loop (SimNet.Parallel with Node.PreCheck);
// the run is the one the event loop alone gives: the same height, state
// root, summary and, per validator, the same recoveries (each reading and
// transaction once). Workers check at least one signature, and the event
// loop finds it checked (cache hits).
func TestDevnetParallelChecksSameRun(t *testing.T) {
	run := func(serial bool) (*DevnetStats, []uint64, uint64) {
		d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 6, Seed: 11, Days: 0.1, Deterministic: true, UnsafeNoSync: true, serial: serial})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if !serial {
			// Two workers even on one core, so the interleavings vary.
			d.net.Parallel(2)
		}
		s, err := d.Run()
		if err != nil {
			t.Fatal(err)
		}
		var recs []uint64
		var hits uint64
		for _, n := range d.nodes {
			recs = append(recs, n.Sigs().Recoveries())
			hits += n.Sigs().Hits()
		}
		return s, recs, hits
	}
	s1, r1, _ := run(true)
	s2, r2, hits := run(false)
	if s1.Height != s2.Height || s1.StateRoot != s2.StateRoot || !s2.RootsAgree {
		t.Fatalf("serial: height %d root %x; parallel: height %d root %x (agree %v)", s1.Height, s1.StateRoot, s2.Height, s2.StateRoot, s2.RootsAgree)
	}
	if fmt.Sprint(s1) != fmt.Sprint(s2) {
		t.Fatalf("summaries differ:\n%v\n%v", s1, s2)
	}
	for i := range r1 {
		if r1[i] != r2[i] {
			t.Errorf("validator %d: %d recoveries serial, %d parallel", i, r1[i], r2[i])
		}
	}
	if hits == 0 {
		t.Fatal("no cache hits")
	}
}
