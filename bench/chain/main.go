// Command chain is the chain benchmark of issue 16 (bench/chain/run runs
// it): in one run it starts 4 gridmint validators (`gridmint testnet
// init` and 4 `gridmint run` processes on 127.0.0.1-4) and offers them
// signed transfers of about 1 KiB (TxTransferMemo) at rising rates, then
// starts 4 CometBFT v1.0.1 validators with the kvstore app (`cometbft
// testnet --v 4`, on 127.0.1.1-4) and offers them 1 KiB transactions at
// the same rates with its test/loadtime `load` tool, reads the latencies
// with loadtime's `report`, and prints one table: per rate, committed tx/s
// and p50/p99 submit-to-commit latency of both, and the ratios.
//
// Ours: every transaction is signed (secp256k1) by one of many funded
// accounts (`testnet init --fund-file`; each sender sends at most a few
// per step, so no sender's nonce run holds the rest up), pre-signed before
// the nodes start and published on the tx gossip topic from a libp2p host
// of the driver's own, bootstrapped to the 4 validators. Commit times are
// node-0's, read from its status socket (/v1/commits); latency is commit
// time minus publish time, both on this machine's clock.
//
// CometBFT: loadtime's latency is the block's time minus the timestamp
// written into the transaction when it was made. Committed tx/s, for
// both, is the step's committed transactions divided by the span from the
// first submission to the last commit.
//
// At the highest rate, node-0's CPU profile (gridmint run --pprof) is
// written to the work directory and its top functions printed: what
// limits us at saturation.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/node"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/wallet"
	"github.com/libp2p/go-libp2p/core/peer"
)

type options struct {
	rates           []int
	step, drain     time.Duration
	dir             string
	gridmint        string
	cometbft        string
	load, report    string
	only            string
	blockIntervalMs int
	perSender       int
	memo            int
	out             string
	logLevel        string
}

func main() {
	var o options
	var rates string
	flag.StringVar(&rates, "rates", "100,250,500,1000,2000", "offered rates, tx/s, in order")
	flag.DurationVar(&o.step, "step", 15*time.Second, "how long each rate is offered")
	flag.DurationVar(&o.drain, "drain", 20*time.Second, "how long to wait after a step for its transactions to commit")
	flag.StringVar(&o.dir, "dir", "", "work directory (short: unix socket paths are bounded); default a new one under /tmp")
	flag.StringVar(&o.gridmint, "gridmint", "bin/gridmint", "the gridmint binary")
	flag.StringVar(&o.cometbft, "cometbft", "cometbft", "the cometbft v1.0.1 binary")
	flag.StringVar(&o.load, "load", "load", "cometbft test/loadtime load binary")
	flag.StringVar(&o.report, "report", "report", "cometbft test/loadtime report binary")
	flag.StringVar(&o.only, "only", "both", "ours, comet or both")
	flag.IntVar(&o.blockIntervalMs, "block-interval-ms", 1000, "our pause after a block (CometBFT's timeout_commit is 1 s by default)")
	flag.IntVar(&o.perSender, "per-sender", 5, "transactions per sender per step")
	flag.IntVar(&o.memo, "memo", 891, "memo bytes (891: a 1,024-byte transaction)")
	flag.StringVar(&o.out, "out", "", "also write the table (markdown) to this file")
	flag.StringVar(&o.logLevel, "log-level", "info", "our nodes' [log] level")
	flag.Parse()
	for _, r := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			log.Fatalf("-rates: %q", r)
		}
		o.rates = append(o.rates, n)
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("/tmp", "gmb")
		if err != nil {
			log.Fatal(err)
		}
		o.dir = d
	}
	log.SetFlags(log.Ltime)
	log.Printf("work directory %s", o.dir)
	var ours, comet []result
	var err error
	if o.only != "comet" {
		if ours, err = runOurs(&o); err != nil {
			log.Fatalf("gridmint: %v", err)
		}
	}
	if o.only != "ours" {
		if comet, err = runComet(&o); err != nil {
			log.Fatalf("cometbft: %v", err)
		}
	}
	table := render(o.rates, ours, comet)
	fmt.Print(table)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(table), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// result is one step's figures.
