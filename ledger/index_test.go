package ledger

import (
	"errors"
	"testing"

	"github.com/gridmint/gridmint/meter"
)

func TestIndexes(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	alice, bob := testKey(1), testKey(2)
	t1 := c.signTx(alice, &Transfer{To: bob.Address(), Amount: 1})
	c.ok(t1)
	sk := c.registerSite(alice, 1)
	c.timeMs = c.intervalEndMs(70) + 1000
	sc := &siteChain{key: sk}
	c.ok(c.signTx(bob, &Readings{Readings: []meter.Reading{sc.next(70, nil)}}))

	tx, _ := DecodeTx(t1)
	loc, err := c.l.FindTx(tx.Hash())
	if err != nil || loc.Height != 1 || loc.Index != 0 {
		t.Fatalf("FindTx: %+v %v", loc, err)
	}
	if _, err := c.l.FindTx([32]byte{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing tx: %v", err)
	}
	// Bob: received the transfer (height 1), sent the readings (height 3).
	got, err := c.l.TxsByAddress(bob.Address(), 10)
	if err != nil || len(got) != 2 || got[0].Height != 3 || got[1].Height != 1 || got[1].Hash != tx.Hash() {
		t.Fatalf("bob's txs: %+v %v", got, err)
	}
	if got, _ := c.l.TxsByAddress(bob.Address(), 1); len(got) != 1 {
		t.Fatal("limit")
	}
	// The site: registered at height 2, read at height 3.
	got, err = c.l.TxsBySite(sk.Address(), 10)
	if err != nil || len(got) != 2 || got[0].Height != 3 || got[1].Height != 2 {
		t.Fatalf("site txs: %+v %v", got, err)
	}
	blk, _ := c.l.Block(3)
	if rtx, _ := DecodeTx(blk.Txs[0]); rtx.Hash() != got[0].Hash {
		t.Fatal("site index hash")
	}
}
