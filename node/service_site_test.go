//go:build testnet

package node

// The site agent inside a running node, in real time (readings of 60 s
// intervals): `make testnet-test` runs it, with the build tag testnet,
// because it waits for intervals to close on the wall clock.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter/sim"
	"github.com/gridmint/gridmint/wallet"
)

// TestServiceSiteAgent: a one-validator node with [meter] enabled and a
// simulated home as its [[device]] signs a reading for each closed 60 s
// interval with the site key (a keystore file decrypted with the node's
// password) and commits it; stopped and started again, the agent goes on
// from its journal: the next reading chains on the last one, none is
// signed twice or lost (the chain's reading counter has no gap: the
// ledger refuses a broken chain).
func TestServiceSiteAgent(t *testing.T) {
	dir := shortTempDir(t)
	now := time.Now()
	if err := InitTestnet(dir, TestnetOptions{Validators: 1, ChainID: "gridmint-testnet", BasePort: 1, BlockIntervalMs: 200,
		Password: []byte("pw"), KDF: lightKDF(), Now: now, IntervalSeconds: 60, GenesisTime: now.Add(-10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	home := TestnetNodeDir(dir, 0)
	g := mustGenesis(t, home)
	siteKey, err := wallet.GenerateKeyFrom(rand.NewChaCha8([32]byte{'s', 'i', 't', 'e'}))
	if err != nil {
		t.Fatal(err)
	}
	entry, err := (wallet.Dir{Path: filepath.Join(home, "site-key")}).Store(siteKey, []byte("pw"), lightKDF(), now)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(home, entry.Path)
	cfgPath := filepath.Join(home, "config.toml")
	b, _ := os.ReadFile(cfgPath)
	b = bytes.ReplaceAll(b, []byte("/tcp/1\""), []byte("/tcp/0\""))
	b = bytes.ReplaceAll(b, []byte("/udp/1/"), []byte("/udp/0/"))
	b = bytes.Replace(b, []byte("[meter]\n# Read this home's devices and sign one reading per interval.\nenabled = false"),
		[]byte("[meter]\nenabled = true"), 1)
	b = bytes.Replace(b, []byte(`site_key_file = ""`), []byte(fmt.Sprintf("site_key_file = %q", rel)), 1)
	b = bytes.Replace(b, []byte("poll_seconds = 5"), []byte("poll_seconds = 1"), 1)
	b = append(b, fmt.Sprintf("\n[[device]]\nkind = \"sim\"\nseed = 3\nhome = 0\ngenesis = %s\ninterval = \"1m\"\n",
		time.Unix(g.GenesisTime, 0).UTC().Format(time.RFC3339))...)
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(cfgPath)
	if err != nil || !c.Meter.Enabled || len(c.Devices) != 1 {
		t.Fatalf("config: %+v %v", c.Meter, err)
	}
	account := func() *wallet.PrivateKey { return accountKeyOf(t, home, "pw") }
	logs := &syncWriter{w: &bytes.Buffer{}}
	start := func() (*Service, context.CancelFunc, chan error) {
		s, err := OpenService(home, ServiceOptions{Account: account(), SiteKey: siteKey, LogTo: logs})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return s, cancel, done
	}
	if _, err := OpenService(home, ServiceOptions{Account: account(), LogTo: logs}); err == nil || !strings.Contains(err.Error(), "site key") {
		t.Fatalf("meter enabled without a site key: %v", err)
	}
	s, cancel, done := start()
	// The owner registers the site with the simulated home's devices.
	owner := account()
	hc := sim.HomeConfigFor(sim.DefaultPopulation(3, 1), 0)
	pop, err := siteKey.SignTyped(ledger.SitePoPTag, g.ChainID, ledger.SitePoPBody(owner.Address()))
	if err != nil {
		t.Fatal(err)
	}
	reg := &ledger.Tx{Nonce: 0, Fee: g.Params.MinFee, Payload: &ledger.RegisterSite{SiteKey: siteKey.Public().Compressed(), PoP: pop,
		Zone: "TEST", LatE6: int32(hc.LatE6), LonE6: int32(hc.LonE6), Devices: SimSiteDevices(hc)}}
	if err := reg.Sign(owner, g.ChainID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the node driving", func() bool {
		_, err := PostLocal(context.Background(), home, TopicTx, reg.Encode())
		return err == nil
	})
	head := func(s *Service) (counter, interval uint64) {
		s.Net.Do(func(n *Node) {
			st, ok, _ := n.Ledger().Site(siteKey.Address())
			if ok {
				counter, interval = st.Counter, st.LastInterval
			}
		})
		return counter, interval
	}
	waitFor(t, 4*time.Minute, "two readings of the agent on chain", func() bool { c, _ := head(s); return c >= 2 })
	c1, i1 := head(s)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s, cancel, done = start()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, 4*time.Minute, "a reading after the restart", func() bool { c, _ := head(s); return c > c1 })
	c2, i2 := head(s)
	if i2 <= i1 {
		t.Fatalf("after the restart: counter %d interval %d, before %d at %d", c2, i2, c1, i1)
	}
	// Every accepted reading is on chain, chained and signed by the site
	// key (the ledger accepts nothing else).
	s.Net.Do(func(n *Node) {
		r, ok, err := n.Ledger().Reading(siteKey.Address(), i2)
		if err != nil || !ok || r.Counter != c2 {
			t.Errorf("reading of interval %d: %+v %v %v", i2, r, ok, err)
		}
	})
	if !strings.Contains(logs.String(), "site agent started") {
		t.Fatalf("log:\n%s", logs.String())
	}
	t.Logf("readings: %d before the restart (last interval %d), %d after (interval %d)", c1, i1, c2, i2)
}
