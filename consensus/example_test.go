package consensus_test

import (
	"fmt"
	"os"

	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/consensus/wal"
	"github.com/gridmint/gridmint/wallet"
)

// chain is a toy application: values are "block N".
type chain struct{ height uint64 }

func (c *chain) ProposeValue(h uint64, _ *consensus.Commit) ([]byte, error) {
	return []byte(fmt.Sprintf("block %d", h)), nil
}

func (c *chain) ValidateValue(h uint64, v []byte) error {
	if string(v) != fmt.Sprintf("block %d", h) {
		return fmt.Errorf("unexpected value %q", v)
	}
	return nil
}

type oneSet struct{ s *consensus.ValidatorSet }

func (o oneSet) ValidatorSet(uint64) (*consensus.ValidatorSet, error) { return o.s, nil }

// Example shows the loop a node runs around the engine: feed it ticks and
// messages; for each Ready persist the WAL (fsynced where needed) before
// sending, apply decisions, then Advance; compact the WAL now and then.
// A lone validator holds all the power, so it decides on its own.
func Example() {
	key, _ := wallet.PrivateKeyFromHex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	set, _ := consensus.NewValidatorSet(1, []consensus.Validator{{Address: key.Address(), PubKey: key.Public(), Power: 10}})
	dir, _ := os.MkdirTemp("", "wal")
	defer os.RemoveAll(dir)
	log, _ := wal.Open(wal.OSFS{}, dir, "consensus.wal")
	defer log.Close()

	app := &chain{}
	eng, _ := consensus.NewEngine(consensus.Config{ChainID: "gridmint-example", App: app,
		Sets: oneSet{set}, Signer: key, StartHeight: app.height + 1})
	entries, _ := consensus.ReadWAL(log)
	nowMs := int64(1_700_000_000_000)
	_ = eng.Start(nowMs, entries)
	for app.height < 3 {
		// (A lone validator decides each height as soon as the previous
		// one is applied, so this loop stops itself at height 3.)
		for eng.HasReady() && app.height < 3 {
			rd := eng.Ready()
			if err := consensus.Persist(log, &rd); err != nil {
				panic(err) // a node stops: it must not send what it could not persist
			}
			// ... broadcast rd.Messages to peers here ...
			for _, d := range rd.Decisions {
				app.height = d.Height
				fmt.Printf("height %d: %s, %d signature(s)\n", d.Height, d.Value, len(d.Commit.Sigs))
			}
			eng.Advance()
		}
		_ = consensus.CompactWAL(log, app.height)
		nowMs += 100
		_ = eng.Tick(nowMs)
	}
	// Output:
	// height 1: block 1, 1 signature(s)
	// height 2: block 2, 1 signature(s)
	// height 3: block 3, 1 signature(s)
}
