package node

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/gridmint/gridmint/ledger"
)

func TestCommitLog(t *testing.T) {
	var c commitLog
	for h := uint64(1); h <= commitLogBlocks+5; h++ {
		c.add(h, int64(h)*1000, &ledger.Block{Txs: [][]byte{{byte(h)}, {byte(h), 1}}})
	}
	all := c.since(0)
	if len(all) != commitLogBlocks || all[0].Height != 6 || all[len(all)-1].Height != commitLogBlocks+5 {
		t.Fatalf("kept %d from %d", len(all), all[0].Height)
	}
	got := c.since(commitLogBlocks + 3)
	if len(got) != 2 || got[0].Height != commitLogBlocks+4 || got[0].TimeMs != int64(commitLogBlocks+4)*1000 {
		t.Fatalf("since: %+v", got)
	}
	last := uint64(commitLogBlocks + 4)
	h := sha256.Sum256([]byte{byte(last), 1})
	if got[0].Txs[1] != hex.EncodeToString(h[:]) {
		t.Fatalf("tx hash %s", got[0].Txs[1])
	}
	if len(c.since(1<<40)) != 0 {
		t.Fatal("commits above the last height")
	}
}
