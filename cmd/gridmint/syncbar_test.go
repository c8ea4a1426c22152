package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint/node"
)

// TestSyncBar: the bar appears when block sync starts, follows the height
// and a target that moves, and leaves a summary line when caught up;
// nothing is drawn for a node that is not syncing.
func TestSyncBar(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(1_800_000_000, 0)
	b := newSyncBar(&out)
	b.now = func() time.Time { return clock }
	b.update(&node.RunStatus{Height: 5, BlockSync: "idle"})
	b.update(nil)
	if out.Len() != 0 || b.bar != nil {
		t.Fatalf("drawn while not syncing: %q", out.String())
	}
	b.update(&node.RunStatus{Height: 10, BlockSync: "syncing", SyncTarget: 2_000})
	if b.bar == nil || b.bar.GetMax64() != 2_000 {
		t.Fatal("no bar when block sync started")
	}
	b.update(&node.RunStatus{Height: 900, BlockSync: "syncing", SyncTarget: 2_400})
	if b.bar.GetMax64() != 2_400 || b.bar.State().CurrentNum != 900 {
		t.Fatalf("bar state %+v max %d", b.bar.State(), b.bar.GetMax64())
	}
	clock = clock.Add(1500 * time.Millisecond)
	b.update(&node.RunStatus{Height: 2_400, BlockSync: "caught-up", SyncTarget: 2_400})
	if b.bar != nil {
		t.Fatal("bar left after catching up")
	}
	if s := out.String(); !strings.Contains(s, "block sync") || !strings.Contains(s, "block sync: 2390 blocks to height 2400 in 1.5s") {
		t.Fatalf("output %q", s)
	}
}
