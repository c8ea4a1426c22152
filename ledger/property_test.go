package ledger

import (
	"encoding/hex"
	"flag"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/internal/golden"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

var rewriteGolden = flag.Bool("rewrite", false, "rewrite golden files in testdata")

// randomStream drives a chain through nBlocks blocks of random transactions
// from a seed, valid and invalid alike: transfers (some overdrawn), bonds
// and unbonds, site registrations, reading batches (honest, replayed,
// implausible, forged, out of order), REC transfers and retirements of
// random certificates (some not owned, some retired), and evidence. The
// test chain checks the invariants after every block. It returns the state
// root after each block.
func randomStream(t testing.TB, seed uint64, nBlocks int) ([][32]byte, streamStats) {
	return randomStreamWith(t, streamOpts{seed: seed, blocks: nBlocks, check: true})
}

// streamOpts: dir "" is a fresh temporary directory; fs nil is the real
// filesystem; onBlock is called after each commit.
type streamOpts struct {
	seed    uint64
	blocks  int
	check   bool
	dir     string
	fs      vfs.FS
	onBlock func(height uint64, root [32]byte)
}

func randomStreamWith(t testing.TB, o streamOpts) ([][32]byte, streamStats) {
	var st streamStats
	seed, nBlocks := o.seed, o.blocks
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ev := &fakeEvidence{}
	c := newTestChainAt(t, o.dir, nil, Options{Evidence: ev, FS: o.fs})
	c.check = o.check
	users := []*wallet.PrivateKey{}
	for i := 1; i <= 8; i++ {
		users = append(users, testKey(i))
	}
	type home struct {
		owner *wallet.PrivateKey
		chain *siteChain
		next  uint64 // next interval to report
	}
	var homes []*home
	var pendingHomes []*home
	var recIDs []uint64
	var flexIDs []uint64 // ids of posted requests
	var roots [][32]byte
	// Start the clock at 01:00 UTC on day 1, a Monday (19:00 on Sunday in Golden),
	// and step about 30 minutes a block, so that the stream crosses days:
	// sunrise and noon for PV, a weekday of history for the baselines of
	// later flexibility requests, their settlement after the grace.
	c.timeMs = (testGenesisTime + 1*86400 + 1*3600) * 1000
	for b := 0; b < nBlocks; b++ {
		c.timeMs += int64(rng.IntN(3_600_000)) + 1000
		nowSec := c.timeMs / 1000
		var txs [][]byte
		if b == 0 {
			// Twelve homes from the start, so that history builds up.
			for i := 0; i < 12; i++ {
				u := users[i%len(users)]
				sk := testKey(6000 + i)
				txs = append(txs, c.signTx(u, c.registerPayload(u, sk)))
				pendingHomes = append(pendingHomes, &home{owner: u, chain: &siteChain{key: sk}, next: uint64((nowSec-testGenesisTime)/900) - 2})
			}
		}
		for n := rng.IntN(6); n > 0; n-- {
			u := users[rng.IntN(len(users))]
			switch k := rng.IntN(13); k {
			case 0, 1:
				to := users[rng.IntN(len(users))].Address()
				amt := uint64(rng.IntN(1000)) * BaseUnitsPerFLX
				if rng.IntN(8) == 0 {
					amt = 1 << 62 // overdrawn
				}
				txs = append(txs, c.signTx(u, &Transfer{To: to, Amount: amt}))
			case 2:
				cons := testKey(3000 + rng.IntN(4)) // keys collide on purpose
				txs = append(txs, c.signTx(u, &Bond{Amount: uint64(rng.IntN(3000)) * BaseUnitsPerFLX, ConsKey: cons.Public().Compressed()}))
			case 3:
				txs = append(txs, c.signTx(u, &Unbond{Amount: uint64(rng.IntN(2000)) * BaseUnitsPerFLX}))
			case 4:
				if rng.IntN(3) == 0 && len(homes) > 0 {
					// An existing site key: refused.
					h := homes[rng.IntN(len(homes))]
					txs = append(txs, c.signTx(u, c.registerPayload(u, h.chain.key)))
				} else if len(homes)+len(pendingHomes) < 16 {
					sk := testKey(6000 + len(homes) + len(pendingHomes))
					txs = append(txs, c.signTx(u, c.registerPayload(u, sk)))
					first := uint64((nowSec-testGenesisTime)/900) - 2
					pendingHomes = append(pendingHomes, &home{owner: u, chain: &siteChain{key: sk}, next: first})
				}
			case 5, 6, 7:
				if len(homes) == 0 {
					continue
				}
				var rs []meter.Reading
				// One to three homes catch up on every interval that has
				// ended (at most 48 each).
				for m := rng.IntN(3) + 1; m > 0; m-- {
					h := homes[rng.IntN(len(homes))]
					if endSec := testGenesisTime + int64(h.next+1)*900; endSec+16*900 < nowSec && rng.IntN(8) == 0 {
						// Back online after a while: skip to recent intervals
						// (a gap in intervals, not in the hash chain).
						h.next = uint64((nowSec-testGenesisTime)/900) - 3
					}
					for k := 0; k < 48 && testGenesisTime+int64(h.next+1)*900 <= nowSec; k++ {
						// PV in daylight (13:00–01:00 UTC is 07:00–19:00 in
						// Golden), rarely above 4 kW × 15 min or at night.
						pv := uint32(0)
						if hr := (h.next % 96) / 4; hr >= 13 || hr < 1 {
							pv = uint32(rng.IntN(1000))
						}
						if rng.IntN(60) == 0 {
							pv = 1001 + uint32(rng.IntN(100))
						}
						load := uint32(200 + rng.IntN(400))
						r := h.chain.next(h.next, func(r *meter.Reading) {
							r.PVWh = pv
							if pv > load {
								r.GridImportWh, r.GridExportWh = 0, pv-load
							} else {
								r.GridImportWh, r.GridExportWh = load-pv, 0
							}
							if rng.IntN(80) == 0 {
								r.GridExportWh += 50 // implies negative house load
							}
						})
						h.next++
						switch rng.IntN(40) {
						case 0:
							forged := r
							forged.Sig[5] ^= 1
							rs = append(rs, forged) // rejected; the real one follows
						case 1:
							rs = append(rs, r) // replayed within the batch
						}
						rs = append(rs, r)
					}
				}
				if len(rs) > 0 {
					txs = append(txs, c.signTx(u, &Readings{Readings: rs}))
				}
			case 8:
				if len(recIDs) == 0 {
					continue
				}
				id := recIDs[rng.IntN(len(recIDs))]
				wh := uint64(rng.IntN(3000)) + 1
				if rec, ok, _ := c.l.REC(id); ok && rng.IntN(4) != 0 {
					// Mostly from the owner, so that splits and retirements happen.
					for _, cand := range users {
						if cand.Address() == rec.Owner {
							u = cand
						}
					}
					wh = uint64(rng.IntN(int(rec.Wh)+1)) + 1
				}
				if rng.IntN(2) == 0 {
					txs = append(txs, c.signTx(u, &RECTransfer{ID: id, Wh: wh, To: users[rng.IntN(len(users))].Address()}))
				} else {
					txs = append(txs, c.signTx(u, &RECRetire{ID: id, Wh: wh, Beneficiary: "beneficiary"}))
				}
			case 10:
				// A request starting an hour or two from now, small rules so
				// that young sites can have baselines.
				cur := uint64((nowSec - testGenesisTime) / 900)
				start := cur + 12 + uint64(rng.IntN(12))
				terms := FlexTerms{Zone: "CO-DEN", Direction: uint8(1 + rng.IntN(2)), Start: start, End: start + 1 + uint64(rng.IntN(8)),
					TargetW: uint64(500 + rng.IntN(4000)), PriceBaseUnitsPerKWh: uint64(1 + rng.IntN(500_000)), Deadline: start - uint64(rng.IntN(3)),
					Method: uint8(1 + rng.IntN(2)), Rules: BaselineRules{WeekdayX: 1, WeekdayY: 2, WeekendX: 1, WeekendY: 1, LookbackDays: 3}}
				if rng.IntN(6) == 0 {
					terms.Deadline = cur // invalid
				}
				txs = append(txs, c.signTx(u, &FlexRequestTx{Terms: terms}))
			case 11, 12:
				if len(flexIDs) == 0 || len(homes) == 0 {
					continue
				}
				// Mostly one of the newest requests, which may still be open.
				id := flexIDs[max(len(flexIDs)-1-rng.IntN(3), 0)]
				if rng.IntN(4) == 0 {
					id = flexIDs[rng.IntN(len(flexIDs))] + uint64(rng.IntN(2)) // sometimes unknown
				}
				h := homes[rng.IntN(len(homes))]
				sender := h.owner
				if rng.IntN(5) == 0 {
					sender = u
				}
				if k == 11 || rng.IntN(3) != 0 {
					txs = append(txs, c.signTx(sender, &FlexCommitTx{RequestID: id, Site: h.chain.key.Address(),
						CommittedW: uint64(100 + rng.IntN(2000)), BondBaseUnits: uint64(rng.IntN(2_000_000))}))
				} else if rng.IntN(2) == 0 {
					txs = append(txs, c.signTx(sender, &FlexCancelTx{RequestID: id, Site: h.chain.key.Address()}))
				} else {
					txs = append(txs, c.signTx(sender, &FlexCancelTx{RequestID: id}))
				}
			case 9:
				ev.cons = testKey(3000 + rng.IntN(5)).Address()
				ev.height = c.l.Height()
				if ev.height == 0 {
					continue
				}
				txs = append(txs, c.signTx(u, &Evidence{Data: []byte{byte(rng.IntN(256))}}))
			}
		}
		// Most blocks also carry an honest batch with every home's ready
		// intervals, as the network would: homes keep up, so baseline days
		// are complete and flexibility requests can be paid.
		if len(homes) > 0 && rng.IntN(4) != 0 {
			var rs []meter.Reading
			for _, h := range homes {
				for testGenesisTime+int64(h.next+1)*900 <= nowSec {
					pv := uint32(0)
					if hr := (h.next % 96) / 4; hr >= 13 || hr < 1 {
						pv = uint32(rng.IntN(1000))
					}
					load := uint32(200 + rng.IntN(400))
					rs = append(rs, h.chain.next(h.next, func(r *meter.Reading) {
						r.PVWh = pv
						if pv > load {
							r.GridImportWh, r.GridExportWh = 0, pv-load
						} else {
							r.GridImportWh, r.GridExportWh = load-pv, 0
						}
					}))
					h.next++
				}
			}
			if len(rs) > 0 && len(rs) <= 1024 {
				txs = append(txs, c.signTx(users[rng.IntN(len(users))], &Readings{Readings: rs}))
			}
		}
		// Owners sign whatever their site is, so a tx from a user that
		// a site's owner did not register is still fine: readings may come
		// from anyone.
		res := c.block(0, txs...)
		homes = append(homes, pendingHomes...)
		pendingHomes = nil
		for _, e := range res.Events {
			switch e.Kind {
			case EventRECIssued:
				recIDs = append(recIDs, e.ID)
				st.recsIssued++
			case EventSlashed:
				st.slashes++
			case EventFlexPosted:
				flexIDs = append(flexIDs, e.ID)
			case EventFlexSettled:
				st.flexSettled++
			case EventFlexPayout:
				if e.Amount > 0 {
					st.flexPaid++
				}
			}
		}
		for _, rc := range res.Receipts {
			if rc.Code == 0 {
				st.txOK[rc.Type]++
			} else {
				st.txFailed[rc.Type]++
			}
			for _, rr := range rc.Readings {
				if rr.Reason == RejectNone {
					st.readingsAccepted++
				} else {
					st.readingsRejected++
				}
			}
		}
		for _, rc := range res.Receipts {
			if rc.Type == TxRECTransfer && rc.Code == 0 || rc.Type == TxRECRetire && rc.Code == 0 {
				// Splits create ids; the next id is known only to the chain,
				// so probe a few beyond the last known.
				for id := recIDs[len(recIDs)-1] + 1; ; id++ {
					if _, ok, _ := c.l.REC(id); !ok {
						break
					}
					recIDs = append(recIDs, id)
				}
			}
		}
		roots = append(roots, c.l.StateRoot())
		if o.onBlock != nil {
			o.onBlock(c.l.Height(), c.l.StateRoot())
		}
	}
	if o.check {
		// Every settlement recomputes, from the stored readings alone, to
		// the same bytes.
		ids, err := c.l.SettledRequests()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			a, err := c.l.AuditRequest(id)
			if err != nil {
				t.Fatalf("audit of request %d: %v", id, err)
			}
			if !a.Match {
				t.Fatalf("audit of request %d disagrees with the chain:\nchain %+v\naudit %+v", id, a.Chain, a.Recomputed)
			}
			st.audited++
		}
	}
	return roots, st
}

