package node

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// forceIntoPool puts raw into the mempool without CheckTx, as a proposer
// that does not check (or a bug in the mempool) would: the next block this
// node proposes carries it.
func forceIntoPool(m *Mempool, raw []byte) {
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		panic(err)
	}
	if err := m.insert(tx, raw); err != nil {
		panic(err)
	}
}

// findTx returns the height and receipt of the committed tx hash h in
// node n's chain.
func findTx(t *testing.T, n *Node, h [32]byte) (uint64, *ledger.Receipt) {
	t.Helper()
	l := n.Ledger()
	for height := uint64(1); height <= l.Height(); height++ {
		res, err := l.Results(height)
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.Receipts {
			if res.Receipts[i].TxHash == h {
				return height, &res.Receipts[i]
			}
		}
	}
	return 0, nil
}

// TestHostileTxsOnDevnet: on a 4-validator deterministic devnet the funded
// utility submits, through the mempool, the overflowing flexibility request
// of issue 15 (2^40 W at 2^30 base units per kWh over 96 intervals) and
// other extreme transactions, and then gets the overflowing request into a
// proposed block directly (past every mempool's CheckTx). No node stops;
// the mempools refuse what overflows, with the reason; the forced request
// is committed as a failed transaction that paid its fee; the chain keeps
// committing and every validator agrees on the blocks and roots.
func TestHostileTxsOnDevnet(t *testing.T) {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 1, Seed: 21, Blocks: 1 << 40, Deterministic: true, BlockIntervalMs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= 3 }) {
		t.Fatal("no progress")
	}
	u := d.utility
	nonce := func() uint64 {
		acc, err := d.nodes[0].Ledger().Account(u.Address())
		if err != nil {
			t.Fatal(err)
		}
		return acc.Nonce
	}
	sign := func(n uint64, p ledger.Payload) []byte {
		tx := &ledger.Tx{Nonce: n, Fee: d.genesis.Params.MinFee, Payload: p}
		if err := tx.Sign(u, d.genesis.ChainID); err != nil {
			t.Fatal(err)
		}
		return tx.Encode()
	}
	cur := uint64((d.net.Now()/1000 - d.genesis.GenesisTime) / int64(d.genesis.Params.IntervalSeconds))
	terms := ledger.FlexTerms{Zone: devnetZone, Direction: ledger.FlexDown, Start: cur + 8, End: cur + 8 + 96,
		TargetW: 1 << 40, PriceBaseUnitsPerKWh: 1 << 30, Deadline: cur + 4, Method: uint8(baseline.MethodXofY),
		UTCOffsetSeconds: devnetUTCOffset, Rules: ledger.BaselineRules{WeekdayX: 1, WeekdayY: 1, WeekendX: 1, WeekendY: 1, LookbackDays: 3}}
	overflow := &ledger.FlexRequestTx{Terms: terms}
	if _, err := d.nodes[0].Ledger().CheckTx(sign(nonce(), overflow)); !errors.Is(err, ledger.ErrOverflow) {
		t.Fatalf("CheckTx of the overflowing request: %v", err)
	}

	// 1. Through the mempool. The overflowing request and a commitment of
	// 2^64 − 1 W are refused by every validator's CheckTx (counted as bad
	// input); a transfer and a bond of 2^64 − 1 base units pass it (only
	// the balance, which is state, refuses them) and fail in a block.
	badBefore := d.badTx()
	n0 := nonce()
	refused := [][]byte{
		sign(n0, overflow),
		sign(n0, &ledger.FlexCommitTx{RequestID: 1, Site: wallet.Address{1}, CommittedW: math.MaxUint64, BondBaseUnits: math.MaxUint64}),
	}
	for _, raw := range refused {
		d.client.Broadcast(TopicTx, raw)
	}
	transfer := sign(n0, &ledger.Transfer{To: wallet.Address{7}, Amount: math.MaxUint64})
	bond := sign(n0+1, &ledger.Bond{Amount: math.MaxUint64, ConsKey: derivedKey(21, "hostile-cons", 0).Public().Compressed()})
	d.client.Broadcast(TopicTx, transfer)
	d.client.Broadcast(TopicTx, bond)
	h := d.height(0)
	if !d.runUntil(t, 600_000, func() bool { return nonce() == n0+2 && d.height(0) >= h+2 }) {
		t.Fatalf("the extreme transfer and bond were not committed: nonce %d", nonce())
	}
	if got := d.badTx() - badBefore; got != 4*uint64(len(refused)) {
		t.Fatalf("%d refusals counted, want %d", got, 4*len(refused))
	}
	for _, raw := range refused {
		tx, _ := ledger.DecodeTx(raw)
		if height, _ := findTx(t, d.nodes[0], tx.Hash()); height != 0 {
			t.Fatalf("a refused tx was committed at %d", height)
		}
	}
	for _, c := range []struct {
		raw  []byte
		want error
	}{{transfer, ledger.ErrInsufficientFunds}, {bond, ledger.ErrInsufficientFunds}} {
		tx, _ := ledger.DecodeTx(c.raw)
		_, rc := findTx(t, d.nodes[0], tx.Hash())
		if rc == nil || rc.Code == 0 || !errors.Is(ledger.TxErrors[rc.Code], c.want) {
			t.Fatalf("%s: receipt %+v", tx.Payload.Type(), rc)
		}
	}

	// 2. Straight into the proposer's block: during the pause after a
	// block, every validator's pool gets the overflowing request without
	// CheckTx, so whichever proposes next carries it.
	forced := sign(nonce(), overflow)
	paused := func() bool {
		hh := d.height(0)
		for _, n := range d.nodes {
			if n.Ledger().Height() != hh || n.advanceAt == 0 {
				return false
			}
		}
		return true
	}
	if !d.runUntil(t, 600_000, paused) {
		t.Fatal("the validators never paused together")
	}
	before, err := d.nodes[0].Ledger().Account(u.Address())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range d.nodes {
		forceIntoPool(n.Pool, forced)
	}
	ftx, _ := ledger.DecodeTx(forced)
	h = d.height(0)
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= h+1 }) {
		t.Fatal("no block after the forced request")
	}
	height, rc := findTx(t, d.nodes[0], ftx.Hash())
	if height != h+1 || rc == nil {
		t.Fatalf("the forced request is not in block %d (found at %d)", h+1, height)
	}
	if !errors.Is(ledger.TxErrors[rc.Code], ledger.ErrFlexTerms) || !strings.Contains(rc.Error, "does not fit") || rc.Fee != d.genesis.Params.MinFee {
		t.Fatalf("receipt of the forced request: code %d %q fee %d", rc.Code, rc.Error, rc.Fee)
	}
	t.Logf("block %d carries the forced request, failed: %s", height, rc.Error)
	after, _ := d.nodes[0].Ledger().Account(u.Address())
	if after.Balance != before.Balance-d.genesis.Params.MinFee || after.Nonce != before.Nonce+1 {
		t.Fatalf("utility %+v → %+v: want the fee paid and nothing else", before, after)
	}
	if _, ok, _ := d.nodes[0].Ledger().FlexRequest(1); ok {
		t.Fatal("the overflowing request was stored")
	}

	// 3. The chain goes on, and every validator agrees.
	h = d.height(0)
	if !d.runUntil(t, 600_000, func() bool {
		return d.height(0) >= h+5 && d.height(1) >= h+5 && d.height(2) >= h+5 && d.height(3) >= h+5
	}) {
		t.Fatalf("the chain stopped: heights %d %d %d %d", d.height(0), d.height(1), d.height(2), d.height(3))
	}
	common := min(d.height(0), d.height(1), d.height(2), d.height(3))
	want, _ := d.nodes[0].Ledger().Block(common)
	for i := 1; i < 4; i++ {
		b, err := d.nodes[i].Ledger().Block(common)
		if err != nil || b.Hash() != want.Hash() {
			t.Fatalf("validator %d disagrees at height %d: %v", i, common, err)
		}
		if _, rc := findTx(t, d.nodes[i], ftx.Hash()); rc == nil || rc.Code != 0 && rc.Error == "" {
			t.Fatalf("validator %d: receipt %+v", i, rc)
		}
	}
	if s, err := d.summarize(); err != nil || !s.RootsAgree {
		t.Fatalf("roots agree %v, %v", s != nil && s.RootsAgree, err)
	}
}

