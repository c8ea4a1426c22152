package main

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/node"
	"github.com/gridmint/gridmint/wallet"
)

func mvKey(i int) *wallet.PrivateKey {
	var s [32]byte
	s[0], s[1], s[31] = byte(i), byte(i>>8), 0x77
	k, _ := wallet.GenerateKeyFrom(rand.NewChaCha8(s))
	return k
}

// mvChain is a minimal chain driver for the audit tests: one validator,
// a utility and a homeowner with two sites, blocks made through the
// ledger's public API.
type mvChain struct {
	t      *testing.T
	l      *ledger.Ledger
	g      *ledger.Genesis
	timeMs int64
	nonce  map[wallet.Address]uint64
}

func newMVChain(t *testing.T, home string) *mvChain {
	paths := node.PathsOf(home)
	val, cons := mvKey(1), mvKey(2)
	g := &ledger.Genesis{ChainID: "gridmint-mvtest", GenesisTime: 1782000000, Params: ledger.DefaultParams(),
		Validators: []ledger.GenesisValidator{{Address: val.Address(), ConsensusKey: cons.Public().Compressed(), Stake: 10_000_000_000}},
		Accounts:   []ledger.GenesisAccount{{Address: mvKey(3).Address(), Balance: 1e12}, {Address: mvKey(4).Address(), Balance: 1e12}}}
	os.MkdirAll(filepath.Dir(paths.Ledger), 0o700)
	j, _ := g.JSON()
	if err := os.WriteFile(paths.Genesis, j, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(paths.Ledger, g, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &mvChain{t: t, l: l, g: g, timeMs: g.GenesisTime * 1000, nonce: map[wallet.Address]uint64{}}
}

// block makes a block at atMs (or just after the last one) with the
// payloads, all signed by k.
func (c *mvChain) block(atMs int64, k *wallet.PrivateKey, payloads ...ledger.Payload) *ledger.BlockResult {
	c.t.Helper()
	c.timeMs = max(atMs, c.timeMs+1)
	var txs [][]byte
	for _, p := range payloads {
		tx := &ledger.Tx{Nonce: c.nonce[k.Address()], Fee: c.g.Params.MinFee, Payload: p}
		tx.Sign(k, c.g.ChainID)
		c.nonce[k.Address()]++
		txs = append(txs, tx.Encode())
	}
	p, skipped, err := c.l.Propose(ledger.Header{Height: c.l.Height() + 1, TimeMs: c.timeMs, Proposer: mvKey(1).Address()}, txs)
	if err != nil || len(skipped) > 0 {
		c.t.Fatalf("propose: %v %v", err, skipped)
	}
	if err := c.l.Commit(p); err != nil {
		c.t.Fatal(err)
	}
	for _, rc := range p.Results.Receipts {
		if rc.Code != 0 {
			c.t.Fatalf("%s failed: %s", rc.Type, rc.Error)
		}
	}
	return p.Results
}

// buildSettledChain runs two homes for six days, a "down" request on the
// sixth (home A complies, home B does not) and lets it settle.
func buildSettledChain(t *testing.T, home string) {
	c := newMVChain(t, home)
	defer c.l.Close()
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
	const evStart, evEnd = 5*96 + 56, 5*96 + 72
	feed := func(from, to uint64) {
		for a := from; a < to; a += 8 {
			var rs []meter.Reading
			for s, sk := range sites {
				for i := a; i < min(a+8, to); i++ {
					load := uint32(250 + (i%7)*10)
					if s == 0 && i >= evStart && i < evEnd {
						load = 20
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
	terms := ledger.FlexTerms{Zone: "CO-DEN", Direction: ledger.FlexDown, Start: evStart, End: evEnd, TargetW: 2000,
		PriceBaseUnitsPerKWh: 200_000, Deadline: evStart - 4, Method: uint8(baseline.MethodXofY),
		Rules: ledger.BaselineRules{WeekdayX: 3, WeekdayY: 3, WeekendX: 1, WeekendY: 1, LookbackDays: 10}}
	c.block(c.timeMs+1000, utility, &ledger.FlexRequestTx{Terms: terms})
	var commits []ledger.Payload
	for _, sk := range sites {
		commits = append(commits, &ledger.FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000})
	}
	c.block(c.timeMs+1000, owner, commits...)
	feed(5*96+32, 6*96+4)
	if _, ok, _ := c.l.FlexSettlement(1); !ok {
		r, _, _ := c.l.FlexRequest(1)
		t.Fatalf("request did not settle: status %d, height %d, time %d, %d commitments", r.Status, c.l.Height(), c.timeMs, len(r.Commitments))
	}
}

func TestMVAuditsChain(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	buildSettledChain(t, home)

	out := mustCLI(t, "--home", home, "mv", "--request", "1", "--intervals")
	if !strings.Contains(out, "AGREES with the chain") || !strings.Contains(out, "1 settled request(s) audited, 0 differ") {
		t.Fatalf("mv output:\n%s", out)
	}
	if !strings.Contains(out, "baseline days [20629 20628 20627]") {
		t.Fatalf("interval detail missing:\n%s", out)
	}
	out = mustCLI(t, "--home", home, "mv", "--all", "--json")
	var audits []ledger.Audit
	if err := json.Unmarshal([]byte(out), &audits); err != nil || len(audits) != 1 || !audits[0].Match {
		t.Fatalf("json: %v %s", err, out)
	}
	a := audits[0].Recomputed.Commitments
	if a[0].DeliveredWh == 0 && a[1].DeliveredWh == 0 {
		t.Fatalf("no delivery found: %+v", a)
	}
	if _, errs, code := cli(t, "--home", home, "mv", "--request", "9"); code == 0 || !strings.Contains(errs, "not found") {
		t.Fatalf("unknown request: %d %s", code, errs)
	}
	if _, errs, code := cli(t, "--home", filepath.Join(home, "nope"), "mv", "--all"); code == 0 || !strings.Contains(errs, "genesis") {
		t.Fatalf("missing home: %d %s", code, errs)
	}
}

// TestMVOffline: a CSV of readings and a terms file give the settlement
// without a chain. Three weekdays of 250 Wh an interval, the event day at
// 50 Wh in the window: baseline 250, delivered 200 × 16 = 3200 Wh of 4000
// committed (800,000 ppm), paid 3.2 kWh × 0.2 FLX = 640,000 base units.
func TestMVOffline(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("interval,import_wh,export_wh\n")
	const start, end = 5*96 + 56, 5*96 + 72
	for i := 0; i < 6*96; i++ {
		v := 250
		if i >= start && i < end {
			v = 50
		}
		fmt.Fprintf(&b, "%d,%d,0\n", i, v)
	}
	csvPath := filepath.Join(dir, "r.csv")
	os.WriteFile(csvPath, []byte(b.String()), 0o600)
	terms := fmt.Sprintf(`{"genesis_time": 1782000000, "interval_seconds": 900, "zone": "CO-DEN", "direction": "down",
	  "start": %d, "end": %d, "posted_interval": %d, "method": "x-of-y",
	  "rules": {"WeekdayX": 3, "WeekdayY": 3, "WeekendX": 1, "WeekendY": 1, "LookbackDays": 10},
	  "price_base_units_per_kwh": 200000, "committed_w": 1000, "bond_base_units": 100000}`, start, end, 5*96+32)
	termsPath := filepath.Join(dir, "t.json")
	os.WriteFile(termsPath, []byte(terms), 0o600)
	out := mustCLI(t, "mv", "--csv", csvPath, "--terms", termsPath, "--json")
	var fs ledger.FlexSettlement
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatal(err)
	}
	c := fs.Commitments[0]
	if c.DeliveredWh != 3200 || c.CommittedWh != 4000 || c.PerformancePPM != 800_000 || c.PayoutBaseUnits != 640_000 || c.SlashBaseUnits != 0 {
		t.Fatalf("offline settlement %+v", c)
	}
	// Bad inputs: clear errors.
	os.WriteFile(csvPath, []byte("interval,import\n1,2\n"), 0o600)
	if _, errs, code := cli(t, "mv", "--csv", csvPath, "--terms", termsPath); code == 0 || !strings.Contains(errs, "header") {
		t.Fatalf("bad header: %s", errs)
	}
	os.WriteFile(csvPath, []byte("interval,import_wh,export_wh\n1,-2,0\n"), 0o600)
	if _, errs, code := cli(t, "mv", "--csv", csvPath, "--terms", termsPath); code == 0 || !strings.Contains(errs, "non-negative") {
		t.Fatalf("negative value: %s", errs)
	}
	if _, errs, code := cli(t, "mv", "--csv", csvPath); code == 0 || !strings.Contains(errs, "--terms") {
		t.Fatalf("no terms: %s", errs)
	}
}

// TestMVOfflineBatteryProof: a battery request offline. The battery is idle
// for five days, then discharges 1000 Wh per interval for 4 h while the
// house uses 600 Wh of it: the battery's baseline credits 16,000 Wh, the
// proof (export) 6,400 Wh, and mv prints both and the formula.
func TestMVOfflineBatteryProof(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("interval,import_wh,export_wh,battery_charge_wh,battery_discharge_wh,ev_wh\n")
	const start, end = 5*96 + 56, 5*96 + 72
	for i := 0; i < 6*96; i++ {
		if i >= start && i < end {
			fmt.Fprintf(&b, "%d,0,400,0,1000,0\n", i)
			continue
		}
		fmt.Fprintf(&b, "%d,600,0,0,0,0\n", i)
	}
	csvPath := filepath.Join(dir, "r.csv")
	os.WriteFile(csvPath, []byte(b.String()), 0o600)
	terms := fmt.Sprintf(`{"genesis_time": 1782000000, "interval_seconds": 900, "zone": "CO-DEN", "direction": "down",
	  "start": %d, "end": %d, "posted_interval": %d, "method": "device", "channel": "battery",
	  "rules": {"LookbackDays": 5}, "price_base_units_per_kwh": 200000, "committed_w": 4000, "bond_base_units": 400000}`,
		start, end, 5*96+32)
	termsPath := filepath.Join(dir, "t.json")
	os.WriteFile(termsPath, []byte(terms), 0o600)
	var fs ledger.FlexSettlement
	if err := json.Unmarshal([]byte(mustCLI(t, "mv", "--csv", csvPath, "--terms", termsPath, "--json")), &fs); err != nil {
		t.Fatal(err)
	}
	c := fs.Commitments[0]
	if !c.Proven || c.NetDeltaWh != 16_000 || c.ProvenNetWh != 6400 || c.DeliveredWh != 6400 || c.PayoutBaseUnits != 1_280_000 {
		t.Fatalf("offline battery settlement %+v", c)
	}
	out := mustCLI(t, "mv", "--csv", csvPath, "--terms", termsPath, "--intervals")
	for _, want := range []string{"discharge Wh", "proven Wh", "delivered max(0, min(16000, 6400) + min(0, 0)) = 6400 Wh"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

// treeState lists every file and directory under dir with its size, mode,
// mtime and content, to show that nothing was written.
func treeState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %v %d", p, info.Size(), info.Mode(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", sha256.Sum256(data))
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMVAuditsReadOnlyHome: mv audits a data directory it may not write
// (chmod -R a-w) and writes nothing to it. As root, chmod does not stop
// writes, so the check that counts is that every file, the LOCK file
// included, is unchanged (mtime and content).
func TestMVAuditsReadOnlyHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	buildSettledChain(t, home)
	var dirs []string
	filepath.WalkDir(home, func(p string, e os.DirEntry, err error) error {
		if err == nil {
			os.Chmod(p, 0o444)
			if e.IsDir() {
				os.Chmod(p, 0o555)
				dirs = append(dirs, p)
			}
		}
		return nil
	})
	t.Cleanup(func() {
		for _, d := range dirs {
			os.Chmod(d, 0o755)
		}
	})
	if os.Geteuid() == 0 {
		t.Log("running as root: chmod does not stop writes; checking that nothing changed instead")
	} else if f, err := os.Create(filepath.Join(home, "probe")); err == nil {
		f.Close()
		t.Fatal("chmod a-w did not make the home read-only")
	}
	before := treeState(t, home)
	out := mustCLI(t, "--home", home, "mv", "--all")
	if !strings.Contains(out, "1 settled request(s) audited, 0 differ") {
		t.Fatalf("mv output:\n%s", out)
	}
	if after := treeState(t, home); after != before {
		t.Fatalf("mv wrote to the home:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// TestMVAuditsOpenStore: mv audits a store another handle holds open, as a
// running node does (pebble's lock held), and a running devnet's.
func TestMVAuditsOpenStore(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	buildSettledChain(t, home)
	g, err := ledger.LoadGenesis(node.PathsOf(home).Genesis)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(node.PathsOf(home).Ledger, g, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := ledger.Open(node.PathsOf(home).Ledger, g, ledger.Options{ReadOnly: true}); !errors.Is(err, ledger.ErrInUse) {
		t.Fatalf("the store is not locked (the test shows nothing): %v", err)
	}
	out := mustCLI(t, "--home", home, "mv", "--request", "1")
	if !strings.Contains(out, "AGREES with the chain") {
		t.Fatalf("mv output:\n%s", out)
	}

	// A devnet that is still open: its nodes hold their stores.
	dir := t.TempDir()
	d, err := node.NewDevnet(node.DevnetConfig{Validators: 2, Homes: 2, Seed: 2, Dir: dir, Deterministic: true, Blocks: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Run(); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, "--home", d.ValidatorDir(0), "mv", "--all")
	if !strings.Contains(out, "0 settled request(s) audited, 0 differ") {
		t.Fatalf("mv on the running devnet:\n%s", out)
	}
}

// TestMVEmptyCSV: an empty CSV gets a clear error naming the file and the
// header it needs, not "EOF".
func TestMVEmptyCSV(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "readings.csv")
	for _, data := range []string{"", "\n\n"} {
		os.WriteFile(p, []byte(data), 0o600)
		_, err := readReadingsCSV(p)
		if err == nil || strings.Contains(err.Error(), "EOF") ||
			!strings.Contains(err.Error(), p+": empty file, expected a header line interval,import_wh,export_wh") {
			t.Fatalf("%q: %v", data, err)
		}
	}
	// Through the CLI too.
	terms := filepath.Join(dir, "t.json")
	os.WriteFile(terms, []byte(`{"genesis_time": 1782000000, "interval_seconds": 900, "zone": "CO-DEN", "direction": "down",
	  "start": 536, "end": 552, "posted_interval": 512, "method": "x-of-y", "rules": {"WeekdayX": 3, "WeekdayY": 3},
	  "price_base_units_per_kwh": 200000, "committed_w": 1000, "bond_base_units": 100000}`), 0o600)
	os.WriteFile(p, nil, 0o600)
	if _, errs, code := cli(t, "mv", "--csv", p, "--terms", terms); code == 0 || !strings.Contains(errs, "empty file") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestMVAuditsDevnetControlGroup: the devnet's whole-site requests ask for
// a control group; on a deterministic devnet past the first settlement,
// `mv --all` recomputes the split from the stored blocks and every number
// of the settlement, and agrees with the chain.
func TestMVAuditsDevnetControlGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("two simulated days")
	}
	d, err := node.NewDevnet(node.DevnetConfig{Validators: 1, Homes: 16, Seed: 4, Dir: t.TempDir(), Deterministic: true,
		Days: 2.1, BlockIntervalMs: 120_000})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Run(); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, "--home", d.ValidatorDir(0), "mv", "--all", "--json")
	var audits []ledger.Audit
	if err := json.Unmarshal([]byte(out), &audits); err != nil || len(audits) == 0 {
		t.Fatalf("json: %v %s", err, out)
	}
	controlled := 0
	for _, a := range audits {
		if !a.Match {
			t.Errorf("request %d differs from the chain", a.Request.ID)
		}
		if a.Request.Terms.ControlSharePPM > 0 {
			if a.Split == nil || a.Request.Control == nil {
				t.Errorf("request %d: no split audited (%+v)", a.Request.ID, a.Split)
			}
			controlled++
		}
	}
	if controlled == 0 {
		t.Fatalf("no request with a control group among %d settled", len(audits))
	}
}