type streamStats struct {
	txOK, txFailed                     [32]int
	readingsAccepted, readingsRejected int
	recsIssued, slashes                int
	flexSettled, flexPaid, audited     int
}

// TestRandomStreams keeps the invariants over random transaction streams.
func TestRandomStreams(t *testing.T) {
	seeds := 6
	blocks := 120
	if testing.Short() {
		seeds, blocks = 2, 60
	}
	var all streamStats
	for s := 1; s <= seeds; s++ {
		_, st := randomStream(t, uint64(s), blocks)
		for i := range st.txOK {
			all.txOK[i] += st.txOK[i]
			all.txFailed[i] += st.txFailed[i]
		}
		all.readingsAccepted += st.readingsAccepted
		all.readingsRejected += st.readingsRejected
		all.recsIssued += st.recsIssued
		all.slashes += st.slashes
		all.flexSettled += st.flexSettled
		all.flexPaid += st.flexPaid
		all.audited += st.audited
	}
	t.Logf("%+v", all)
	if testing.Short() {
		return // two short streams need not reach every path
	}
	// The streams must reach every path, or the invariants were checked on
	// nothing.
	for _, typ := range []TxType{TxTransfer, TxBond, TxUnbond, TxRegisterSite, TxReadings, TxRECTransfer, TxRECRetire, TxEvidence,
		TxFlexRequest, TxFlexCommit, TxFlexCancel} {
		if all.txOK[typ] == 0 || all.txFailed[typ] == 0 && typ != TxRegisterSite && typ != TxReadings {
			t.Errorf("%s: %d succeeded, %d failed: the stream does not exercise both outcomes", typ, all.txOK[typ], all.txFailed[typ])
		}
	}
	if all.readingsAccepted == 0 || all.readingsRejected == 0 || all.recsIssued == 0 || all.slashes == 0 || all.flexSettled == 0 || all.flexPaid == 0 {
		t.Errorf("stream too tame: %+v", all)
	}
}

// TestDeterminism: the same seed gives the same roots, and the roots match
// the golden file, which is the same on every architecture (make
// cross-test runs this test as linux/arm64 and linux/arm).
func TestDeterminism(t *testing.T) {
	a, _ := randomStream(t, 42, 80)
	b, _ := randomStream(t, 42, 80)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("block %d: roots differ between two runs of one seed", i+1)
		}
	}
	golden.Check(t, "testdata/golden_root_seed42_80blocks.txt", hex.EncodeToString(a[len(a)-1][:]), *rewriteGolden,
		"state root after 80 blocks of seed 42")
}