// badTx is the number of refused transactions counted by all validators.
func (d *Devnet) badTx() uint64 {
	var n uint64
	for _, v := range d.nodes {
		n += v.Bad[TopicTx]
	}
	return n
}

// extremeU64 draws 0, 1, max−1, max, 2^k ± 1 or a uniform value up to max.
func extremeU64(r *rand.Rand, max uint64) uint64 {
	k := uint(r.IntN(64))
	var v uint64
	switch r.IntN(7) {
	case 0:
		v = 0
	case 1:
		v = 1
	case 2:
		v = max - 1
	case 3:
		v = max
	case 4:
		v = uint64(1)<<k + 1
	case 5:
		v = uint64(1)<<k - 1
	default:
		v = r.Uint64()
	}
	return min(v, max)
}

// extremePayload is a payload of type typ (0..11) whose numbers are
// extreme draws, about a valid skeleton where one is needed to reach the
// arithmetic (zone, keys, signatures).
func (d *Devnet) extremePayload(r *rand.Rand, typ int, from *wallet.PrivateKey, cur uint64, serial int) ledger.Payload {
	x := func(template uint64) uint64 {
		if r.IntN(2) == 0 {
			return extremeU64(r, math.MaxUint64)
		}
		return template
	}
	x32 := func(template uint32) uint32 {
		if r.IntN(2) == 0 {
			return uint32(extremeU64(r, math.MaxUint32))
		}
		return template
	}
	site := derivedKey(77, "hostile-site", serial)
	switch typ {
	case 0:
		return &ledger.Transfer{To: wallet.Address{byte(serial)}, Amount: x(1000)}
	case 1:
		return &ledger.Bond{Amount: x(5000), ConsKey: derivedKey(77, "hostile-cons", 0).Public().Compressed()}
	case 2:
		return &ledger.Unbond{Amount: x(1000)}
	case 3, 4:
		devs := []ledger.Device{{Kind: ledger.DevicePV, NameplateW: x32(5000)},
			{Kind: ledger.DeviceBattery, NameplateW: x32(5000), StorageWh: x32(13_500)}, {Kind: ledger.DeviceMeter, NameplateW: x32(25_000)}}
		if typ == 4 {
			return &ledger.UpdateSite{Site: derivedKey(77, "hostile-site", 0).Address(), Zone: devnetZone, Devices: devs}
		}
		pop, _ := site.SignTyped(ledger.SitePoPTag, d.genesis.ChainID, ledger.SitePoPBody(from.Address()))
		return &ledger.RegisterSite{SiteKey: site.Public().Compressed(), PoP: pop, Zone: devnetZone, LatE6: 38_580_000, LonE6: -121_490_000, Devices: devs}
	case 5:
		// Readings of the first hostile site (registered or not), extreme channels.
		sk := derivedKey(77, "hostile-site", 0)
		var rs []meter.Reading
		for i := 0; i < 3; i++ {
			m := meter.Reading{Site: sk.Address(), Interval: x(cur - 1), Counter: max(x(uint64(i+1)), 1),
				GridImportWh: x32(300), GridExportWh: x32(0), PVWh: x32(100), BatteryChargeWh: x32(0),
				BatteryDischargeWh: x32(0), EVWh: x32(0), BatterySoCPpm: uint32(min(x(500_000), 1_000_000))}
			m.Sign(sk, d.genesis.ChainID)
			rs = append(rs, m)
		}
		return &ledger.Readings{Readings: rs}
	case 6:
		return &ledger.RECTransfer{ID: x(1), Wh: x(10), To: wallet.Address{9}}
	case 7:
		return &ledger.RECRetire{ID: x(1), Wh: x(10), Beneficiary: "hostile"}
	case 8:
		data := make([]byte, 1+r.IntN(64))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		return &ledger.Evidence{Data: data}
	case 9:
		start := x(cur + 8)
		return &ledger.FlexRequestTx{Terms: ledger.FlexTerms{Zone: devnetZone, Direction: ledger.FlexDown, Start: start, End: start + x(8),
			TargetW: x(2000), PriceBaseUnitsPerKWh: x(devnetPriceBase), Deadline: x(cur + 4), Method: uint8(baseline.MethodXofY),
			UTCOffsetSeconds: devnetUTCOffset, Rules: ledger.BaselineRules{WeekdayX: 1, WeekdayY: 1, WeekendX: 1, WeekendY: 1, LookbackDays: uint16(x(3))}}}
	case 10:
		return &ledger.FlexCommitTx{RequestID: x(1), Site: derivedKey(77, "hostile-site", 0).Address(), CommittedW: x(1000), BondBaseUnits: x(100_000)}
	}
	return &ledger.FlexCancelTx{RequestID: x(1)}
}

