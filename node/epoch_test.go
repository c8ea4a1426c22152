package node

import (
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
)

// sameSet reports whether two validator sets are equal: start height,
// members and powers.
func sameSet(a, b *consensus.ValidatorSet) bool {
	if a.StartHeight != b.StartHeight || len(a.Validators) != len(b.Validators) {
		return false
	}
	for i := range a.Validators {
		if a.Validators[i].Address != b.Validators[i].Address || a.Validators[i].Power != b.Validators[i].Power {
			return false
		}
	}
	return true
}

// TestRestartAfterEpochChange: validator 3 bonds four times its stake, so
// the set of the second epoch differs from the first (powers and start
// height). Validator 1 is stopped right after it committed the block that
// ends the first epoch, and restarts when the others have decided the
// next block. The block it must validate first carries the certificate of
// the last block of the first epoch: the restarted node must check it
// against the first epoch's set, which it finds in its store (before the
// fix it took the ledger's current set). It then catches up, votes, and
// all agree.
func TestRestartAfterEpochChange(t *testing.T) {
	const epoch = 12
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 0, Seed: 31, Blocks: 1 << 40, Deterministic: true,
		BlockIntervalMs: 1000, EpochBlocks: epoch, CrashableFS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Validator 3 bonds 400,000 FLX more (the utility lends it): from the
	// second epoch it holds 5/8 of the power, so a certificate of the
	// first epoch is judged quite differently by the second epoch's set.
	// Without homes the validators sign no transactions of their own, so
	// the devnet's nonce for validator 3 is right.
	d.send(d.utility, &ledger.Transfer{To: d.valKeys[3].Address(), Amount: 400_000 * ledger.BaseUnitsPerFLX})
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= 3 }) {
		t.Fatal("no progress")
	}
	d.send(d.valKeys[3], &ledger.Bond{Amount: 400_000 * ledger.BaseUnitsPerFLX})
	if !d.runUntil(t, 600_000, func() bool { return d.height(1) >= epoch }) {
		t.Fatal("no progress")
	}
	if d.height(1) != epoch {
		t.Fatalf("validator 1 at %d, want it stopped at %d", d.height(1), epoch)
	}
	d.net.SetDown(1, true)
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= epoch+1 }) {
		t.Fatal("the others stopped")
	}
	old, err := d.nodes[0].setAt(epoch)
	if err != nil {
		t.Fatal(err)
	}
	next, err := d.nodes[0].setAt(epoch + 1)
	if err != nil {
		t.Fatal(err)
	}
	if sameSet(old, next) || next.StartHeight != epoch+1 {
		t.Fatalf("the epoch did not change the set: %+v", next)
	}
	if err := d.RestartValidator(1); err != nil {
		t.Fatal(err)
	}
	n := d.nodes[1]
	if n.Ledger().Height() != epoch {
		t.Fatalf("restarted at %d", n.Ledger().Height())
	}
	for h, want := range map[uint64]*consensus.ValidatorSet{1: old, epoch: old, epoch + 1: next} {
		got, err := n.setAt(h)
		if err != nil {
			t.Fatalf("set of height %d after the restart: %v", h, err)
		}
		if !sameSet(got, want) {
			t.Fatalf("set of height %d after the restart starts at %d, want %d (or other powers)", h, got.StartHeight, want.StartHeight)
		}
	}
	// The first block it validates: its parent certificate is of the
	// first epoch. Try it as decided, and with the certificate of the
	// first epoch's last block that validator 0 stored, which another
	// proposer could as well have put in it: without validator 3, so the
	// second epoch's set would find no quorum in it.
	value := consensusDecisionFromStore(t, d.nodes[0], epoch+1).Value
	bv, err := DecodeBlockValue(value)
	if err != nil {
		t.Fatal(err)
	}
	// (With every height decided in round 0, validator 0 may well have
	// collected validator 3's precommit too: then take the precommits of
	// validators 0, 1 and 2 from the certificates the four stored, 3/4 of
	// the first epoch's power, and give the block the time that
	// certificate says.)
	cert := consensusDecisionFromStore(t, d.nodes[0], epoch).Commit
	var sigs []consensus.CommitSig
	for _, v := range old.Validators {
		if v.Address == d.conKeys[3].Address() {
			continue
		}
	find:
		for i := range d.nodes {
			c := consensusDecisionFromStore(t, d.nodes[i], epoch).Commit
			if c.Round != cert.Round || c.BlockHash != cert.BlockHash {
				continue
			}
			for _, s := range c.Sigs {
				if s.Validator == v.Address {
					sigs = append(sigs, s)
					break find
				}
			}
		}
	}
	cert.Sigs = sigs
	if err := consensus.VerifyCommit(d.genesis.ChainID, old, consensus.WalletVerifier{}, epoch, cert.BlockHash, cert); err != nil {
		t.Fatalf("the first epoch's certificate without validator 3: %v", err)
	}
	if consensus.VerifyCommit(d.genesis.ChainID, next, consensus.WalletVerifier{}, epoch, cert.BlockHash, cert) == nil {
		t.Fatal("the test needs a certificate of the first epoch that the second epoch's set rejects")
	}
	bv.LastCommit = cert
	bv.Block.Header.TimeMs = cert.TimeMs(old)
	for _, v := range [][]byte{value, codec.Encode(bv)} {
		if err := (app{n}).ValidateValue(epoch+1, v); err != nil {
			t.Fatalf("restarted validator rejects block %d: %v", epoch+1, err)
		}
	}
	h := d.height(0)
	if !d.runUntil(t, 600_000, func() bool {
		return min(d.height(0), d.height(1), d.height(2), d.height(3)) >= h+epoch
	}) {
		t.Fatalf("heights %d %d %d %d", d.height(0), d.height(1), d.height(2), d.height(3))
	}
	signed := false
	for k := h + 1; k <= d.height(1); k++ {
		for _, s := range consensusDecisionFromStore(t, d.nodes[1], k).Commit.Sigs {
			signed = signed || s.Validator == d.conKeys[1].Address()
		}
	}
	if !signed {
		t.Fatal("validator 1 caught up but never signed again")
	}
	common := min(d.height(0), d.height(1), d.height(2), d.height(3))
	want, _ := d.nodes[0].Ledger().Block(common)
	for i := 1; i < 4; i++ {
		if b, err := d.nodes[i].Ledger().Block(common); err != nil || b.Hash() != want.Hash() {
			t.Fatalf("validator %d disagrees at height %d: %v", i, common, err)
		}
	}
	noEvidence(t, d.nodes[0], common)
}
