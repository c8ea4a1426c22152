package node

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/meter/sim"
	"github.com/gridmint/gridmint/wallet"
)

// DevnetConfig configures a whole network in one process.
type DevnetConfig struct {
	Validators int
	Homes      int
	Seed       uint64
	// Dir keeps the nodes' data directories (validator-0, ...); "" uses a
	// temporary directory removed by Close.
	Dir string
	// Stop at this height or after this many simulated days (0: no limit
	// on that count; with neither, Run goes on until Interrupt).
	Blocks uint64
	Days   float64
	// Deterministic runs in virtual time as fast as it can; otherwise the
	// virtual clock follows the wall clock at Speed simulated seconds per
	// wall second.
	Deterministic bool
	Speed         float64
	// BlockIntervalMs is the pause between blocks (default 30 s).
	BlockIntervalMs int64
	// Log receives the live log (one line per notable event).
	Log io.Writer
	// Progress, if set, is called with the fraction done (0..1).
	Progress func(done float64)
	// Debug turns on the nodes' debug logs.
	Debug bool
	// EpochBlocks is the epoch length in blocks (default: an hour of
	// blocks); the validator set can change at each epoch's end.
	EpochBlocks uint64
	// CrashableFS keeps each validator's data directory on its own
	// in-memory file system that can lose its unsynced writes
	// (vfs.NewCrashableMem), so that CrashValidator can cut its power.
	CrashableFS bool
	// UnsafeNoSync skips every fsync of the validators' data directories
	// (NodeConfig.UnsafeNoSync). Allowed only for a deterministic devnet
	// on a temporary directory (Dir ""), which Close deletes and nothing
	// ever restarts from, so there is nothing for fsync to protect; there
	// it is a third of the wall time. Never for a kept --home.
	UnsafeNoSync bool

	// sent, if set, sees every message a validator process sends (tests).
	sent func(i int, topic Topic, data []byte)
	// walCompactEvery is the validators' NodeConfig.WALCompactEvery
	// (tests: crashes inside a compaction need frequent ones).
	walCompactEvery int
	// serial runs without SimNet.Parallel's workers (tests compare).
	serial bool
}

// Devnet is a running network: validators on an in-process network in
// virtual time, simulated homes signing their readings, and a utility
// posting flexibility requests.
type Devnet struct {
	cfg     DevnetConfig
	dir     string
	tempDir bool
	genesis *ledger.Genesis
	// net is the deterministic devnet's network (nil on libp2p); clock
	// is whichever network runs: net, or p2p, the libp2p cluster.
	net     *SimNet
	p2p     *p2pCluster
	clock   devnetNet
	client  Transport
	nodes   []*Node
	valKeys []*wallet.PrivateKey
	conKeys []*wallet.PrivateKey
	fleet   *sim.Fleet
	owners  []*wallet.PrivateKey
	utility *wallet.PrivateKey
	nonces  map[wallet.Address]uint64
	clk     sim.Clock
	homeOf  map[wallet.Address]int // site → home index
	// awaitSplit: the homes committed to a request with a control group,
	// by request, until its split.
	awaitSplit map[uint64][]pendingDispatch
	stopped    bool
	// interrupt asks Run to stop at the next event (from a signal handler).
	interrupt atomic.Bool

	// links[i] is the transport of validator i's current process; fs[i]
	// its file system (CrashableFS). A crash cuts the link and replaces
	// the file system with a crash clone of it.
	links   []*link
	fs      []*vfs.MemFS
	crashes uint64
	// armed[i] > 0: validator i crashes after that many more syncs of its
	// WAL (tests); armedPct is the unsynced data percent of that crash.
	armed    map[int]int
	armedPct map[int]int
	// armedGuard[i] > 0: the same, counting syncs of the double-sign guard.
	armedGuard map[int]int
	// restarted, if set, is called with each process started after a
	// crash, before it runs (tests); crashedAt is the height the crashed
	// process had committed at the instant of the last crash.
	restarted func(i int, n *Node)
	crashedAt uint64

	// startMs is when this run's clock starts: genesis, or the last block's
	// time of the chain it resumes (at height resumedAt, whose sites in
	// registered need no registration).
	startMs    int64
	resumedAt  uint64
	registered map[int]bool

	stats DevnetStats
	// truth: for each (request, site) commitment, the simulator's true
	// delivered Wh over the window; events: the windows homes were
	// dispatched for.
	windows []homeWindow
}

type homeWindow struct {
	request    uint64
	home       int
	start, end uint64
	up         bool
	trueWh     int64
}

