package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

const (
	testChainID = "gridmint-test"
	// testGenesisTime is 2026-06-21 00:00 UTC (17:00 the day before in
	// Golden, Colorado, where test sites are).
	testGenesisTime = 1782000000
	goldenLatE6     = 39_742_476
	goldenLonE6     = -105_178_600
)

// testKey returns a deterministic key: the i-th of a seeded stream.
func testKey(i int) *wallet.PrivateKey {
	var seed [32]byte
	seed[0], seed[1] = byte(i), byte(i>>8)
	seed[31] = 0x5e
	k, err := wallet.GenerateKeyFrom(rand.NewChaCha8(seed))
	if err != nil {
		panic(err)
	}
	return k
}

// testChain drives a ledger in a temporary directory: it signs
// transactions with tracked nonces, makes blocks with a clock it advances,
// and checks the invariants after every block.
type testChain struct {
	t      testing.TB
	dir    string
	g      *Genesis
	l      *Ledger
	opts   Options
	timeMs int64
	nonces map[wallet.Address]uint64
	// acceptedPV is the PV Wh of every accepted reading, per site: the
	// ground truth for "each Wh certified once".
	acceptedPV map[wallet.Address]uint64
	// retired keeps every retired certificate's encoding: it must never change.
	retired map[uint64][]byte
	check   bool
	// trackPV: the chain was built by this harness from genesis, so
	// acceptedPV is complete.
	trackPV bool
}

// validatorKey and validatorCons are the genesis validator's account and
// consensus keys; users are testKey(1..).
var (
	validatorKey  = testKey(1000)
	validatorCons = testKey(1001)
)

func testGenesis(mod func(*Genesis)) *Genesis {
	g := &Genesis{
		ChainID:     testChainID,
		GenesisTime: testGenesisTime,
		Params:      DefaultParams(),
		Validators: []GenesisValidator{{
			Address: validatorKey.Address(), ConsensusKey: validatorCons.Public().Compressed(),
			Stake: 10_000 * BaseUnitsPerFLX,
		}},
	}
	g.Params.EpochBlocks = 10
	g.Params.UnbondingBlocks = 20
	g.Params.EvidenceMaxAgeBlocks = 15
	g.Params.JailBlocks = 5
	for i := 1; i <= 8; i++ {
		g.Accounts = append(g.Accounts, GenesisAccount{Address: testKey(i).Address(), Balance: 100_000 * BaseUnitsPerFLX})
	}
	if mod != nil {
		mod(g)
	}
	return g
}

func newTestChain(t testing.TB, g *Genesis, opts Options) *testChain {
	t.Helper()
	return newTestChainAt(t, "", g, opts)
}

