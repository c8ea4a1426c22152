package node

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

func poolKey(i int) *wallet.PrivateKey {
	var s [32]byte
	s[0], s[31] = byte(i), 0x99
	k, _ := wallet.GenerateKeyFrom(rand.NewChaCha8(s))
	return k
}

func poolLedger(t *testing.T) (*ledger.Ledger, *ledger.Genesis) {
	t.Helper()
	g := &ledger.Genesis{ChainID: "gridmint-pool", GenesisTime: 1782000000, Params: ledger.DefaultParams(),
		Validators: []ledger.GenesisValidator{{Address: poolKey(1).Address(), ConsensusKey: poolKey(2).Public().Compressed(), Stake: 1e10}},
		Accounts:   []ledger.GenesisAccount{{Address: poolKey(3).Address(), Balance: 1e12}, {Address: poolKey(4).Address(), Balance: 1e12}}}
	l, err := ledger.Open(t.TempDir(), g, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, g
}

func signed(t *testing.T, g *ledger.Genesis, k *wallet.PrivateKey, nonce uint64, amount uint64) []byte {
	tx := &ledger.Tx{Nonce: nonce, Fee: g.Params.MinFee, Payload: &ledger.Transfer{To: poolKey(9).Address(), Amount: amount}}
	if err := tx.Sign(k, g.ChainID); err != nil {
		t.Fatal(err)
	}
	return tx.Encode()
}

func TestMempool(t *testing.T) {
	l, g := poolLedger(t)
	m := NewMempool(l, 5)
	a, b := poolKey(3), poolKey(4)
	// Out of order nonces are kept and reaped in order; a gap stops the run.
	for _, n := range []uint64{2, 0, 1, 4} {
		if err := m.Add(signed(t, g, a, n, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Add(signed(t, g, a, 0, 1)); !errors.Is(err, ErrDuplicateTx) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := m.Add(signed(t, g, a, 0, 2)); !errors.Is(err, ErrNonceTaken) {
		t.Fatalf("nonce taken: %v", err)
	}
	if err := m.Add([]byte{1, 2, 3}); !errors.Is(err, ledger.ErrMalformedTx) {
		t.Fatalf("garbage: %v", err)
	}
	if err := m.Add(signed(t, g, poolKey(5), 0, 1)); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("unfunded: %v", err)
	}
	if err := m.Add(signed(t, g, b, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(signed(t, g, b, 1, 1)); !errors.Is(err, ErrMempoolFull) {
		t.Fatalf("full: %v", err)
	}
	got := m.Reap(1 << 20)
	if len(got) != 4 { // a: 0, 1, 2 (4 waits for 3); b: 0
		t.Fatalf("reaped %d", len(got))
	}
	// Commit a block with a's nonce 0 and 1: the pool drops them.
	p, skipped, err := l.Propose(ledger.Header{Height: 1, TimeMs: g.GenesisTime*1000 + 1}, got[:2])
	if err != nil || len(skipped) > 0 {
		t.Fatal(err, skipped)
	}
	if err := l.Commit(p); err != nil {
		t.Fatal(err)
	}
	m.Update()
	if m.Len() != 3 || m.Included != 2 {
		t.Fatalf("after commit: %d pending, %d included", m.Len(), m.Included)
	}
}

func TestReadingPool(t *testing.T) {
	l, g := poolLedger(t)
	rp := NewReadingPool(l, 10)
	site := poolKey(7)
	var prev [32]byte
	var rs []*meter.Reading
	for i := uint64(1); i <= 3; i++ {
		r := &meter.Reading{Site: site.Address(), Interval: i, Counter: i, PrevHash: prev, GridImportWh: 100}
		r.Sign(site, g.ChainID)
		prev = r.Hash()
		rs = append(rs, r)
	}
	for _, r := range []*meter.Reading{rs[2], rs[0], rs[1], rs[0]} {
		if err := rp.Add(r.Encode(), g.ChainID); err != nil {
			t.Fatal(err)
		}
	}
	if rp.Len() != 3 {
		t.Fatalf("pool holds %d", rp.Len())
	}
	bad := *rs[0]
	bad.Sig[3] ^= 1
	if err := rp.Add(bad.Encode(), g.ChainID); err == nil || rp.Rejected != 1 {
		t.Fatalf("forged reading: %v", err)
	}
	if err := rp.Add(rs[0].Encode(), "gridmint-other"); err == nil {
		t.Fatal("reading of another chain accepted")
	}
	// The site is not registered: nothing to reap yet.
	if got := rp.Reap(10, 1<<40); len(got) != 0 {
		t.Fatalf("reaped %d readings of an unregistered site", len(got))
	}
}

// TestMempoolUpdateEvicts: after a commit Update keeps exactly what
// ledger.CheckTx still accepts: the included nonce goes (Included), a
// transaction whose fee the sender can no longer pay goes (Evicted), the
// rest stays.
func TestMempoolUpdateEvicts(t *testing.T) {
	l, g := poolLedger(t)
	m := NewMempool(l, 10)
	a, b := poolKey(3), poolKey(4)
	spend := signed(t, g, a, 0, 1e12-g.Params.MinFee) // all but the fee
	for _, raw := range [][]byte{spend, signed(t, g, a, 1, 1), signed(t, g, b, 0, 1)} {
		if err := m.Add(raw); err != nil {
			t.Fatal(err)
		}
	}
	p, skipped, err := l.Propose(ledger.Header{Height: 1, TimeMs: g.GenesisTime*1000 + 1}, [][]byte{spend})
	if err != nil || len(skipped) > 0 {
		t.Fatal(err, skipped)
	}
	if err := l.Commit(p); err != nil {
		t.Fatal(err)
	}
	m.Update()
	if m.Len() != 1 || m.Included != 1 || m.Evicted != 1 {
		t.Fatalf("after commit: %d pending, %d included, %d evicted", m.Len(), m.Included, m.Evicted)
	}
	for _, raw := range m.Reap(1 << 20) {
		if _, err := l.CheckTx(raw); err != nil {
			t.Fatalf("kept a transaction CheckTx refuses: %v", err)
		}
	}
}
