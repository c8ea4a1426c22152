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

// buildControlChain runs eight homes for six days and a "down" request
// with a control group of 3/8 on the sixth. The window is hot: every home
// draws 50 Wh more there than its baseline knows. Each home acts on what
// the chain told it one block after the deadline: control homes carry on,
// dispatched homes cut 100 Wh an interval.
func buildControlChain(t *testing.T, home string) {
	c := newMVChain(t, home)
	defer c.l.Close()
	utility, owner := mvKey(3), mvKey(4)
	var sites []*wallet.PrivateKey
	var regs []ledger.Payload
	for i := 0; i < 8; i++ {
		sk := mvKey(200 + i)
		sites = append(sites, sk)
		pop, _ := sk.SignTyped(ledger.SitePoPTag, c.g.ChainID, ledger.SitePoPBody(owner.Address()))
		regs = append(regs, &ledger.RegisterSite{SiteKey: sk.Public().Compressed(), PoP: pop, Zone: "CO-DEN",
			LatE6: 39_742_476, LonE6: -105_178_600, Devices: []ledger.Device{{Kind: ledger.DeviceMeter, NameplateW: 20000}}})
	}
	c.block(c.timeMs+1000, owner, regs...)
	counters := make([]uint64, len(sites))
	prev := make([][32]byte, len(sites))
	const evStart, evEnd = 5*96 + 56, 5*96 + 72
	control := map[wallet.Address]bool{}
	feed := func(from, to uint64) {
		for a := from; a < to; a += 8 {
			var rs []meter.Reading
			for s, sk := range sites {
				for i := a; i < min(a+8, to); i++ {
					load := uint32(250 + (i%7)*10)
					if i >= evStart && i < evEnd {
						load += 50
						if !control[sk.Address()] {
							load -= 100
						}
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
	feed(0, 5*96+32)
	terms := ledger.FlexTerms{Zone: "CO-DEN", Direction: ledger.FlexDown, Start: evStart, End: evEnd, TargetW: 8000,
		PriceBaseUnitsPerKWh: 200_000, Deadline: evStart - 4, Method: uint8(baseline.MethodXofY),
		Rules:           ledger.BaselineRules{WeekdayX: 3, WeekdayY: 3, WeekendX: 1, WeekendY: 1, LookbackDays: 10},
		ControlSharePPM: 375_000, ControlPayPPM: 150_000}
	c.block(c.timeMs+1000, utility, &ledger.FlexRequestTx{Terms: terms})
	var commits []ledger.Payload
	for _, sk := range sites {
		commits = append(commits, &ledger.FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000})
	}
	c.block(c.timeMs+1000, owner, commits...)
	feed(5*96+32, evStart-4) // the last block is at the deadline: it closes
	c.block(c.timeMs+1000, owner)
	req, _, _ := c.l.FlexRequest(1)
	if req.SplitHeight == 0 {
		t.Fatalf("not split: closed %d at height %d", req.ClosedHeight, c.l.Height())
	}
	for i, cm := range req.Commitments {
		control[cm.Site] = req.Control[i]
	}
	feed(evStart-4, 6*96+4)
	if _, ok, _ := c.l.FlexSettlement(1); !ok {
		t.Fatal("request did not settle")
	}
}

// TestMVAuditsControlGroup: mv shows the split (closing block, its hash,
// the seed, who is control), the placebos, the estimate and each
// dispatched site's correction, all recomputed from the chain, and agrees
// with it. The hot window makes the bare baseline see under half of the
// dispatched homes' cut (759 of 1,600 Wh); the estimate (−841 Wh, the
// control homes' placebo) restores it to 1,600 Wh each.
func TestMVAuditsControlGroup(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	buildControlChain(t, home)
	out := mustCLI(t, "--home", home, "mv", "--request", "1")
	for _, want := range []string{
		"AGREES with the chain", "control group: share 375000 ppm", "closing block hash", "seed (mv)",
		"control: the 3 of 8 sites", "split AGREES with the chain", "placebos (control sites' net delta over the window, Wh, sorted): [-841 -841 -841]",
		"trimmed mean of the middle 1 = -841 Wh (chain -841 Wh), applied", "1 settled request(s) audited, 0 differ",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("mv output lacks %q:\n%s", want, out)
		}
	}
	out = mustCLI(t, "--home", home, "mv", "--all", "--json")
	var audits []ledger.Audit
	if err := json.Unmarshal([]byte(out), &audits); err != nil || len(audits) != 1 || !audits[0].Match || audits[0].Split == nil || !audits[0].Split.Match {
		t.Fatalf("json: %v %s", err, out)
	}
	nControl := 0
	for _, m := range audits[0].Recomputed.Commitments {
		if m.Control {
			nControl++
			if m.Status != uint8(baseline.Control) || m.PayoutBaseUnits == 0 || m.SlashBaseUnits != 0 {
				t.Fatalf("control %+v", m)
			}
			continue
		}
		// The true cut is 100 Wh × 16 = 1,600 Wh; the bare baseline sees
		// 759 of it, the corrected net all of it (the guard then nets 9 Wh
		// drawn above its baseline before the window).
		if m.NetDeltaWh != 759 || m.CorrectionWh != -841 || m.NetDeltaWh-m.CorrectionWh != 1600 || m.DeliveredWh != 1591 {
			t.Fatalf("dispatched %+v", m)
		}
	}
	if nControl != 3 {
		t.Fatalf("%d control", nControl)
	}
}
