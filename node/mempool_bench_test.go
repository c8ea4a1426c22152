package node

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/wallet"
)

// BenchmarkMempoolUpdate: the re-check after a commit of a pool of 10,000
// pending 1 KiB memo transfers from 2,000 senders (5 nonces each), none
// of them included, so every one is kept and the pool is the same for
// each iteration.
func BenchmarkMempoolUpdate(b *testing.B) {
	const senders, perSender = 2000, 5
	keys := make([]*wallet.PrivateKey, senders)
	g := &ledger.Genesis{ChainID: "gridmint-pool", GenesisTime: 1782000000, Params: ledger.DefaultParams(),
		Validators: []ledger.GenesisValidator{{Address: poolKey(1).Address(), ConsensusKey: poolKey(2).Public().Compressed(), Stake: 1e10}}}
	for i := range keys {
		var s [32]byte
		binary.BigEndian.PutUint32(s[:], uint32(i))
		s[31] = 0x77
		keys[i], _ = wallet.GenerateKeyFrom(rand.NewChaCha8(s))
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: keys[i].Address(), Balance: 1e12})
	}
	l, err := ledger.Open(b.TempDir(), g, ledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	m := NewMempool(l, senders*perSender)
	memo := make([]byte, 1000)
	for n := range uint64(perSender) {
		for _, k := range keys {
			tx := &ledger.Tx{Nonce: n, Fee: g.Params.MinFee, Payload: &ledger.TransferMemo{To: poolKey(9).Address(), Amount: 1, Memo: memo}}
			if err := tx.Sign(k, g.ChainID); err != nil {
				b.Fatal(err)
			}
			if err := m.Add(tx.Encode()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Update()
	}
	if m.Len() != senders*perSender {
		b.Fatalf("pool holds %d", m.Len())
	}
}
