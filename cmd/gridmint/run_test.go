package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	out := mustCLI(t, "testnet", "init", "--validators", "3", "--dir", dir, "--port", "30001", "--password-file", pw, "--light-kdf")
	if !strings.Contains(out, "3 validators") {
		t.Fatalf("output: %s", out)
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