// TestExtremeTxsOnDevnet: seeded random extreme values in every
// transaction type go from the funded utility through the mempools of a
// 4-validator devnet; what CheckTx refuses is put straight into the pools,
// so that it reaches Propose and Execute too. No node stops, every
// transaction is in the next block with code 0 or a failure with its
// reason (never a recovered panic), the chain goes on, and the validators
// agree on every block and root.
func TestExtremeTxsOnDevnet(t *testing.T) {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 1, Seed: 22, Blocks: 1 << 40, Deterministic: true, BlockIntervalMs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := rand.New(rand.NewPCG(22, 15))
	u := d.utility
	paused := func() bool {
		hh := d.height(0)
		for _, n := range d.nodes {
			if n.Ledger().Height() != hh || n.advanceAt == 0 {
				return false
			}
		}
		return hh >= 2
	}
	var outcomes [3]int // ok, failed, refused by CheckTx (then forced)
	serial := 0
	for round := 0; round < 6; round++ {
		if !d.runUntil(t, 600_000, paused) {
			t.Fatalf("round %d: the validators never paused together", round)
		}
		acc, _ := d.nodes[0].Ledger().Account(u.Address())
		nonce := acc.Nonce
		cur := uint64((d.net.Now()/1000 - d.genesis.GenesisTime) / int64(d.genesis.Params.IntervalSeconds))
		var batch [][32]byte
		for typ := 0; typ < 12; typ++ {
			tx := &ledger.Tx{Nonce: nonce, Fee: d.genesis.Params.MinFee, Payload: d.extremePayload(r, typ, u, cur, serial)}
			serial++
			if err := tx.Sign(u, d.genesis.ChainID); err != nil {
				t.Fatal(err)
			}
			raw := tx.Encode()
			if _, err := ledger.DecodeTx(raw); err != nil {
				d.client.Broadcast(TopicTx, raw) // not canonical: refused by all, never a nonce
				continue
			}
			if _, err := d.nodes[0].Ledger().CheckTx(raw); err != nil {
				if errors.Is(err, ledger.ErrTxPanicked) {
					t.Fatalf("CheckTx recovered a panic: %v", err)
				}
				outcomes[2]++
				for _, n := range d.nodes {
					forceIntoPool(n.Pool, raw)
				}
			} else {
				d.client.Broadcast(TopicTx, raw)
			}
			batch = append(batch, tx.Hash())
			nonce++
		}
		h := d.height(0)
		if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= h+1 }) {
			t.Fatalf("round %d: no block after the batch", round)
		}
		for _, hash := range batch {
			height, rc := findTx(t, d.nodes[0], hash)
			switch {
			case height != h+1 || rc == nil:
				t.Fatalf("round %d: tx %x not in block %d (at %d)", round, hash[:4], h+1, height)
			case rc.Code == 0 && rc.Error == "":
				outcomes[0]++
			case rc.Code != 0 && rc.Error != "" && !errors.Is(ledger.TxErrors[min(int(rc.Code), len(ledger.TxErrors)-1)], ledger.ErrTxPanicked):
				outcomes[1]++
			default:
				t.Fatalf("%s: receipt code %d %q", rc.Type, rc.Code, rc.Error)
			}
		}
	}
	t.Logf("%d succeeded, %d failed with a reason, %d refused by CheckTx and forced into a block", outcomes[0], outcomes[1], outcomes[2])
	if outcomes[0] == 0 || outcomes[1] == 0 || outcomes[2] == 0 {
		t.Fatalf("outcomes %v: the draws did not reach every path", outcomes)
	}
	h := d.height(0)
	if !d.runUntil(t, 600_000, func() bool { return min(d.height(0), d.height(1), d.height(2), d.height(3)) >= h+5 }) {
		t.Fatalf("the chain stopped: heights %d %d %d %d", d.height(0), d.height(1), d.height(2), d.height(3))
	}
	common := min(d.height(0), d.height(1), d.height(2), d.height(3))
	want, _ := d.nodes[0].Ledger().Block(common)
	for i := 1; i < 4; i++ {
		if b, err := d.nodes[i].Ledger().Block(common); err != nil || b.Hash() != want.Hash() {
			t.Fatalf("validator %d disagrees at height %d: %v", i, common, err)
		}
	}
	if s, err := d.summarize(); err != nil || !s.RootsAgree {
		t.Fatalf("roots agree %v, %v", s != nil && s.RootsAgree, err)
	}
}