// DevnetStats are what the summary reports. Per-home slices are indexed
// like the simulated homes.
type DevnetStats struct {
	Height        uint64
	StateRoot     [32]byte
	RootsAgree    bool // every validator's root equals validator 0's at its height
	SimulatedDays float64

	ReadingsSigned   []uint64
	ReadingsAccepted []uint64
	ReadingsRejected []map[ledger.RejectReason]uint64
	ReadingsPending  []uint64 // in validator 0's reading pool
	// ReadingsUnaccounted: signed − accepted − rejected − pending (0 when
	// no reading is lost or still in flight).
	ReadingsUnaccounted []int64

	// Energy in accepted readings.
	EnergyImportWh, EnergyExportWh, EnergyPVWh uint64

	Requests         uint64 // posted
	RequestedWh      uint64 // Σ target W × window
	Settled          uint64 // requests settled
	Commitments      uint64 // settled commitments
	DeliveredWh      int64  // by the chain's baselines
	TrueDeliveredWh  int64  // by the simulator's counterfactual
	PaidBaseUnits    uint64
	SlashedBaseUnits uint64
	RECsWh           uint64
	// Gaming homes: settled commitments, Wh paid for, true delivered Wh,
	// and how many of their commitments were paid above their truth.
	GamingCommitments          int
	GamingPaidWh, GamingTrueWh int64
	GamingOverpaid             int

	Supply      ledger.Supply
	SupplySplit map[string]uint64 // validators, homes, utility, pools, open requests
	BadMessages map[Topic]uint64  // summed over validators
	Flex        []ledger.FlexSettlement
	Truth       map[uint64]map[wallet.Address]int64 // request → site → true delivered Wh

	gamingHomes map[int]bool
}

// derivedKey is a deterministic key for role and index under the seed.
func derivedKey(seed uint64, role string, i int) *wallet.PrivateKey {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:], uint64(i))
	k, err := wallet.GenerateKeyFrom(rand.NewChaCha8(sha256.Sum256(append(b[:], "gridmint/devnet/"+role...))))
	if err != nil {
		panic(err) // a ChaCha8 stream never fails
	}
	return k
}

// devnetGenesisTime is midnight in Sacramento (UTC−8) on 2026-06-01, a
// Monday: a fixed date so that a seed gives the same chain on every run.
var devnetGenesisTime = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC).Unix()

const (
	devnetZone        = "US-CA-SMUD"
	devnetUTCOffset   = -8 * 3600
	devnetPriceBase   = 300_000 // 0.30 FLX per kWh
	devnetRequestHour = 6       // local hour the utility posts the day's requests
	// The whole-site request's control group: 30 % of the committed
	// homes (3 of the 10 that commit, the fewest placebos the correction
	// uses), paid a fifth of compliance (the ledger allows up to 23 % at
	// this share, bond and slash).
	devnetControlSharePPM = 300_000
	devnetControlPayPPM   = 200_000
)