type result struct {
	rate      int
	offered   int
	committed int
	txPerSec  float64
	p50, p99  time.Duration
}

func stats(rate, offered int, lat []time.Duration, first, last time.Time) result {
	r := result{rate: rate, offered: offered, committed: len(lat)}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	r.p50 = lat[len(lat)/2]
	r.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	if span := last.Sub(first); span > 0 {
		r.txPerSec = float64(len(lat)) / span.Seconds()
	}
	return r
}

func render(rates []int, ours, comet []result) string {
	var b strings.Builder
	fmt.Fprintln(&b, "| offered tx/s | ours tx/s | ours p50 | ours p99 | ours committed | comet tx/s | comet p50 | comet p99 | comet committed | tx/s ours/comet | p50 ours/comet |")
	fmt.Fprintln(&b, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	get := func(rs []result, rate int) (result, bool) {
		for _, r := range rs {
			if r.rate == rate {
				return r, true
			}
		}
		return result{}, false
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
	for _, rate := range rates {
		o, okO := get(ours, rate)
		c, okC := get(comet, rate)
		cells := []string{strconv.Itoa(rate)}
		for _, x := range []struct {
			r  result
			ok bool
		}{{o, okO}, {c, okC}} {
			if x.ok {
				cells = append(cells, fmt.Sprintf("%.0f", x.r.txPerSec), ms(x.r.p50), ms(x.r.p99), fmt.Sprintf("%d/%d", x.r.committed, x.r.offered))
			} else {
				cells = append(cells, "-", "-", "-", "-")
			}
		}
		if okO && okC && c.txPerSec > 0 && c.p50 > 0 {
			cells = append(cells, fmt.Sprintf("%.2fx", o.txPerSec/c.txPerSec), fmt.Sprintf("%.2fx", float64(o.p50)/float64(c.p50)))
		} else {
			cells = append(cells, "-", "-")
		}
		fmt.Fprintln(&b, "| "+strings.Join(cells, " | ")+" |")
	}
	sat := func(rs []result) float64 {
		m := 0.0
		for _, r := range rs {
			m = max(m, r.txPerSec)
		}
		return m
	}
	if len(ours) > 0 && len(comet) > 0 && sat(comet) > 0 {
		fmt.Fprintf(&b, "\nsaturation (best step): ours %.0f tx/s, CometBFT %.0f tx/s (%.2fx)\n", sat(ours), sat(comet), sat(ours)/sat(comet))
	}
	return b.String()
}

// proc is a started process with its log.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

func start(dir, name string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); f.Close() }()
	return p, nil
}

// stop sends SIGTERM and waits (SIGKILL after 20 s).
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func stopAll(ps []*proc) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop() }()
	}
	wg.Wait()
}