// newTestChainAt opens the chain in dir ("" for a temporary directory).
func newTestChainAt(t testing.TB, dir string, g *Genesis, opts Options) *testChain {
	t.Helper()
	if g == nil {
		g = testGenesis(nil)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	c := &testChain{t: t, dir: dir, g: g, opts: opts, timeMs: g.GenesisTime * 1000,
		nonces: map[wallet.Address]uint64{}, acceptedPV: map[wallet.Address]uint64{},
		retired: map[uint64][]byte{}, check: true}
	l, err := Open(c.dir, g, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.l = l
	c.trackPV = l.Height() == 0
	t.Cleanup(func() { c.l.Close() })
	c.checkInvariants()
	return c
}

// signTx makes a signed transaction from k with the next nonce.
func (c *testChain) signTx(k *wallet.PrivateKey, p Payload) []byte {
	c.t.Helper()
	tx := &Tx{Nonce: c.nonces[k.Address()], Fee: c.g.Params.MinFee, Payload: p}
	if err := tx.Sign(k, testChainID); err != nil {
		c.t.Fatal(err)
	}
	c.nonces[k.Address()]++
	return tx.Encode()
}

// block proposes a block with txs at the current time + stepMs, commits
// it, checks that nothing was skipped, and checks the invariants.
func (c *testChain) block(stepMs int64, txs ...[]byte) *BlockResult {
	c.t.Helper()
	c.timeMs += stepMs
	p, skipped, err := c.l.Propose(Header{Height: c.l.Height() + 1, TimeMs: c.timeMs, Proposer: validatorKey.Address()}, txs)
	if err != nil {
		c.t.Fatal(err)
	}
	if len(skipped) > 0 {
		c.t.Fatalf("proposer skipped %d txs: %v", len(skipped), skipped[0].Err)
	}
	return c.commit(p)
}

func (c *testChain) commit(p *Pending) *BlockResult {
	c.t.Helper()
	// Re-executing the proposed block, as a validator does, gives the same root.
	again, err := c.l.Execute(p.Block)
	if err != nil {
		c.t.Fatalf("validator re-execution: %v", err)
	}
	again.Discard()
	if err := c.l.Commit(p); err != nil {
		c.t.Fatal(err)
	}
	for _, rc := range p.Results.Receipts {
		for _, rr := range rc.Readings {
			if rr.Reason == RejectNone {
				r := c.readingAt(rr.Site, rr.Interval)
				c.acceptedPV[rr.Site] += uint64(r.PVWh)
			}
		}
	}
	if c.check {
		c.checkInvariants()
	}
	return p.Results
}

func (c *testChain) readingAt(site wallet.Address, interval uint64) *meter.Reading {
	c.t.Helper()
	b, ok, err := c.l.state().get(readingKey(site, interval))
	if err != nil || !ok {
		c.t.Fatalf("accepted reading %s/%d not in state: %v", site, interval, err)
	}
	r, err := meter.DecodeReading(b)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// one runs a block with one transaction and returns its receipt.
func (c *testChain) one(tx []byte) Receipt {
	c.t.Helper()
	res := c.block(5000, tx)
	if len(res.Receipts) != 1 {
		c.t.Fatalf("%d receipts", len(res.Receipts))
	}
	return res.Receipts[0]
}

// ok runs tx and fails the test unless it succeeded.
func (c *testChain) ok(tx []byte) Receipt {
	c.t.Helper()
	rc := c.one(tx)
	if rc.Code != 0 {
		c.t.Fatalf("%s failed: %s", rc.Type, rc.Error)
	}
	return rc
}

// fails runs tx and fails the test unless it failed with want.
func (c *testChain) fails(tx []byte, want error) {
	c.t.Helper()
	rc := c.one(tx)
	if rc.Code == 0 || int(rc.Code) >= len(TxErrors) || !errors.Is(TxErrors[rc.Code], want) {
		c.t.Fatalf("%s: code %d (%s), want %v", rc.Type, rc.Code, rc.Error, want)
	}
}

func (c *testChain) account(a wallet.Address) Account {
	c.t.Helper()
	acc, err := c.l.Account(a)
	if err != nil {
		c.t.Fatal(err)
	}
	return acc
}

func (c *testChain) site(id wallet.Address) Site {
	c.t.Helper()
	s, ok, err := c.l.Site(id)
	if err != nil || !ok {
		c.t.Fatalf("site %s: %v %v", id, ok, err)
	}
	return s
}

// registerSite registers a site with the given devices for owner and
// returns the site key.
func (c *testChain) registerSite(owner *wallet.PrivateKey, siteIdx int, devs ...Device) *wallet.PrivateKey {
	c.t.Helper()
	sk := testKey(5000 + siteIdx)
	c.ok(c.signTx(owner, c.registerPayload(owner, sk, devs...)))
	return sk
}

func (c *testChain) registerPayload(owner, sk *wallet.PrivateKey, devs ...Device) *RegisterSite {
	pop, err := sk.SignTyped(SitePoPTag, testChainID, SitePoPBody(owner.Address()))
	if err != nil {
		c.t.Fatal(err)
	}
	if len(devs) == 0 {
		devs = []Device{{Kind: DevicePV, NameplateW: 4000}, {Kind: DeviceBattery, NameplateW: 5000, StorageWh: 13500},
			{Kind: DeviceEVCharger, NameplateW: 11000}, {Kind: DeviceMeter, NameplateW: 25000}}
	}
	return &RegisterSite{SiteKey: sk.Public().Compressed(), PoP: pop, Zone: "CO-DEN",
		LatE6: goldenLatE6, LonE6: goldenLonE6, Devices: devs}
}

// siteChain signs a site's readings in chain order.
type siteChain struct {
	key     *wallet.PrivateKey
	counter uint64
	prev    [32]byte
}

// next signs the site's next reading for interval with the given channels.
func (s *siteChain) next(interval uint64, mod func(*meter.Reading)) meter.Reading {
	r := meter.Reading{Site: s.key.Address(), Interval: interval, Counter: s.counter + 1, PrevHash: s.prev,
		GridImportWh: 300}
	if mod != nil {
		mod(&r)
	}
	if err := r.Sign(s.key, testChainID); err != nil {
		panic(err)
	}
	s.counter = r.Counter
	s.prev = r.Hash()
	return r
}

// intervalEndMs is when interval i ends, in Unix ms.
func (c *testChain) intervalEndMs(i uint64) int64 {
	return (c.g.GenesisTime + int64(i+1)*int64(c.g.Params.IntervalSeconds)) * 1000
}

// checkInvariants checks, over the whole committed state: the supply
// equation, each site's certified Wh against its certificates and against
// the PV of its accepted readings, and that retired certificates never
// changed.
func (c *testChain) checkInvariants() {
	c.t.Helper()
	var held, certWh uint64
	siteCert := map[wallet.Address]uint64{}
	recWh := map[wallet.Address]uint64{}
	err := c.l.IterateState(func(k, v []byte) error {
		switch {
		case bytes.HasPrefix(k, []byte(pfxAccount)):
			var a Account
			if err := codec.Decode(v, &a); err != nil {
				return err
			}
			held += a.Balance + a.Bonded + a.UnbondingTotal()
		case bytes.HasPrefix(k, []byte(pfxSite)):
			var s Site
			if err := codec.Decode(v, &s); err != nil {
				return err
			}
			held += s.Deposit
			var id wallet.Address
			copy(id[:], k[len(pfxSite):])
			siteCert[id] = s.CertifiedWh
			if got := s.CertifiedWh + s.PendingWh; c.trackPV && got != c.acceptedPV[id] {
				return fmt.Errorf("site %s: certified %d + pending %d != accepted PV %d", id, s.CertifiedWh, s.PendingWh, c.acceptedPV[id])
			}
		case bytes.HasPrefix(k, []byte(pfxFlexReq)):
			var r FlexRequest
			if err := codec.Decode(v, &r); err != nil {
				return err
			}
			if r.Status == FlexOpen {
				held += r.Held()
			}
		case bytes.HasPrefix(k, []byte(pfxREC)):
			var r REC
			if err := codec.Decode(v, &r); err != nil {
				return err
			}
			recWh[r.Site] += r.Wh
			certWh += r.Wh
			if old, ok := c.retired[r.ID]; ok && !bytes.Equal(old, v) {
				return fmt.Errorf("retired certificate %d changed", r.ID)
			}
			if r.Retired {
				c.retired[r.ID] = bytes.Clone(v)
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	sup, err := c.l.Supply()
	if err != nil {
		c.t.Fatal(err)
	}
	if held != sup.Total() {
		c.t.Fatalf("height %d: money held %d != supply %d (genesis %d + emitted %d)", c.l.Height(), held, sup.Total(), sup.Genesis, sup.Emitted)
	}
	for id, w := range siteCert {
		if recWh[id] != w {
			c.t.Fatalf("site %s: certificates hold %d Wh, site certified %d Wh", id, recWh[id], w)
		}
	}
}
