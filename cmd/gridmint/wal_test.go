package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/consensus/privval"
	"github.com/gridmint/gridmint/consensus/wal"
	"github.com/gridmint/gridmint/node"
)

// TestWALRepair: `gridmint wal repair` on a home whose WAL is corrupt in
// its second of three synced records keeps the first, saves the original,
// says so, and a second run finds nothing to repair; without a guard file
// it refuses and changes nothing.
func TestWALRepair(t *testing.T) {
	for _, args := range [][]string{{"wal", "--help"}, {"wal", "repair", "--help"}} {
		if out := mustCLI(t, args...); !strings.Contains(out, "Usage:") || !strings.Contains(out, "repair") {
			t.Errorf("%v: %s", args, out)
		}
	}
	home := t.TempDir()
	p := node.PathsOf(home)
	dir := filepath.Dir(p.WAL)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := wal.Open(wal.OSFS{}, dir, filepath.Base(p.WAL))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"first", "second", "third"} {
		if err := l.Append([][]byte{[]byte(r)}, true); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	data, err := os.ReadFile(p.WAL)
	if err != nil {
		t.Fatal(err)
	}
	off := strings.Index(string(data), "second") - 12 // its synced frame's header
	data[off+13] ^= 1
	if err := os.WriteFile(p.WAL, data, 0o600); err != nil {
		t.Fatal(err)
	}

	_, errs, code := cli(t, "wal", "repair", "--home", home)
	if code == 0 || !strings.Contains(errs, "double-sign guard") {
		t.Fatalf("repair without a guard: exit %d, %s", code, errs)
	}
	if now, _ := os.ReadFile(p.WAL); string(now) != string(data) {
		t.Fatal("the refused repair changed the WAL")
	}
	if _, err := privval.Create(wal.OSFS{}, dir, filepath.Base(p.Guard), nil, privval.State{}); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, "wal", "repair", "--home", home)
	backup := fmt.Sprintf("%s.corrupt-%d", p.WAL, off)
	for _, want := range []string{fmt.Sprintf("corrupt at byte %d", off), "kept:    1 records", "1 intact records after", backup, p.Guard} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if saved, err := os.ReadFile(backup); err != nil || string(saved) != string(data) {
		t.Fatalf("backup: %v", err)
	}
	l, err = wal.Open(wal.OSFS{}, dir, filepath.Base(p.WAL))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := l.ReadAll()
	l.Close()
	if len(recs) != 1 || string(recs[0]) != "first" {
		t.Fatalf("after the repair: %q", recs)
	}
	if out := mustCLI(t, "wal", "repair", "--home", home); !strings.Contains(out, "nothing to repair") {
		t.Fatalf("second run: %s", out)
	}
}