func waitUntil(d time.Duration, what string, ps []*proc, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		for _, p := range ps {
			select {
			case err := <-p.done:
				return fmt.Errorf("%s exited (%v) while waiting for %s", p.name, err, what)
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

const ourChain = "gridmint-bench"

// senderKey is sender i's key, the same in every run.
func senderKey(i int) *wallet.PrivateKey {
	var s [32]byte
	binary.BigEndian.PutUint64(s[:], uint64(i))
	s[31] = 0xbe
	k, err := wallet.GenerateKeyFrom(rand.NewChaCha8(s))
	if err != nil {
		panic(err)
	}
	return k
}

type plan struct {
	rate int
	txs  [][]byte
	hash [][32]byte
}

// sign makes each step's transactions: rate × step of them, from fresh
// senders, perSender each, a sender's nonces spread over the step.
func sign(o *options) ([]plan, []wallet.Address, error) {
	var plans []plan
	var addrs []wallet.Address
	next := 0
	memo := make([]byte, o.memo)
	for i := range memo {
		memo[i] = byte('a' + i%26)
	}
	to := senderKey(1 << 40).Address()
	for _, rate := range o.rates {
		n := rate * int(o.step/time.Millisecond) / 1000
		senders := (n + o.perSender - 1) / o.perSender
		keys := make([]*wallet.PrivateKey, senders)
		for i := range keys {
			keys[i] = senderKey(next + i)
			addrs = append(addrs, keys[i].Address())
		}
		next += senders
		p := plan{rate: rate, txs: make([][]byte, n), hash: make([][32]byte, n)}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < n; j += 2 {
					tx := &ledger.Tx{Nonce: uint64(j / senders), Fee: ledger.DefaultParams().MinFee,
						Payload: &ledger.TransferMemo{To: to, Amount: 1, Memo: memo}}
					if err := tx.Sign(keys[j%senders], ourChain); err != nil {
						errs[w] = err
						return
					}
					p.txs[j] = tx.Encode()
					p.hash[j] = sha256.Sum256(p.txs[j])
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, nil, err
		}
		plans = append(plans, p)
	}
	return plans, addrs, nil
}

func runOurs(o *options) ([]result, error) {
	dir := filepath.Join(o.dir, "g")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	t0 := time.Now()
	plans, addrs, err := sign(o)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, p := range plans {
		total += len(p.txs)
	}
	log.Printf("gridmint: signed %d transactions of %d bytes from %d senders in %s", total, len(plans[0].txs[0]), len(addrs), time.Since(t0).Round(time.Millisecond))
	var fund strings.Builder
	for _, a := range addrs {
		fund.WriteString(a.Hex() + "\n")
	}
	pw := filepath.Join(dir, "pw")
	for _, f := range []struct{ path, data string }{{filepath.Join(dir, "fund"), fund.String()}, {pw, "bench\n"}} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o600); err != nil {
			return nil, err
		}
	}
	net := filepath.Join(dir, "net")
	out, err := exec.Command(o.gridmint, "testnet", "init", "--validators", "4", "--dir", net, "--chain-id", ourChain,
		"--port", "27656", "--block-interval-ms", strconv.Itoa(o.blockIntervalMs), "--fund-file", filepath.Join(dir, "fund"),
		"--password-file", pw, "--light-kdf").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("testnet init: %v: %s", err, out)
	}
	for i := range 4 {
		path := filepath.Join(node.TestnetNodeDir(net, i), "config.toml")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(b), `level = "info"`, `level = "`+o.logLevel+`"`, 1)), 0o644); err != nil {
			return nil, err
		}
	}
	var procs []*proc
	defer func() { stopAll(procs) }()
	const pprofAddr = "127.0.0.1:27660"
	for i := range 4 {
		args := []string{"run", "--home", node.TestnetNodeDir(net, i), "--password-file", pw}
		if i == 0 {
			args = append(args, "--pprof", pprofAddr)
		}
		p, err := start(dir, fmt.Sprintf("node-%d", i), o.gridmint, args...)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	home0 := node.TestnetNodeDir(net, 0)
	if err := waitUntil(2*time.Minute, "4 connected nodes at height 2", procs, func() bool {
		for i := range 4 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := node.QueryStatus(ctx, node.TestnetNodeDir(net, i))
			cancel()
			if err != nil || st.Height < 2 || st.Peers < 3 {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, err
	}
	h, err := driverHost(net)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if err := waitUntil(time.Minute, "the driver's host in the tx topic of 4 nodes", procs, func() bool {
		return len(h.TopicPeers(p2p.TopicTx)) >= 4
	}); err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second) // gossipsub grafts the mesh on its heartbeat (1 s)
	f := newFollower(home0)
	go f.run()
	defer f.close()
	// Node-0's height and consensus round as they change, for a look at
	// stalls (rounds that fail).
	rounds, err := os.Create(filepath.Join(dir, "rounds.log"))
	if err != nil {
		return nil, err
	}
	defer rounds.Close()
	stopRounds := make(chan struct{})
	defer close(stopRounds)
	go func() {
		var last string
		for {
			select {
			case <-stopRounds:
				return
			case <-time.After(50 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := node.QueryStatus(ctx, home0)
			cancel()
			if err != nil {
				continue
			}
			if cur := fmt.Sprintf("height %d round %d", st.Height, st.Round); cur != last {
				fmt.Fprintf(rounds, "%s %s\n", time.Now().Format("15:04:05.000"), cur)
				last = cur
			}
		}
	}()
	var results []result
	for si, p := range plans {
		profile := si == len(plans)-1
		var profDone chan error
		if profile {
			profDone = make(chan error, 1)
			go func() {
				time.Sleep(o.step / 3)
				profDone <- fetchProfile("http://"+pprofAddr+"/debug/pprof/profile?seconds=10", filepath.Join(o.dir, "gridmint-cpu.pprof"))
			}()
		}
		sent := make([]time.Time, len(p.txs))
		begin := time.Now()
		dropped := 0
		for j, tx := range p.txs {
			at := begin.Add(time.Duration(j) * time.Second / time.Duration(p.rate))
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			sent[j] = time.Now()
			if err := h.Publish(p2p.TopicTx, tx); err != nil {
				dropped++
			}
		}
		offeredFor := time.Since(begin)
		// Drain: wait for the step's transactions to commit.
		deadline := time.Now().Add(o.drain)
		for time.Now().Before(deadline) && f.count(p.hash) < len(p.hash) {
			time.Sleep(200 * time.Millisecond)
		}
		var lat []time.Duration
		last := begin
		for j, hh := range p.hash {
			if c, ok := f.at(hh); ok {
				lat = append(lat, c.Sub(sent[j]))
				if c.After(last) {
					last = c
				}
			}
		}
		r := stats(p.rate, len(p.txs), lat, begin, last)
		log.Printf("gridmint %5d tx/s offered (%.1f s, %d publish errors): %d/%d committed, %.0f tx/s, p50 %s, p99 %s",
			p.rate, offeredFor.Seconds(), dropped, r.committed, r.offered, r.txPerSec, r.p50, r.p99)
		results = append(results, r)
		if profile {
			if err := <-profDone; err != nil {
				log.Printf("profile: %v", err)
			} else {
				top, _ := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount", "45", o.gridmint, filepath.Join(o.dir, "gridmint-cpu.pprof")).CombinedOutput()
				log.Printf("node-0 CPU profile at %d tx/s offered (%s):\n%s", p.rate, filepath.Join(o.dir, "gridmint-cpu.pprof"), top)
			}
		}
		// Whatever is left in the pools goes before the next step starts.
		_ = waitUntil(o.drain, "empty pools", procs, func() bool { return f.idle() })
	}
	return results, nil
}

func fetchProfile(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// driverHost is a libp2p host on 127.0.0.9 bootstrapped to the 4 nodes,
// joined to the tx topic: it publishes, and neither delivers nor forwards
// what it hears (Ignore).
func driverHost(net string) (*p2p.Host, error) {
	var boot []string
	for i := range 2 {
		c, err := node.LoadConfig(filepath.Join(node.TestnetNodeDir(net, i), "config.toml"))
		if err != nil {
			return nil, err
		}
		for _, b := range c.P2P.Bootstrap {
			if !slices.Contains(boot, b) {
				boot = append(boot, b)
			}
		}
	}
	key, err := wallet.GenerateKey()
	if err != nil {
		return nil, err
	}
	cfg := p2p.Config{Listen: []string{"/ip4/127.0.0.9/tcp/27656"}, Bootstrap: boot, LoopbackOnly: true, MaxPeers: 16,
		Limits: p2p.DefaultLimits(), MaxMessageBytes: p2p.DefaultMaxMessageBytes()}
	h, err := p2p.New(context.Background(), cfg, key, ourChain, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	err = h.Join(p2p.TopicTx, func(peer.ID, []byte) p2p.Verdict { return p2p.Ignore }, func(p2p.TopicID, peer.ID, []byte) {})
	if err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// follower reads node-0's commits and keeps when each transaction
// committed.
type follower struct {
	home   string
	mu     sync.Mutex
	when   map[[32]byte]time.Time
	height uint64
	lastTx time.Time
	stop   chan struct{}
	done   chan struct{}
}

func newFollower(home string) *follower {
	return &follower{home: home, when: map[[32]byte]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
}

func (f *follower) run() {
	defer close(f.done)
	for {
		select {
		case <-f.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		recs, err := node.QueryCommits(ctx, f.home, f.height)
		cancel()
		if err != nil {
			continue
		}
		f.mu.Lock()
		for _, r := range recs {
			t := time.UnixMilli(r.TimeMs)
			for _, s := range r.Txs {
				var h [32]byte
				if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
					copy(h[:], b)
					f.when[h] = t
				}
			}
			if len(r.Txs) > 0 {
				f.lastTx = time.Now()
			}
			f.height = max(f.height, r.Height)
		}
		f.mu.Unlock()
	}
}

func (f *follower) close() { close(f.stop); <-f.done }

func (f *follower) at(h [32]byte) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.when[h]
	return t, ok
}

func (f *follower) count(hs [][32]byte) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, h := range hs {
		if _, ok := f.when[h]; ok {
			n++
		}
	}
	return n
}

// idle: no block with transactions for 3 s.
func (f *follower) idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Since(f.lastTx) > 3*time.Second
}

// CometBFT.

func cometIP(i int) string { return fmt.Sprintf("127.0.1.%d", 1+i) }

func runComet(o *options) ([]result, error) {
	dir := filepath.Join(o.dir, "c")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	net := filepath.Join(dir, "net")
	out, err := exec.Command(o.cometbft, "testnet", "--v", "4", "--o", net, "--starting-ip-address", cometIP(0),
		"--p2p-port", "26656").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("cometbft testnet: %v: %s", err, out)
	}
	for i := range 4 {
		path := filepath.Join(net, fmt.Sprintf("node%d", i), "config", "config.toml")
		if err := editCometConfig(path, i); err != nil {
			return nil, err
		}
	}
	var procs []*proc
	defer func() { stopAll(procs) }()
	for i := range 4 {
		p, err := start(dir, fmt.Sprintf("node%d", i), o.cometbft, "start", "--home", filepath.Join(net, fmt.Sprintf("node%d", i)), "--proxy_app", "kvstore")
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	if err := waitUntil(2*time.Minute, "4 CometBFT nodes at height 2", procs, func() bool {
		for i := range 4 {
			if h, _, err := cometStatus(i); err != nil || h < 2 {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, err
	}
	var endpoints []string
	for i := range 4 {
		endpoints = append(endpoints, "ws://"+cometIP(i)+":26657/websocket")
	}
	type step struct {
		rate, sent int
		from, to   time.Time
	}
	var steps []step
	for _, rate := range o.rates {
		per := max(1, rate/4) // load's -r is per connection and endpoint
		from := time.Now()
		statsPath := filepath.Join(dir, fmt.Sprintf("load-%d.csv", rate))
		out, err := exec.Command(o.load, "-c", "1", "-T", strconv.Itoa(int(o.step/time.Second)), "-r", strconv.Itoa(per), "-s", "1024",
			"--endpoints", strings.Join(endpoints, ","), "--stats-output", statsPath).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("load at %d tx/s: %v: %s", rate, err, lastLines(out, 10))
		}
		log.Printf("cometbft %5d tx/s offered (-r %d on 4 endpoints): load done in %.1f s:\n%s", rate, per, time.Since(from).Seconds(), lastLines(out, 4))
		_ = waitUntil(o.drain, "an empty mempool", procs, func() bool {
			_, n, err := cometStatus(0)
			return err == nil && n == 0
		})
		// Two more blocks: report times a block's transactions by the
		// next block's time (its commit), and skips the last block.
		if h, _, err := cometStatus(0); err == nil {
			_ = waitUntil(o.drain, "two more blocks", procs, func() bool {
				h2, _, err := cometStatus(0)
				return err == nil && h2 >= h+2
			})
		}
		steps = append(steps, step{rate: per * 4, sent: loadSent(statsPath), from: from, to: time.Now()})
	}
	stopAll(procs)
	procs = nil
	csvPath := filepath.Join(o.dir, "comet-latencies.csv")
	backend := "pebbledb" // v1.0's default; the config says
	if b, err := os.ReadFile(filepath.Join(net, "node0", "config", "config.toml")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "db_backend" {
				backend = strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	out, err = exec.Command(o.report, "--database-type", backend, "--data-dir", filepath.Join(net, "node0", "data"), "--csv", csvPath).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("report: %v: %s", err, lastLines(out, 10))
	}
	rows, err := readCometCSV(csvPath)
	if err != nil {
		return nil, err
	}
	var results []result
	for si, s := range steps {
		var lat []time.Duration
		first, last := s.to, s.from
		for _, r := range rows {
			// A step's transactions were made (block time - latency)
			// while it ran.
			made := r.block.Add(-r.lat)
			if made.Before(s.from) || made.After(s.to) {
				continue
			}
			lat = append(lat, r.lat)
			if made.Before(first) {
				first = made
			}
			if r.block.After(last) {
				last = r.block
			}
		}
		rate := o.rates[si]
		res := stats(rate, s.sent, lat, first, last)
		log.Printf("cometbft %5d tx/s offered: %d committed, %.0f tx/s, p50 %s, p99 %s", rate, res.committed, res.txPerSec, res.p50, res.p99)
		results = append(results, res)
	}
	return results, nil
}

// loadSent is total_txs of load's --stats-output (-1 if unreadable).
func loadSent(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		return -1
	}
	for _, r := range recs {
		if len(r) >= 2 && r[0] == "total_txs" {
			if n, err := strconv.Atoi(r[1]); err == nil {
				return n
			}
		}
	}
	return -1
}

type cometRow struct {
	block time.Time
	lat   time.Duration
}

func readCometCSV(path string) ([]cometRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []cometRow
	for i, r := range recs {
		if i == 0 || len(r) < 3 {
			continue
		}
		bt, err1 := strconv.ParseInt(r[1], 10, 64)
		d, err2 := strconv.ParseInt(r[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, errors.Join(err1, err2))
		}
		out = append(out, cometRow{block: time.Unix(0, bt), lat: time.Duration(d)})
	}
	return out, nil
}

// cometStatus is node i's height and mempool size over its RPC.
func cometStatus(i int) (height int64, mempool int, err error) {
	c := http.Client{Timeout: 2 * time.Second}
	get := func(path string, v any) error {
		resp, err := c.Get("http://" + cometIP(i) + ":26657" + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(v)
	}
	var st struct {
		Result struct {
			SyncInfo struct {
				Height string `json:"latest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := get("/status", &st); err != nil {
		return 0, 0, err
	}
	var mp struct {
		Result struct {
			N string `json:"n_txs"`
		} `json:"result"`
	}
	if err := get("/num_unconfirmed_txs", &mp); err != nil {
		return 0, 0, err
	}
	height, _ = strconv.ParseInt(st.Result.SyncInfo.Height, 10, 64)
	mempool, _ = strconv.Atoi(mp.Result.N)
	return height, mempool, nil
}

// editCometConfig keeps node i on its own 127.0.1.x: P2P and RPC listen
// there, no PEX, no metrics, no pprof; the rest is cometbft testnet's.
func editCometConfig(path string, i int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out []string
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			section = t
		}
		key, _, _ := strings.Cut(t, " =")
		switch {
		case section == "[rpc]" && key == "laddr":
			line = `laddr = "tcp://` + cometIP(i) + `:26657"`
		case section == "[p2p]" && key == "laddr":
			line = `laddr = "tcp://` + cometIP(i) + `:26656"`
		case section == "[p2p]" && key == "pex":
			line = "pex = false"
		case section == "[p2p]" && key == "addr_book_strict":
			line = "addr_book_strict = false"
		case section == "[p2p]" && key == "allow_duplicate_ip":
			line = "allow_duplicate_ip = true"
		case section == "[instrumentation]" && key == "prometheus":
			line = "prometheus = false"
		case key == "pprof_laddr":
			line = `pprof_laddr = ""`
		}
		out = append(out, line)
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
