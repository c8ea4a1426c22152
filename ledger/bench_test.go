package ledger

import (
	"fmt"
	"testing"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

// benchChain is a chain with many funded accounts, for benchmarks. It skips
// the invariant walk (benchmarks measure the ledger, not the test harness).
func benchChain(b *testing.B, accounts int) (*testChain, []*wallet.PrivateKey) {
	keys := make([]*wallet.PrivateKey, accounts)
	g := testGenesis(func(g *Genesis) {
		g.Accounts = nil
		g.Params.MaxBlockBytes = 64 << 20
		g.Params.EpochBlocks = 1 << 40
		for i := range keys {
			keys[i] = testKey(10_000 + i)
			g.Accounts = append(g.Accounts, GenesisAccount{Address: keys[i].Address(), Balance: 1_000_000 * BaseUnitsPerFLX})
		}
	})
	c := newTestChain(b, g, Options{})
	c.check = false
	return c, keys
}

// proposeCommit builds and commits one block (execution + state root +
// synced commit), failing on any skipped transaction.
func (c *testChain) proposeCommit(b *testing.B, txs [][]byte) {
	c.timeMs += 1000
	c.l.PreVerify(txs) // as the node does: signatures on all cores first
	p, skipped, err := c.l.Propose(Header{Height: c.l.Height() + 1, TimeMs: c.timeMs, Proposer: validatorKey.Address()}, txs)
	if err != nil || len(skipped) > 0 {
		b.Fatalf("propose: %v %v", err, skipped)
	}
	if err := c.l.Commit(p); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBlockTransfers: blocks of 1,000 and 10,000 signed transfers,
// executed (signature recovery included) and committed. One op is one block.
func BenchmarkBlockTransfers(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("txs=%d", n), func(b *testing.B) {
			c, keys := benchChain(b, n)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				txs := make([][]byte, n)
				for j := range txs {
					txs[j] = c.signTx(keys[j], &Transfer{To: keys[(j+1)%n].Address(), Amount: 1})
				}
				b.StartTimer()
				c.proposeCommit(b, txs)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}

// BenchmarkReadingBatch: one block holding one readings transaction with a
// reading from each of 1,000 sites (signature checks, chain checks,
// plausibility with solar geometry, REC accounting), executed and
// committed. One op is one block of 1,000 readings.
func BenchmarkReadingBatch(b *testing.B) {
	const sites = 1_000
	c, keys := benchChain(b, 1)
	owner := keys[0]
	chains := make([]*siteChain, sites)
	var regs [][]byte
	for i := range chains {
		sk := testKey(20_000 + i)
		chains[i] = &siteChain{key: sk}
		regs = append(regs, c.signTx(owner, c.registerPayload(owner, sk)))
	}
	c.proposeCommit(b, regs)
	// Start at 16:00 UTC (10:00 in Golden): daylight, so PV is checked
	// against the sun's position.
	interval := uint64(16 * 4)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rs := make([]meter.Reading, sites)
		for j, sc := range chains {
			rs[j] = sc.next(interval, func(r *meter.Reading) { r.PVWh = 600; r.GridImportWh = 0; r.GridExportWh = 200 })
		}
		tx := c.signTx(owner, &Readings{Readings: rs})
		c.timeMs = c.intervalEndMs(interval) + 1000
		interval++
		b.StartTimer()
		c.proposeCommit(b, [][]byte{tx})
	}
	b.ReportMetric(float64(sites)*float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}
