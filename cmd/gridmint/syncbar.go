package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/gridmint/gridmint/node"
)

// syncBar draws block sync's progress on a terminal while `gridmint run`
// catches up (new, or back from a power cut): height of target, blocks
// per second, time left. It appears when block sync starts and is
// cleared, with a one-line summary, when the node has caught up.
type syncBar struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	from  uint64
	began time.Time
	now   func() time.Time
}

func newSyncBar(w io.Writer) *syncBar { return &syncBar{w: w, now: time.Now} }

// update takes one status of the running node.
func (b *syncBar) update(st *node.RunStatus) {
	if st == nil {
		return
	}
	syncing := st.BlockSync == "syncing" && st.SyncTarget > st.Height
	switch {
	case syncing && b.bar == nil:
		b.from, b.began = st.Height, b.now()
		b.bar = progressbar.NewOptions64(int64(st.SyncTarget), progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription("block sync"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("blocks"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(true))
		_ = b.bar.Set64(int64(st.Height))
	case syncing:
		if int64(st.SyncTarget) != b.bar.GetMax64() {
			b.bar.ChangeMax64(int64(st.SyncTarget))
		}
		_ = b.bar.Set64(int64(st.Height))
	case b.bar != nil:
		_ = b.bar.Finish()
		b.bar = nil
		d := b.now().Sub(b.began)
		fmt.Fprintf(b.w, "block sync: %d blocks to height %d in %s\n", st.Height-b.from, st.Height, d.Round(time.Millisecond))
	}
}

// follow polls the node's status until ctx ends.
func (b *syncBar) follow(ctx context.Context, status func() *node.RunStatus) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.update(status())
		}
	}
}
