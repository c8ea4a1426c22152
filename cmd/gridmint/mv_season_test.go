package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// TestMVAuditsSeason: two requests on one chain. In the first (Friday)
// home B draws 50 Wh an interval above its baseline (−800 Wh: a debt of
// 160,000 base units, its bond slashed); in the second (Monday) it
// delivers, and 160,000 of its payout is withheld. `mv --all` recomputes
// both, the second's debt from the first's settlement, and agrees.
func TestMVAuditsSeason(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	c := newMVChain(t, home)
	utility, owner := mvKey(3), mvKey(4)
	var sites []*wallet.PrivateKey
	var regs []ledger.Payload
	for i := 0; i < 2; i++ {
		sk := mvKey(100 + i)
		sites = append(sites, sk)
		pop, _ := sk.SignTyped(ledger.SitePoPTag, c.g.ChainID, ledger.SitePoPBody(owner.Address()))
		regs = append(regs, &ledger.RegisterSite{SiteKey: sk.Public().Compressed(), PoP: pop, Zone: "CO-DEN",
			LatE6: 39_742_476, LonE6: -105_178_600, Devices: []ledger.Device{{Kind: ledger.DeviceMeter, NameplateW: 20000}}})
	}
	c.block(c.timeMs+1000, owner, regs...)
	counters := make([]uint64, 2)
	prev := make([][32]byte, 2)
	win := func(day uint64) (uint64, uint64) { return day*96 + 56, day*96 + 72 }
	s1, e1 := win(5)
	s2, e2 := win(8)
	feed := func(from, to uint64) {
		for a := from; a < to; a += 8 {
			var rs []meter.Reading
			for s, sk := range sites {
				for i := a; i < min(a+8, to); i++ {
					load := uint32(250)
					switch {
					case s == 0 && (i >= s1 && i < e1 || i >= s2 && i < e2), s == 1 && i >= s2 && i < e2:
						load = 0
					case s == 1 && i >= s1 && i < e1:
						load = 300
					}
					counters[s]++
					r := meter.Reading{Site: sk.Address(), Interval: i, Counter: counters[s], PrevHash: prev[s], GridImportWh: load}
					r.Sign(sk, c.g.ChainID)
					prev[s] = r.Hash()
					rs = append(rs, r)
				}
			}
			end := (c.g.GenesisTime+int64(min(a+8, to))*900)*1000 + 1000
			c.block(end, owner, &ledger.Readings{Readings: rs})
		}
	}
	request := func(id, start, end uint64) {
		terms := ledger.FlexTerms{Zone: "CO-DEN", Direction: ledger.FlexDown, Start: start, End: end, TargetW: 2000,
			PriceBaseUnitsPerKWh: 200_000, Deadline: start - 4, Method: uint8(baseline.MethodXofY),
			Rules: ledger.BaselineRules{WeekdayX: 3, WeekdayY: 3, WeekendX: 1, WeekendY: 1, LookbackDays: 10}}
		c.block(c.timeMs+1000, utility, &ledger.FlexRequestTx{Terms: terms})
		var commits []ledger.Payload
		for _, sk := range sites {
			commits = append(commits, &ledger.FlexCommitTx{RequestID: id, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000})
		}
		c.block(c.timeMs+1000, owner, commits...)
	}
	feed(0, 5*96+32)
	request(1, s1, e1)
	feed(5*96+32, 8*96+32)
	request(2, s2, e2)
	feed(8*96+32, 9*96+4)
	for id := uint64(1); id <= 2; id++ {
		if _, ok, _ := c.l.FlexSettlement(id); !ok {
			t.Fatalf("request %d did not settle", id)
		}
	}
	c.l.Close()

	out := mustCLI(t, "--home", home, "mv", "--all")
	if !strings.Contains(out, "2 settled request(s) audited, 0 differ") || !strings.Contains(out, "season 0 (chain 0)") ||
		strings.Contains(out, "DIFFERS") {
		t.Fatalf("mv output:\n%s", out)
	}
	out = mustCLI(t, "--home", home, "mv", "--all", "--json")
	var audits []ledger.Audit
	if err := json.Unmarshal([]byte(out), &audits); err != nil || len(audits) != 2 || !audits[0].Match || !audits[1].Match {
		t.Fatalf("json: %v %s", err, out)
	}
	b1, b2 := audits[0].Recomputed.Commitments[1], audits[1].Recomputed.Commitments[1]
	if audits[0].Recomputed.Commitments[1].Site != sites[1].Address() {
		b1, b2 = audits[0].Recomputed.Commitments[0], audits[1].Recomputed.Commitments[0]
	}
	if b1.SeasonNetWh != -800 || b1.DebtAfterBaseUnits != 160_000 || b2.DebtBeforeBaseUnits != 160_000 ||
		b2.WithheldBaseUnits != 160_000 || b2.PayoutBaseUnits != 640_000 || b2.DebtAfterBaseUnits != 0 {
		t.Fatalf("home B's season: %+v / %+v", b1, b2)
	}
}
