package site

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/sunspec"
	"github.com/gridmint/gridmint/meter/sunspec/sunspectest"
	"github.com/gridmint/gridmint/wallet"
)

const chainID = "gridmint-test"

var genesis = time.Unix(1_767_225_600, 0).UTC() // 2026-01-01

// home is a Fronius GEN24 (unit 1: PV inverter and battery) and its smart
// meter (unit 200) on a real Modbus TCP server, whose energy counters the
// test moves: PV 4 kW, grid import 1 kW, export constant.
type home struct {
	t      *testing.T
	srv    *sunspectest.Server
	inv    uint16 // inverter model 103 data address (unit 1)
	mtr    uint16 // meter model 203 data address (unit 200)
	devs   []meter.Device
	battW  int64  // the dump's battery power, constant
	socPpm uint32 // and state of charge
}

func newHome(t *testing.T) *home {
	units := sunspectest.LoadDump(t, sunspectest.FroniusDump())
	h := &home{t: t}
	var ok1, ok2 bool
	h.inv, ok1 = sunspectest.ModelData(units[1], sunspectest.ModelInverter3P)
	h.mtr, ok2 = sunspectest.ModelData(units[200], sunspectest.ModelMeterWye)
	if !ok1 || !ok2 {
		t.Fatal("dump has no inverter 103 or meter 203")
	}
	h.srv = sunspectest.Start(t, units)
	// Scale factors 0: the counters are whole Wh.
	h.srv.SetReg(1, h.inv+24, 0)   // WH_SF
	h.srv.SetReg(200, h.mtr+52, 0) // TotWh_SF
	h.set(0)
	ctx := testCtx(t)
	for _, c := range []sunspec.Config{
		{Address: h.srv.Addr, UnitID: 1, Usage: []string{"pv", "battery"}},
		{Address: h.srv.Addr, UnitID: 200, Usage: []string{"grid"}},
	} {
		d, err := sunspec.New(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		h.devs = append(h.devs, d)
	}
	var err error
	b := h.devs[0].(meter.Battery)
	if h.battW, err = b.BatteryPowerW(ctx); err != nil {
		t.Fatal(err)
	}
	if h.socPpm, err = b.BatterySoCPpm(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *home) pvWh(s int64) uint32     { return uint32(1_000_000 + s*4000/3600) }
func (h *home) importWh(s int64) uint32 { return uint32(500_000 + s*1000/3600) }

const exportWh = 200_000

// set moves the counters to s seconds after genesis.
func (h *home) set(s int64) {
	h.srv.SetU32(1, h.inv+22, h.pvWh(s))
	h.srv.SetU32(200, h.mtr+44, h.importWh(s))
	h.srv.SetU32(200, h.mtr+36, exportWh)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func siteKey(t *testing.T) *wallet.PrivateKey {
	var seed [32]byte
	seed[0] = 18
	k, err := wallet.GenerateKeyFrom(rand.NewChaCha8(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sink is the node's side in these tests: it keeps what it is handed, and
// refuses everything while failing is set.
type sink struct {
	mu      sync.Mutex
	got     []*meter.Reading
	failing bool
	refused []*meter.Reading
}

var errSinkDown = errors.New("sink down")

func (s *sink) SubmitReading(_ context.Context, r *meter.Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		s.refused = append(s.refused, r)
		return errSinkDown
	}
	s.got = append(s.got, r)
	return nil
}

func (s *sink) readings() []*meter.Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*meter.Reading(nil), s.got...)
}

func openAgent(t *testing.T, h *home, dir string, fs vfs.FS, sk Sink) *Agent {
	t.Helper()
	a, err := Open(testCtx(t), Config{
		ChainID: chainID, Key: siteKey(t), Genesis: genesis, Interval: 15 * time.Minute,
		Devices: h.devs, Dir: dir, FS: fs, Sink: sk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// poll sets the device to s seconds after genesis and polls the agents.
func poll(t *testing.T, h *home, s int64, agents ...*Agent) {
	t.Helper()
	h.set(s)
	for _, a := range agents {
		if err := a.Poll(testCtx(t), genesis.Add(time.Duration(s)*time.Second)); err != nil {
			t.Fatalf("poll at %d s: %v", s, err)
		}
	}
}

// checkChain checks that rs are the readings of intervals 0..n-1, signed by
// the site key, chained, each with the energies the registers showed.
func checkChain(t *testing.T, h *home, rs []*meter.Reading, n int) {
	t.Helper()
	if len(rs) != n {
		t.Fatalf("%d readings, want %d", len(rs), n)
	}
	var prev [32]byte
	for i, r := range rs {
		k := int64(i)
		if r.Interval != uint64(i) || r.Counter != uint64(i+1) || r.PrevHash != prev {
			t.Fatalf("reading %d: interval %d counter %d, chain broken", i, r.Interval, r.Counter)
		}
		if err := r.VerifySite(chainID); err != nil {
			t.Fatalf("reading %d: %v", i, err)
		}
		wantPV := h.pvWh(900*(k+1)) - h.pvWh(900*k)
		wantImp := h.importWh(900*(k+1)) - h.importWh(900*k)
		if r.PVWh != wantPV || r.GridImportWh != wantImp || r.GridExportWh != 0 || r.EVWh != 0 {
			t.Fatalf("reading %d: pv %d import %d export %d, want pv %d import %d", i, r.PVWh, r.GridImportWh, r.GridExportWh, wantPV, wantImp)
		}
		// The battery's power is constant: exactly power × 15 min.
		wantCh, wantDis := uint32(0), uint32(0)
		if h.battW > 0 {
			wantCh = uint32(h.battW / 4)
		} else {
			wantDis = uint32(-h.battW / 4)
		}
		if r.BatteryChargeWh != wantCh || r.BatteryDischargeWh != wantDis || r.BatterySoCPpm != h.socPpm {
			t.Fatalf("reading %d: battery +%d −%d Wh soc %d, want +%d −%d soc %d", i,
				r.BatteryChargeWh, r.BatteryDischargeWh, r.BatterySoCPpm, wantCh, wantDis, h.socPpm)
		}
		prev = r.Hash()
	}
}

// TestAgentReadings: three intervals polled every 10 s against the Modbus
// server give three signed, chained readings with the registers' energies,
// each handed off as soon as its interval closes.
func TestAgentReadings(t *testing.T) {
	h := newHome(t)
	sk := &sink{}
	a := openAgent(t, h, t.TempDir(), nil, sk)
	defer a.Close()
	for s := int64(0); s <= 2700; s += 10 {
		poll(t, h, s, a)
		if want := int(s / 900); len(sk.readings()) != want {
			t.Fatalf("at %d s: %d readings handed off, want %d", s, len(sk.readings()), want)
		}
	}
	checkChain(t, h, sk.readings(), 3)
	t.Logf("battery %d W, soc %d ppm; reading 0: %+v", h.battW, h.socPpm, *sk.readings()[0])
}

// TestAgentRestartMidInterval: an agent closed and reopened in the middle
// of an interval signs exactly what an agent that never stopped signs.
func TestAgentRestartMidInterval(t *testing.T) {
	h := newHome(t)
	ref, sk := &sink{}, &sink{}
	a := openAgent(t, h, t.TempDir(), nil, ref)
	defer a.Close()
	dir := t.TempDir()
	b := openAgent(t, h, dir, nil, sk)
	for s := int64(0); s <= 2700; s += 10 {
		if s == 1350 || s == 2250 { // mid interval 1 and mid interval 2
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b = openAgent(t, h, dir, nil, sk)
		}
		poll(t, h, s, a, b)
	}
	defer b.Close()
	checkChain(t, h, sk.readings(), 3)
	for i, r := range ref.readings() {
		if !bytes.Equal(r.Body(), sk.readings()[i].Body()) {
			t.Fatalf("reading %d differs after a restart:\n%+v\n%+v", i, *r, *sk.readings()[i])
		}
	}
}

// TestAgentSignedNotHandedOff: the sink is down when interval 0 is signed;
// the agent is closed (a restart) with the reading in its outbox. The
// reopened agent hands off the very bytes it signed before, signs interval
// 0 no second time, and chains interval 1 onto it.
func TestAgentSignedNotHandedOff(t *testing.T) {
	h := newHome(t)
	sk := &sink{}
	dir := t.TempDir()
	a := openAgent(t, h, dir, nil, sk)
	for s := int64(0); s < 900; s += 10 {
		poll(t, h, s, a)
	}
	sk.failing = true
	poll(t, h, 900, a)
	if a.Pending() != 1 || len(sk.refused) != 1 || len(sk.readings()) != 0 {
		t.Fatalf("pending %d, refused %d, handed %d", a.Pending(), len(sk.refused), len(sk.readings()))
	}
	signed := sk.refused[0].Encode()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	sk.failing = false
	a = openAgent(t, h, dir, nil, sk)
	defer a.Close()
	if c, _, k := a.Head(); c != 1 || k != 0 || a.Pending() != 1 {
		t.Fatalf("reopened: head counter %d interval %d, pending %d", c, k, a.Pending())
	}
	for s := int64(910); s <= 1800; s += 10 {
		poll(t, h, s, a)
	}
	rs := sk.readings()
	checkChain(t, h, rs, 2)
	if !bytes.Equal(rs[0].Encode(), signed) {
		t.Fatal("the reading handed after the restart is not the one signed before it")
	}
}

// TestAgentPowerCut cuts the power at many instants: the journal is on
// pebble's crashable in-memory filesystem and each cut keeps only what was
// synced (plus a seeded random share of the rest). After every cut the agent
// reopens on the surviving image and goes on. At the end the sink has a
// reading for every closed interval, chained, each interval signed once
// (a reading handed twice is the same bytes).
func TestAgentPowerCut(t *testing.T) {
	h := newHome(t)
	sk := &sink{}
	fs := vfs.NewCrashableMem()
	rng := rand.New(rand.NewPCG(18, 1))
	a := openAgent(t, h, "journal", fs, sk)
	const end = 6 * 900
	cuts := 0
	for s := int64(0); s <= end; s += 10 {
		poll(t, h, s, a)
		// Cut at a boundary poll (just after signing), just after it, and
		// at random instants.
		if s%900 == 0 || s%900 == 10 || rng.IntN(20) == 0 {
			img := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(uint64(s), 2))})
			a.Close()
			fs = img
			a = openAgent(t, h, "journal", fs, sk)
			cuts++
		}
	}
	defer a.Close()
	byInterval := map[uint64][]byte{}
	var chain []*meter.Reading
	for _, r := range sk.readings() {
		if prev, ok := byInterval[r.Interval]; ok {
			if !bytes.Equal(prev, r.Encode()) {
				t.Fatalf("interval %d signed twice, differently", r.Interval)
			}
			continue
		}
		byInterval[r.Interval] = r.Encode()
		chain = append(chain, r)
	}
	if len(chain) != end/900 {
		t.Fatalf("%d intervals have readings after %d cuts, want %d", len(chain), cuts, end/900)
	}
	var prev [32]byte
	for i, r := range chain {
		if r.Interval != uint64(i) || r.Counter != uint64(i+1) || r.PrevHash != prev {
			t.Fatalf("reading %d: interval %d counter %d: chain broken", i, r.Interval, r.Counter)
		}
		prev = r.Hash()
	}
	t.Logf("%d power cuts, %d readings handed (%d distinct)", cuts, len(sk.readings()), len(chain))
}

// TestAgentCoarseCounter: the inverter's WH_SF is +1 (its counter steps by
// 10 Wh) and the agent polls every 0.5 s: the agent asks the adapter for
// the resolution, so every 10 Wh step is counted and the reading's PV is
// the counter's rise over the interval (one-minute intervals here).
func TestAgentCoarseCounter(t *testing.T) {
	h := newHome(t)
	h.srv.SetReg(1, h.inv+24, 1) // WH_SF = +1: the register counts tens of Wh
	ctx := testCtx(t)
	if s, err := h.devs[0].(meter.CounterResolution).CounterStepWh(ctx, meter.CapPVEnergy); err != nil || s != 10 {
		t.Fatalf("step %d, %v", s, err)
	}
	sk := &sink{}
	a, err := Open(ctx, Config{ChainID: chainID, Key: siteKey(t), Genesis: genesis, Interval: time.Minute,
		Devices: h.devs, Dir: t.TempDir(), Sink: sk, MaxPowerW: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	regWh := func(ms int64) uint32 { return h.pvWh(ms/1000) / 10 } // the register, in tens of Wh
	for ms := int64(0); ms <= 120_000; ms += 500 {
		h.set(ms / 1000)
		h.srv.SetU32(1, h.inv+22, regWh(ms))
		if err := a.Poll(ctx, genesis.Add(time.Duration(ms)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	rs := sk.readings()
	if len(rs) != 2 {
		t.Fatalf("%d readings", len(rs))
	}
	for i, r := range rs {
		want := 10 * (regWh(int64(i+1)*60_000) - regWh(int64(i)*60_000))
		if r.PVWh != want || want == 0 {
			t.Fatalf("interval %d: PV %d Wh, the counter rose %d Wh", i, r.PVWh, want)
		}
	}
	t.Logf("4 kW, WH_SF=+1, 0.5 s poll: PV %d and %d Wh in two one-minute intervals", rs[0].PVWh, rs[1].PVWh)
}

// deadMeter is a grid meter whose connection is down while dead is set
// (a fake device: the agent's rule for silent devices is under test, not
// an adapter).
type deadMeter struct {
	mu   sync.Mutex
	dead bool
	w    int64
}

var errDown = errors.New("meter unreachable")

func (m *deadMeter) Name() string { return "test grid meter" }
func (m *deadMeter) Close() error { return nil }
func (m *deadMeter) GridPowerW(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return 0, errDown
	}
	return m.w, nil
}

// TestAgentSilentDevice: while one device is unreachable, the intervals
// it misses are signed once it has been silent for MaxGap and the next
// interval has begun, with the energy it measured before it fell silent
// and none invented; when it is back, readings go on as before, in order.
func TestAgentSilentDevice(t *testing.T) {
	h := newHome(t)
	gm := &deadMeter{w: 2000}
	sk := &sink{}
	a, err := Open(testCtx(t), Config{ChainID: chainID, Key: siteKey(t), Genesis: genesis, Interval: 15 * time.Minute,
		Devices: []meter.Device{h.devs[0], gm}, Dir: t.TempDir(), Sink: sk})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	count := map[int64]int{}
	for s := int64(0); s <= 5*900; s += 10 {
		gm.mu.Lock()
		gm.dead = s >= 1200 && s < 3000 // down from 5:00 into interval 1 to 5:00 into interval 3
		gm.mu.Unlock()
		poll(t, h, s, a)
		count[s] = len(sk.readings())
	}
	// Interval 1 is signed at the first poll of interval 2 (the meter has
	// been silent for more than MaxGap), interval 2 at the first of 3.
	if count[1790] != 1 || count[1800] != 2 || count[2690] != 2 || count[2700] != 3 {
		t.Fatalf("readings at 1790/1800/2690/2700 s: %d %d %d %d", count[1790], count[1800], count[2690], count[2700])
	}
	rs := sk.readings()
	if len(rs) != 5 {
		t.Fatalf("%d readings", len(rs))
	}
	var prev [32]byte
	for i, r := range rs {
		if r.Interval != uint64(i) || r.Counter != uint64(i+1) || r.PrevHash != prev {
			t.Fatalf("reading %d: interval %d counter %d", i, r.Interval, r.Counter)
		}
		prev = r.Hash()
		if want := h.pvWh(900*int64(i+1)) - h.pvWh(900*int64(i)); r.PVWh != want {
			t.Fatalf("interval %d: PV %d, want %d", i, r.PVWh, want)
		}
	}
	// 2 kW is 500 Wh per interval. Interval 1 has 290 s of it (to the
	// last sample, at 1190 s), interval 2 none, interval 3 the 600 s
	// after the meter came back (the gap itself counts nothing).
	for i, want := range []uint32{500, 161, 0, 333, 500} {
		if got := rs[i].GridImportWh; got < want || got > want+1 {
			t.Errorf("interval %d: import %d Wh, want %d", i, got, want)
		}
	}
}
