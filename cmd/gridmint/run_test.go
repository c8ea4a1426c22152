package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/node"
)

// TestTestnetInitAndStatusCLI: testnet init through the CLI writes the
// node directories and refuses a second time; status on a directory with
// no running node exits 3; run on a directory without config says so.
func TestTestnetInitAndStatusCLI(t *testing.T) {
	work, err := os.MkdirTemp("", "gmcli")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	pw := writePassword(t, work, "pw")
	dir := filepath.Join(work, "tn")
	out := mustCLI(t, "testnet", "init", "--validators", "3", "--full-nodes", "1", "--genesis-time", "2026-11-30T10:07:00Z",
		"--dir", dir, "--port", "30001", "--password-file", pw, "--light-kdf")
	if !strings.Contains(out, "3 validators and 1 full nodes") {
		t.Fatalf("output: %s", out)
	}
	g, err := ledger.LoadGenesis(filepath.Join(dir, "genesis.json"))
	if err != nil || len(g.Validators) != 3 || len(g.Accounts) != 4 || g.GenesisTime != time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("genesis %+v %v", g, err)
	}
	if _, err := os.Stat(filepath.Join(node.TestnetNodeDir(dir, 3), node.ConsensusKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the full node has a consensus key: %v", err)
	}
	if _, errs, code := cli(t, "testnet", "init", "--dir", filepath.Join(work, "tn2"), "--genesis-time", "yesterday", "--password-file", pw, "--light-kdf"); code == 0 || !strings.Contains(errs, "--genesis-time") {
		t.Fatalf("bad genesis time: exit %d, %s", code, errs)
	}
	for i := range 3 {
		c, err := node.LoadConfig(filepath.Join(node.TestnetNodeDir(dir, i), "config.toml"))
		if err != nil || !c.P2P.LoopbackOnly || c.P2P.MDNS || c.P2P.NATPortMap || len(c.P2P.Bootstrap) != 2 {
			t.Fatalf("node %d: %+v %v", i, c.P2P, err)
		}
	}
	if _, errs, code := cli(t, "testnet", "init", "--validators", "3", "--dir", dir, "--password-file", pw, "--light-kdf"); code == 0 || !strings.Contains(errs, "exists already") {
		t.Fatalf("second init: exit %d, %s", code, errs)
	}
	if _, errs, code := cli(t, "status", "--home", node.TestnetNodeDir(dir, 0)); code != 3 || !strings.Contains(errs, "no node running") {
		t.Fatalf("status of a stopped node: exit %d, %s", code, errs)
	}
	if _, errs, code := cli(t, "run", "--home", filepath.Join(work, "nothing"), "--password-file", pw); code == 0 || !strings.Contains(errs, "config.toml") {
		t.Fatalf("run without a data dir: exit %d, %s", code, errs)
	}
}