// NewDevnet builds the genesis and starts the validators.
func NewDevnet(cfg DevnetConfig) (*Devnet, error) {
	if cfg.Validators < 1 || cfg.Validators > 64 {
		return nil, fmt.Errorf("devnet: %d validators: want 1..64", cfg.Validators)
	}
	if cfg.Homes < 0 || cfg.Homes > 100_000 {
		return nil, fmt.Errorf("devnet: %d homes: want 0..100000", cfg.Homes)
	}
	if cfg.UnsafeNoSync && (!cfg.Deterministic || cfg.Dir != "" || cfg.CrashableFS) {
		return nil, fmt.Errorf("devnet: skipping fsync is only for a deterministic devnet on a temporary directory")
	}
	if cfg.BlockIntervalMs == 0 {
		cfg.BlockIntervalMs = 30_000
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 600
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	d := &Devnet{cfg: cfg, dir: cfg.Dir, nonces: map[wallet.Address]uint64{}, homeOf: map[wallet.Address]int{}, awaitSplit: map[uint64][]pendingDispatch{},
		armed: map[int]int{}, armedPct: map[int]int{}}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "gridmint-devnet-")
		if err != nil {
			return nil, err
		}
		d.dir, d.tempDir = dir, true
	}
	g := &ledger.Genesis{ChainID: "gridmint-devnet", GenesisTime: devnetGenesisTime, Params: ledger.DefaultParams()}
	g.Params.EpochBlocks = uint64(3_600_000 / cfg.BlockIntervalMs) // an hour
	if cfg.EpochBlocks > 0 {
		g.Params.EpochBlocks = cfg.EpochBlocks
	}
	for i := 0; i < cfg.Validators; i++ {
		vk, ck := derivedKey(cfg.Seed, "validator", i), derivedKey(cfg.Seed, "consensus", i)
		d.valKeys, d.conKeys = append(d.valKeys, vk), append(d.conKeys, ck)
		g.Validators = append(g.Validators, ledger.GenesisValidator{Address: vk.Address(),
			ConsensusKey: ck.Public().Compressed(), Stake: 100_000 * ledger.BaseUnitsPerFLX})
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: vk.Address(), Balance: 1_000 * ledger.BaseUnitsPerFLX})
	}
	d.utility = derivedKey(cfg.Seed, "utility", 0)
	g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: d.utility.Address(), Balance: 10_000_000 * ledger.BaseUnitsPerFLX})
	for i := 0; i < cfg.Homes; i++ {
		o := derivedKey(cfg.Seed, "owner", i)
		d.owners = append(d.owners, o)
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: o.Address(), Balance: 1_000 * ledger.BaseUnitsPerFLX})
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	d.genesis = g
	j, _ := g.JSON()
	// Checks first: nothing is written to a home made with other options.
	res, err := d.openHome(j)
	if err != nil {
		return nil, err
	}
	if res != nil {
		defer res.l.Close() // resume closes it; this is for the error paths
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(d.dir, "genesis.json"), j, 0o644); err != nil {
		return nil, err
	}
	d.clk = sim.Clock{GenesisUnix: g.GenesisTime, IntervalS: int64(g.Params.IntervalSeconds)}
	d.startMs = g.GenesisTime * 1000
	if res != nil {
		// An existing chain: the homes go on from the interval its last
		// block is in, the clock from that block's time.
		d.clk.Start, d.startMs = res.interval, res.timeMs
	}
	// One home games its baseline (the first with a battery, so that its
	// battery requests settle under the proof cap); 10 % follow
	// dispatches partly and 10 % ignore them.
	pop := sim.DefaultPopulation(cfg.Seed, cfg.Homes)
	pop.GameHomes = 1
	fleet, err := sim.NewPopulation(d.clk, pop, nil)
	if err != nil {
		return nil, err
	}
	d.fleet = fleet
	d.stats = DevnetStats{ReadingsSigned: make([]uint64, cfg.Homes), ReadingsAccepted: make([]uint64, cfg.Homes),
		ReadingsRejected: make([]map[ledger.RejectReason]uint64, cfg.Homes), ReadingsPending: make([]uint64, cfg.Homes),
		Truth: map[uint64]map[wallet.Address]int64{}, gamingHomes: map[int]bool{}, BadMessages: map[Topic]uint64{}}
	for i, h := range fleet.Homes {
		d.homeOf[h.Site()] = i
		d.stats.ReadingsRejected[i] = map[ledger.RejectReason]uint64{}
		if h.Config().Behaviour == sim.BehaviourGame {
			d.stats.gamingHomes[i] = true
		}
	}
	if cfg.Deterministic {
		d.net = NewSimNet(d.startMs, cfg.Seed)
		d.clock, d.client = d.net, d.net.Client()
	} else {
		var log *slog.Logger
		if cfg.Debug {
			log = slog.New(slog.NewTextHandler(cfg.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		} else {
			log = slog.New(slog.DiscardHandler)
		}
		keyOf := func(i int) *wallet.PrivateKey {
			if i == cfg.Validators {
				return derivedKey(cfg.Seed, "gateway", 0)
			}
			return derivedKey(cfg.Seed, "node", i)
		}
		c, err := newP2PCluster(cfg.Validators, g.ChainID, d.startMs, cfg.Speed, keyOf, log)
		if err != nil {
			return nil, err
		}
		d.p2p, d.clock, d.client = c, c, gateway{c.gw}
	}
	if res != nil {
		if err := d.resume(res); err != nil {
			return nil, err
		}
	}
	for i := 0; i < cfg.Validators; i++ {
		if err := d.startValidator(i); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// ValidatorDir is validator i's data directory.
func (d *Devnet) ValidatorDir(i int) string {
	return filepath.Join(d.dir, fmt.Sprintf("validator-%d", i))
}

// link is the transport of one process of validator i. A crash cuts it:
// whatever the abandoned process still does sends nothing.
type link struct {
	d   *Devnet
	i   int
	cut bool
}

func (l *link) Broadcast(topic Topic, data []byte) {
	if l.cut {
		return
	}
	if l.d.cfg.sent != nil {
		l.d.cfg.sent(l.i, topic, data)
	}
	l.d.net.Endpoint(l.i).Broadcast(topic, data)
}

func (l *link) RequestBlocks(from uint64) {
	if !l.cut {
		l.d.net.Endpoint(l.i).RequestBlocks(from)
	}
}

func (d *Devnet) startValidator(i int) error {
	logger := slog.New(slog.DiscardHandler)
	if d.cfg.Debug {
		logger = slog.New(slog.NewTextHandler(d.cfg.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for len(d.nodes) <= i {
		d.nodes, d.links, d.fs = append(d.nodes, nil), append(d.links, nil), append(d.fs, nil)
	}
	dir := d.ValidatorDir(i)
	fsys, nodeFS := vfs.Default, vfs.FS(nil)
	if d.cfg.CrashableFS {
		if d.fs[i] == nil {
			d.fs[i] = vfs.NewCrashableMem()
		}
		fsys, nodeFS = d.fs[i], d.fs[i]
	}
	if err := mkdirAllDurable(fsys, dir); err != nil {
		return err
	}
	j, _ := d.genesis.JSON()
	if err := writeFileDurable(fsys, filepath.Join(dir, "genesis.json"), j); err != nil {
		return err
	}
	lk := &link{d: d, i: i}
	d.links[i] = lk
	var net Transport = lk
	timeouts, drift := consensus.DefaultTimeouts(), int64(0)
	if d.p2p != nil {
		net, timeouts, drift = d.p2p.nets[i], scaledTimeouts(d.cfg.Speed), int64(2_000*d.cfg.Speed)
	}
	var onCommit func(*Node, *ledger.Block, *ledger.BlockResult)
	if i == 0 {
		onCommit = func(n *Node, b *ledger.Block, r *ledger.BlockResult) {
			if !lk.cut {
				d.observe(n, b, r)
			}
		}
	}
	n, err := NewNode(NodeConfig{Name: fmt.Sprintf("validator-%d", i), Dir: dir, Genesis: d.genesis,
		Account: d.valKeys[i], ConsKey: d.conKeys[i], Net: net, BlockIntervalMs: d.cfg.BlockIntervalMs,
		Timeouts: timeouts, MaxClockDriftMs: drift, Log: logger, OnCommit: onCommit, FS: nodeFS,
		UnsafeNoSync: d.cfg.UnsafeNoSync && d.tempDir, WALCompactEvery: d.cfg.walCompactEvery,
		walSynced: func() { d.walSynced(i, lk) }, guardSynced: func() { d.guardSynced(i, lk) }}, d.clock.Now())
	if err != nil {
		return err
	}
	d.nodes[i] = n
	if d.p2p != nil {
		d.p2p.attach(i, n)
	} else if !lk.cut { // else it crashed while starting; its restart is due
		d.net.Attach(i, n)
	}
	return nil
}

// Interrupt makes Run stop soon and summarise; safe from any goroutine.
func (d *Devnet) Interrupt() { d.interrupt.Store(true) }

// Close stops every node and removes a temporary directory.
func (d *Devnet) Close() error {
	if d.p2p != nil {
		d.p2p.Stop() // the validators' loops end before their nodes close
	}
	var err error
	for _, n := range d.nodes {
		if n != nil {
			if e := n.Close(); err == nil {
				err = e
			}
		}
	}
	if d.tempDir {
		os.RemoveAll(d.dir)
	}
	return err
}

// Dir is where the nodes' data directories are.
func (d *Devnet) Dir() string { return d.dir }

// Genesis is the devnet's genesis.
func (d *Devnet) Genesis() *ledger.Genesis { return d.genesis }

// Node returns validator i.
func (d *Devnet) Node(i int) *Node { return d.nodes[i] }

// Net is the in-process network of a deterministic devnet (nil on
// libp2p).
func (d *Devnet) Net() *SimNet { return d.net }

func (d *Devnet) logf(format string, args ...any) {
	ms := d.clock.Now() - d.genesis.GenesisTime*1000 // genesis is local midnight
	day, rest := ms/86_400_000, ms%86_400_000
	fmt.Fprintf(d.cfg.Log, "day %d %02d:%02d  %s\n", day+1, rest/3_600_000, rest%3_600_000/60_000, fmt.Sprintf(format, args...))
}

// send signs a transaction from k with its next nonce and broadcasts it.
func (d *Devnet) send(k *wallet.PrivateKey, p ledger.Payload) {
	tx := &ledger.Tx{Nonce: d.nonces[k.Address()], Fee: d.genesis.Params.MinFee, Payload: p}
	if err := tx.Sign(k, d.genesis.ChainID); err != nil {
		panic(err)
	}
	d.nonces[k.Address()]++
	d.client.Broadcast(TopicTx, tx.Encode())
}

// Run runs the network until the configured end and returns its summary.
func (d *Devnet) Run() (*DevnetStats, error) {
	start := d.genesis.GenesisTime * 1000
	// --days counts from where the chain stands (genesis, or the chain
	// this run resumes).
	runStart := d.startMs
	endMs := int64(0)
	if d.cfg.Days > 0 {
		endMs = runStart + int64(d.cfg.Days*86_400_000)
	}
	// The homes register their sites at once.
	d.clock.At(runStart+1000, func() {
		for i, h := range d.fleet.Homes {
			if !d.registered[i] {
				d.send(d.owners[i], d.registerPayload(i, h))
			}
		}
	})
	// Every interval boundary: each home closes its interval, signs the
	// reading and sends it; the utility posts the day's requests.
	interval := int64(d.genesis.Params.IntervalSeconds) * 1000
	var tickInterval func(i uint64)
	tickInterval = func(i uint64) {
		if d.stopped {
			return
		}
		d.homesInterval(i)
		d.maybePostRequests(i + 1)
		d.clock.At(start+int64(i+2)*interval+5000, func() { tickInterval(i + 1) })
	}
	first := d.clk.Start // the homes' first interval
	d.clock.At(start+int64(first+1)*interval+5000, func() { tickInterval(first) })

	wallStart := time.Now()
	var pace func(int64)
	if !d.cfg.Deterministic {
		pace = func(v int64) {
			due := wallStart.Add(time.Duration(float64(v-runStart)/d.cfg.Speed) * time.Millisecond)
			if w := time.Until(due); w > 0 {
				time.Sleep(w)
			}
		}
	}
	lastProgress := -1.0
	done := func() bool {
		h := d.nodes[0].Ledger().Height()
		frac := 0.0
		if d.cfg.Blocks > 0 {
			frac = float64(h) / float64(d.cfg.Blocks)
		}
		if endMs > 0 {
			frac = max(frac, float64(d.clock.Now()-runStart)/float64(endMs-runStart))
		}
		if d.cfg.Progress != nil && frac-lastProgress >= 0.001 {
			lastProgress = frac
			d.cfg.Progress(min(frac, 1))
		}
		return d.interrupt.Load() || (d.cfg.Blocks > 0 && h >= d.cfg.Blocks) || (endMs > 0 && d.clock.Now() >= endMs)
	}
	// The validators' signature checks run on every core while the event
	// loop goes on (the same run, event for event: SimNet.Parallel).
	if d.net != nil && !d.cfg.serial {
		d.net.Parallel(runtime.GOMAXPROCS(0) - 1)
	}
	// Stopped before the summary: on libp2p the validators run on their
	// own goroutines until then.
	stop := sync.OnceFunc(d.clock.Stop)
	defer stop()
	if err := d.clock.Run(done, pace); err != nil {
		return nil, err
	}
	// Drain: the homes stop; more blocks carry what they signed (at most
	// 20 blocks, in case a reading was lost).
	d.stopped = true
	target := d.nodes[0].Ledger().Height() + 20
	if d.cfg.Blocks == 0 && !d.interrupt.Load() {
		if err := d.clock.Run(func() bool { return d.nodes[0].Ledger().Height() >= target || d.readingsSettled() }, pace); err != nil {
			return nil, err
		}
	}
	stop()
	if d.cfg.Progress != nil {
		d.cfg.Progress(1)
	}
	return d.summarize()
}

// readingsSettled reports whether every reading the homes signed is in a
// block (accepted or rejected), as validator 0 saw it.
func (d *Devnet) readingsSettled() bool {
	for k := range d.stats.ReadingsSigned {
		n := d.stats.ReadingsAccepted[k]
		for _, c := range d.stats.ReadingsRejected[k] {
			n += c
		}
		if n != d.stats.ReadingsSigned[k] {
			return false
		}
	}
	return true
}

func (d *Devnet) registerPayload(i int, h *sim.Home) *ledger.RegisterSite {
	c := h.Config()
	pop, err := h.Key().SignTyped(ledger.SitePoPTag, d.genesis.ChainID, ledger.SitePoPBody(d.owners[i].Address()))
	if err != nil {
		panic(err)
	}
	return &ledger.RegisterSite{SiteKey: h.Key().Public().Compressed(), PoP: pop, Zone: devnetZone,
		LatE6: int32(c.LatE6), LonE6: int32(c.LonE6), Devices: SimSiteDevices(c)}
}

// SimSiteDevices is what a simulated home registers: its PV, battery, EV
// charger and flexible load, and the grid meter.
func SimSiteDevices(c sim.HomeConfig) []ledger.Device {
	var devs []ledger.Device
	if c.PVNameplateW > 0 {
		devs = append(devs, ledger.Device{Kind: ledger.DevicePV, NameplateW: uint32(c.PVNameplateW)})
	}
	if c.BatteryCapacityWh > 0 {
		devs = append(devs, ledger.Device{Kind: ledger.DeviceBattery, NameplateW: uint32(c.BatteryMaxW), StorageWh: uint32(c.BatteryCapacityWh)})
	}
	if c.EVChargerW > 0 {
		devs = append(devs, ledger.Device{Kind: ledger.DeviceEVCharger, NameplateW: uint32(c.EVChargerW)})
	}
	if c.FlexW > 0 {
		devs = append(devs, ledger.Device{Kind: ledger.DeviceFlexibleLoad, NameplateW: uint32(c.FlexW)})
	}
	return append(devs, ledger.Device{Kind: ledger.DeviceMeter, NameplateW: 25_000})
}

// homesInterval steps every home through interval i, records the truth of
// committed windows and broadcasts the signed readings.
func (d *Devnet) homesInterval(i uint64) {
	steps := make([]sim.Interval, len(d.fleet.Homes))
	for k, h := range d.fleet.Homes {
		steps[k] = h.Step()
		r, err := h.Reading(d.genesis.ChainID)
		if err != nil {
			continue
		}
		d.stats.ReadingsSigned[k]++
		d.client.Broadcast(TopicReading, r.Encode())
	}
	// One pass over the dispatched windows (not one per home).
	for w := range d.windows {
		hw := &d.windows[w]
		si := steps[hw.home]
		if si.Index < hw.start || si.Index >= hw.end {
			continue
		}
		if hw.up {
			hw.trueWh -= si.DeliveredWh()
		} else {
			hw.trueWh += si.DeliveredWh()
		}
	}
}

// maybePostRequests: at devnetRequestHour local each day from the second
// day on, the utility posts the day's requests: an evening "down" request
// (17:00–20:00) with a whole-site method, alternating 10-in-10 style and
// high-X-of-Y rules sized to the history there is, and a battery request
// with the device method.
func (d *Devnet) maybePostRequests(i uint64) {
	perDay := uint64(86400 / d.genesis.Params.IntervalSeconds)
	perHour := perDay / 24
	// Local day and interval of day (genesis is local midnight).
	day, slot := i/perDay, i%perDay
	if day == 0 || slot != devnetRequestHour*perHour {
		return
	}
	var netW, batW uint64
	for _, h := range d.fleet.Homes {
		c := h.Config()
		netW += uint64(commitW(c, false))
		batW += uint64(c.BatteryMaxW)
	}
	history := uint16(min(day, 10))
	start, end := day*perDay+17*perHour, day*perDay+20*perHour
	method := baseline.MethodXofY
	rules := ledger.BaselineRules{WeekdayX: history, WeekdayY: history, WeekendX: min(history, 4), WeekendY: min(history, 4), LookbackDays: 45}
	if day%2 == 0 {
		method = baseline.MethodHighXofY
		rules = ledger.BaselineRules{WeekdayX: max(history*4/5, 1), WeekdayY: history, WeekendX: 1, WeekendY: min(history, 3), LookbackDays: 45}
	}
	post := func(t ledger.FlexTerms) {
		d.send(d.utility, &ledger.FlexRequestTx{Terms: t})
		d.stats.Requests++
		d.stats.RequestedWh += t.TargetW * (t.End - t.Start) * uint64(d.genesis.Params.IntervalSeconds) / 3600
	}
	if netW > 0 {
		// With a randomized control group: the chain splits the committed
		// homes one block after the deadline; the placebos' error corrects
		// every dispatched home's delivery.
		post(ledger.FlexTerms{Zone: devnetZone, Direction: ledger.FlexDown, Start: start, End: end, TargetW: netW,
			PriceBaseUnitsPerKWh: devnetPriceBase, Deadline: start - perHour, Method: uint8(method),
			UTCOffsetSeconds: devnetUTCOffset, Rules: rules,
			ControlSharePPM: devnetControlSharePPM, ControlPayPPM: devnetControlPayPPM})
	}
	if batW > 0 {
		post(ledger.FlexTerms{Zone: devnetZone, Direction: ledger.FlexDown, Start: start, End: end, TargetW: batW,
			PriceBaseUnitsPerKWh: devnetPriceBase, Deadline: start - perHour, Method: uint8(baseline.MethodDevice),
			Channel: ledger.ChannelBattery, UTCOffsetSeconds: devnetUTCOffset,
			Rules: ledger.BaselineRules{LookbackDays: uint16(min(day, 20))}})
	}
	d.logf("utility posts requests for 17:00–20:00: %d W whole-site (%s), %d W battery (device method)", netW, method, batW)
}

// commitW is what a home commits to a whole-site (battery=false) or a
// battery request. A site can be committed to one request at a time (the
// ledger refuses overlapping windows, so one delivery is never paid
// twice): homes with a battery answer the battery requests with it, the
// others the whole-site requests with their flexible load or EV charger.
func commitW(c sim.HomeConfig, battery bool) int64 {
	switch {
	case battery:
		return c.BatteryMaxW
	case c.BatteryMaxW > 0:
		return 0
	case c.FlexW > 0:
		return c.FlexW
	}
	return c.EVChargerW
}

// observe is validator 0's view of each committed block: it keeps the
// statistics, makes homes commit to new requests and logs what happened.
func (d *Devnet) observe(n *Node, b *ledger.Block, r *ledger.BlockResult) {
	h := b.Header.Height
	var acc, rej int
	for _, rc := range r.Receipts {
		for _, rr := range rc.Readings {
			k, ok := d.homeOf[rr.Site]
			if !ok {
				continue
			}
			if rr.Reason == ledger.RejectNone {
				d.stats.ReadingsAccepted[k]++
				acc++
				if rd, ok, _ := n.Ledger().Reading(rr.Site, rr.Interval); ok {
					d.stats.EnergyImportWh += uint64(rd.GridImportWh)
					d.stats.EnergyExportWh += uint64(rd.GridExportWh)
					d.stats.EnergyPVWh += uint64(rd.PVWh)
				}
			} else {
				d.stats.ReadingsRejected[k][rr.Reason]++
				rej++
			}
		}
	}
	if len(d.awaitSplit) > 0 {
		d.checkSplits(n)
	}
	var recs uint64
	for _, ev := range r.Events {
		switch ev.Kind {
		case ledger.EventRECIssued:
			d.stats.RECsWh += ev.Wh
			recs += ev.Wh
		case ledger.EventFlexPosted:
			d.onRequest(n, ev.ID)
		case ledger.EventFlexSettled:
			d.onSettled(n, ev.ID)
		}
	}
	switch {
	case recs > 0:
		d.logf("height %d: %d readings accepted, %d rejected; %s issued", h, acc, rej, ledger.FormatREC(recs))
	case acc+rej > 0:
		d.logf("height %d: %d readings accepted, %d rejected", h, acc, rej)
	}
}

// onRequest: homes able to help commit, and their devices are scheduled.
func (d *Devnet) onRequest(n *Node, id uint64) {
	req, ok, err := n.Ledger().FlexRequest(id)
	if err != nil || !ok {
		return
	}
	t := req.Terms
	battery := t.Method == uint8(baseline.MethodDevice)
	p := d.genesis.Params
	left := t.TargetW
	var homes []int
	for k, h := range d.fleet.Homes {
		c := h.Config()
		w := uint64(commitW(c, battery))
		if w == 0 || w > left {
			continue
		}
		kind, power := meter.DispatchBatteryDischarge, c.BatteryMaxW
		switch {
		case battery:
		case c.FlexW > 0:
			kind, power = meter.DispatchLoadCurtail, c.FlexW
		case c.EVChargerW > 0:
			kind, power = meter.DispatchChargerPause, 0
		}
		bond := ledger.MaxPayout(w, t.End-t.Start, t.PriceBaseUnitsPerKWh, &p)*uint64(p.FlexMinBondPpm)/1_000_000 + 1
		d.send(d.owners[k], &ledger.FlexCommitTx{RequestID: id, Site: h.Site(), CommittedW: w, BondBaseUnits: bond})
		ev := sim.Event{Start: t.Start, End: t.End, Kind: kind, PowerW: power}
		if t.ControlSharePPM > 0 {
			// Told at the split whether it is dispatched (observe).
			d.awaitSplit[id] = append(d.awaitSplit[id], pendingDispatch{home: k, ev: ev})
		} else {
			d.dispatch(id, k, ev, t.Direction == ledger.FlexUp)
		}
		homes = append(homes, k)
		left -= w
	}
	d.logf("request %d on chain (%s, %d W); %d homes commit", id, baseline.Method(t.Method), t.TargetW, len(homes))
}

// dispatch schedules home k's devices for request id's window.
func (d *Devnet) dispatch(id uint64, k int, ev sim.Event, up bool) {
	ev.Posted = min(d.clk.IntervalAt(d.clock.Now()/1000), ev.Start)
	if err := d.fleet.Homes[k].Schedule(ev); err == nil {
		d.windows = append(d.windows, homeWindow{request: id, home: k, start: ev.Start, end: ev.End, up: up})
	}
}

// pendingDispatch is a home's response to a request with a control group,
// held until the chain's split says whether it is dispatched.
type pendingDispatch struct {
	home int
	ev   sim.Event
}

// checkSplits: for each request with a control group that the chain has
// split since, the dispatched homes' devices are scheduled; the control
// homes are told they are not dispatched and carry on as usual.
func (d *Devnet) checkSplits(n *Node) {
	for _, id := range slices.Sorted(maps.Keys(d.awaitSplit)) {
		req, ok, err := n.Ledger().FlexRequest(id)
		if err != nil || !ok {
			continue
		}
		if req.Control == nil {
			if req.Status == ledger.FlexOpen {
				continue // not split yet
			}
			delete(d.awaitSplit, id) // settled or cancelled without a split
			continue
		}
		control := map[wallet.Address]bool{}
		for i, c := range req.Commitments {
			control[c.Site] = req.Control[i]
		}
		var sent, placebo int
		for _, pd := range d.awaitSplit[id] {
			if control[d.fleet.Homes[pd.home].Site()] {
				placebo++
				continue
			}
			d.dispatch(id, pd.home, pd.ev, req.Terms.Direction == ledger.FlexUp)
			sent++
		}
		delete(d.awaitSplit, id)
		d.logf("request %d split at height %d: %d homes dispatched, %d in the control group", id, req.SplitHeight, sent, placebo)
	}
}

// onSettled records a settlement beside the truth.
func (d *Devnet) onSettled(n *Node, id uint64) {
	fs, ok, err := n.Ledger().FlexSettlement(id)
	if err != nil || !ok {
		return
	}
	d.stats.Settled++
	d.stats.Flex = append(d.stats.Flex, fs)
	truth := map[wallet.Address]int64{}
	for _, w := range d.windows {
		if w.request == id {
			truth[d.fleet.Homes[w.home].Site()] = w.trueWh
		}
	}
	d.stats.Truth[id] = truth
	var delivered, trueWh int64
	var paid uint64
	for _, c := range fs.Commitments {
		d.stats.Commitments++
		delivered += c.DeliveredWh
		trueWh += truth[c.Site]
		paid += c.PayoutBaseUnits
		d.stats.SlashedBaseUnits += c.SlashBaseUnits
		if k, ok := d.homeOf[c.Site]; ok && d.stats.gamingHomes[k] {
			d.stats.GamingCommitments++
			d.stats.GamingPaidWh += c.PaidWh
			d.stats.GamingTrueWh += truth[c.Site]
			if c.PaidWh > max(truth[c.Site], 0) {
				d.stats.GamingOverpaid++
			}
		}
	}
	d.stats.DeliveredWh += delivered
	d.stats.TrueDeliveredWh += trueWh
	d.stats.PaidBaseUnits += paid
	d.logf("request %d settled: %d commitments, delivered %d Wh by the chain's baseline (truly %d Wh), paid %s",
		id, len(fs.Commitments), delivered, trueWh, ledger.FormatFLX(paid))
}

func (d *Devnet) summarize() (*DevnetStats, error) {
	s := &d.stats
	l0 := d.nodes[0].Ledger()
	s.Height, s.StateRoot = l0.Height(), l0.StateRoot()
	s.SimulatedDays = float64(d.clock.Now()-d.startMs) / 86_400_000 // this run's
	s.RootsAgree = true
	for _, n := range d.nodes[1:] {
		if n == nil {
			continue
		}
		l := n.Ledger()
		switch {
		case l.Height() == s.Height && l.StateRoot() != s.StateRoot:
			s.RootsAgree = false
		case l.Height() < s.Height:
			if b, err := l0.Block(l.Height()); err == nil && b.Header.StateRoot != l.StateRoot() {
				s.RootsAgree = false
			}
		}
		for t, c := range n.Bad {
			s.BadMessages[t] += c
		}
	}
	for t, c := range d.nodes[0].Bad {
		s.BadMessages[t] += c
	}
	s.ReadingsUnaccounted = make([]int64, len(s.ReadingsSigned))
	for k, h := range d.fleet.Homes {
		var rej uint64
		for _, c := range s.ReadingsRejected[k] {
			rej += c
		}
		s.ReadingsPending[k] = uint64(d.nodes[0].Readings.CountSite(h.Site()))
		s.ReadingsUnaccounted[k] = int64(s.ReadingsSigned[k]) - int64(s.ReadingsAccepted[k]) - int64(rej) - int64(s.ReadingsPending[k])
	}
	sup, err := l0.Supply()
	if err != nil {
		return nil, err
	}
	s.Supply = sup
	split := map[string]uint64{}
	add := func(role string, a wallet.Address) error {
		acc, err := l0.Account(a)
		if err != nil {
			return err
		}
		split[role] += acc.Balance + acc.Bonded + acc.UnbondingTotal()
		return nil
	}
	for _, k := range d.valKeys {
		if err := add("validators", k.Address()); err != nil {
			return nil, err
		}
	}
	for _, k := range d.owners {
		if err := add("homes", k.Address()); err != nil {
			return nil, err
		}
	}
	for _, h := range d.fleet.Homes {
		if site, ok, err := l0.Site(h.Site()); err == nil && ok {
			split["homes"] += site.Deposit
		}
	}
	if err := add("utility", d.utility.Address()); err != nil {
		return nil, err
	}
	if err := add("community pool", ledger.CommunityPool); err != nil {
		return nil, err
	}
	if err := add("flexibility pool", ledger.FlexibilityPool); err != nil {
		return nil, err
	}
	var held uint64
	for id := uint64(1); ; id++ {
		r, ok, err := l0.FlexRequest(id)
		if err != nil || !ok {
			break
		}
		if r.Status == ledger.FlexOpen {
			held += r.Held()
		}
	}
	split["open requests (escrow and bonds)"] = held
	s.SupplySplit = split
	return s, nil
}

// RestartValidator stops validator i cleanly and starts it again from its
// data directory (ledger and consensus WAL). The node rejoins, replays its
// WAL, catches up by block sync and votes again.
func (d *Devnet) RestartValidator(i int) error {
	if d.p2p != nil {
		return errors.New("devnet: crashes and restarts are for the deterministic devnet")
	}
	d.net.Detach(i)
	d.links[i].cut = true
	if err := d.nodes[i].Close(); err != nil {
		return err
	}
	d.nodes[i] = nil
	return d.startValidator(i)
}

// CrashValidator cuts validator i's power now (between two events of the
// network; needs CrashableFS): its file system becomes a crash clone of
// itself, which keeps what was synced and, at random (seeded), about
// unsyncedDataPercent of the blocks and directory entries that were not.
// The process is abandoned: it is detached from the network and never
// closed on the data it leaves (it is closed on the discarded file
// system, only to free its memory). A new process for validator i starts
// on the clone, replays its WAL, catches up and votes again.
func (d *Devnet) CrashValidator(i, unsyncedDataPercent int) error {
	if d.p2p != nil {
		return errors.New("devnet: crashes and restarts are for the deterministic devnet")
	}
	if err := d.crash(i, unsyncedDataPercent); err != nil {
		return err
	}
	return d.restartCrashed(i)
}

// crash takes the crash clone of validator i's file system and cuts the
// process off the network.
func (d *Devnet) crash(i, unsyncedDataPercent int) error {
	if !d.cfg.CrashableFS || i < 0 || i >= len(d.fs) || d.fs[i] == nil {
		return fmt.Errorf("devnet: validator %d is not on a crashable file system", i)
	}
	if unsyncedDataPercent < 0 || unsyncedDataPercent > 100 {
		return fmt.Errorf("devnet: unsynced data percent %d: want 0..100", unsyncedDataPercent)
	}
	d.crashes++
	if n := d.nodes[i]; n != nil && n.cfg.Net == Transport(d.links[i]) {
		d.crashedAt = n.Ledger().Height() // else it crashed while starting: as before
	}
	rng := rand.New(rand.NewPCG(d.cfg.Seed, 0xc4a5<<32|d.crashes))
	d.fs[i] = d.fs[i].CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsyncedDataPercent, RNG: rng})
	d.links[i].cut = true
	d.net.Detach(i)
	return nil
}

// restartCrashed starts validator i on its (cloned) file system and
// releases the abandoned process.
func (d *Devnet) restartCrashed(i int) error {
	old := d.nodes[i]
	err := d.startValidator(i)
	if old != nil && old != d.nodes[i] {
		_ = old.Close() // on the file system the crash discarded
	}
	if err == nil && d.restarted != nil {
		d.restarted(i, d.nodes[i])
	}
	return err
}

// armCrash makes validator i crash right after its WAL (file or
// directory) has been synced afterSyncs more times: inside the event that
// synced it, after the sync returned and before what follows (sending the
// messages it signed, committing the block it decided, or the rest of a
// compaction). Its restart is the next event.
func (d *Devnet) armCrash(i, afterSyncs, unsyncedDataPercent int) {
	d.armed[i], d.armedPct[i] = afterSyncs, unsyncedDataPercent
}

// walSynced is validator i's hook after each sync of its WAL.
func (d *Devnet) walSynced(i int, lk *link) {
	if lk.cut || d.armed[i] == 0 {
		return
	}
	if d.armed[i]--; d.armed[i] > 0 {
		return
	}
	if err := d.crash(i, d.armedPct[i]); err != nil {
		d.net.fail(err)
		return
	}
	d.net.At(d.net.Now(), func() { d.net.fail(d.restartCrashed(i)) })
}

// armGuardCrash makes validator i crash right after its double-sign guard
// has been synced afterSyncs more times (each signature syncs the guard's
// file, then its directory): after the signature was computed and before
// the guard's new state is durable (an odd count), or after it is durable
// and before the WAL records the message and it is sent (an even count).
func (d *Devnet) armGuardCrash(i, afterSyncs, unsyncedDataPercent int) {
	if d.armedGuard == nil {
		d.armedGuard = map[int]int{}
	}
	d.armedGuard[i], d.armedPct[i] = afterSyncs, unsyncedDataPercent
}

// guardSynced is validator i's hook after each sync of its guard.
func (d *Devnet) guardSynced(i int, lk *link) {
	if lk.cut || d.armedGuard[i] == 0 {
		return
	}
	if d.armedGuard[i]--; d.armedGuard[i] > 0 {
		return
	}
	if err := d.crash(i, d.armedPct[i]); err != nil {
		d.net.fail(err)
		return
	}
	d.net.At(d.net.Now(), func() { d.net.fail(d.restartCrashed(i)) })
}
