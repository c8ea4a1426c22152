package node

import (
	"errors"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/wallet"
)

// TestProposalEvidenceSlashedOnce: duplicate-proposal evidence goes
// through the node's evidenceVerifier into a real ledger and slashes and
// jails the proposer's operator like a double vote; the same evidence
// again, and a double vote by the same key at the same height, are the
// same offence and slash nothing more.
func TestProposalEvidenceSlashedOnce(t *testing.T) {
	cons, operator, reporter := poolKey(2), poolKey(1), poolKey(3)
	g := &ledger.Genesis{ChainID: "gridmint-pool", GenesisTime: 1782000000, Params: ledger.DefaultParams(),
		Validators: []ledger.GenesisValidator{{Address: operator.Address(), ConsensusKey: cons.Public().Compressed(), Stake: 1e10}},
		Accounts:   []ledger.GenesisAccount{{Address: reporter.Address(), Balance: 1e12}}}
	l, err := ledger.Open(t.TempDir(), g, ledger.Options{Evidence: evidenceVerifier{}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	timeMs := g.GenesisTime * 1000
	nonce := uint64(0)
	block := func(txs ...[]byte) []ledger.Receipt {
		t.Helper()
		timeMs += 1000
		p, skipped, err := l.Propose(ledger.Header{Height: l.Height() + 1, TimeMs: timeMs, Proposer: operator.Address()}, txs)
		if err != nil || len(skipped) > 0 {
			t.Fatalf("propose: %v, skipped %v", err, skipped)
		}
		if err := l.Commit(p); err != nil {
			t.Fatal(err)
		}
		return p.Results.Receipts
	}
	evidenceTx := func(ev consensus.Evidence) []byte {
		tx := &ledger.Tx{Nonce: nonce, Fee: g.Params.MinFee, Payload: &ledger.Evidence{Data: codec.Encode(ev)}}
		nonce++
		if err := tx.Sign(reporter, g.ChainID); err != nil {
			t.Fatal(err)
		}
		return tx.Encode()
	}
	block()
	block()

	proposal := func(value string) *consensus.Proposal {
		p := &consensus.Proposal{Height: 2, Round: 0, ValidRound: -1, Value: []byte(value), Proposer: cons.Address()}
		sig, err := cons.SignTyped(consensus.TagProposal, g.ChainID, p.SignBytes())
		if err != nil {
			t.Fatal(err)
		}
		p.Signature = sig
		return p
	}
	vote := func(value string) *consensus.Vote {
		v := &consensus.Vote{Type: consensus.Prevote, Height: 2, Round: 0, BlockHash: consensus.HashValue([]byte(value)),
			TimestampMs: timeMs, Validator: cons.Address()}
		sig, err := cons.SignTyped(consensus.TagVote, g.ChainID, v.SignBytes())
		if err != nil {
			t.Fatal(err)
		}
		v.Signature = sig
		return v
	}
	bondedOf := func() (uint64, uint64) {
		a, err := l.Account(operator.Address())
		if err != nil {
			t.Fatal(err)
		}
		return a.Bonded, a.JailedUntil
	}
	before, _ := bondedOf()
	ev := consensus.NewDuplicateProposalEvidence(proposal("A"), proposal("B"))
	rc := block(evidenceTx(ev))
	if rc[0].Code != 0 {
		t.Fatalf("evidence failed: %s", rc[0].Error)
	}
	after, jailed := bondedOf()
	slash := before * uint64(g.Params.DoubleSignSlashPpm) / 1_000_000
	if slash == 0 || after != before-slash || jailed == 0 {
		t.Fatalf("bonded %d -> %d (want -%d), jailed until %d", before, after, slash, jailed)
	}
	for name, again := range map[string]consensus.Evidence{
		"the same evidence":            ev,
		"a double vote at that height": consensus.NewDuplicateVoteEvidence(vote("A"), vote("B")),
	} {
		rc := block(evidenceTx(again))
		if rc[0].Code == 0 || !errors.Is(ledger.TxErrors[rc[0].Code], ledger.ErrDuplicateEvidence) {
			t.Errorf("%s: code %d (%s), want %v", name, rc[0].Code, rc[0].Error, ledger.ErrDuplicateEvidence)
		}
	}
	if b, _ := bondedOf(); b != after {
		t.Fatalf("slashed twice: bonded %d, %d after the first slash", b, after)
	}
	// Evidence signed by another key in the proposer's name is refused.
	forged := consensus.NewDuplicateProposalEvidence(proposal("C"), proposal("D"))
	forged.ProposalA.Signature = wallet.Signature{}
	rc = block(evidenceTx(forged))
	if rc[0].Code == 0 || !errors.Is(ledger.TxErrors[rc[0].Code], ledger.ErrBadEvidence) {
		t.Fatalf("forged evidence: code %d (%s)", rc[0].Code, rc[0].Error)
	}
}
