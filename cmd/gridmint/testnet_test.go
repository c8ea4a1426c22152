//go:build testnet

package main

// The multi-process testnet test: `make testnet-test` (go test -tags
// testnet -run TestTestnetProcesses ./cmd/gridmint). It builds the binary,
// so it is kept out of the default test run.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/node"
	"github.com/gridmint/gridmint/wallet"
)

// proc is one `gridmint run` process with its log file.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan error
}

type testnet struct {
	t     *testing.T
	bin   string
	dir   string
	pw    string
	mu    sync.Mutex
	procs map[int]*proc
	runs  map[int]int
}

func (tn *testnet) start(i int) {
	tn.t.Helper()
	tn.runs[i]++
	logPath := filepath.Join(tn.dir, fmt.Sprintf("node-%d.run%d.log", i, tn.runs[i]))
	f, err := os.Create(logPath)
	if err != nil {
		tn.t.Fatal(err)
	}
	cmd := exec.Command(tn.bin, "run", "--home", node.TestnetNodeDir(tn.dir, i), "--password-file", tn.pw)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		tn.t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); f.Close() }()
	tn.procs[i] = p
}

// commits reads node i's committed heights and roots from all its logs.
var committedRE = regexp.MustCompile(`msg=committed .*height=(\d+) .*root=([0-9a-f]{64})`)

func (tn *testnet) commits(i int) map[uint64]string {
	out := map[uint64]string{}
	for r := 1; r <= tn.runs[i]; r++ {
		f, err := os.Open(filepath.Join(tn.dir, fmt.Sprintf("node-%d.run%d.log", i, r)))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := committedRE.FindStringSubmatch(sc.Text()); m != nil {
				h, _ := strconv.ParseUint(m[1], 10, 64)
				out[h] = m[2]
			}
		}
		f.Close()
	}
	return out
}

// commitsMax is the highest height node i logged in run r.
func (tn *testnet) commitsMax(i, r int) uint64 {
	runs := tn.runs[i]
	tn.runs[i] = r
	defer func() { tn.runs[i] = runs }()
	var m uint64
	for h := range tn.commits(i) {
		m = max(m, h)
	}
	return m
}

func (tn *testnet) status(i int) (*node.RunStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return node.QueryStatus(ctx, node.TestnetNodeDir(tn.dir, i))
}

func (tn *testnet) height(i int) uint64 {
	st, err := tn.status(i)
	if err != nil {
		return 0
	}
	return st.Height
}

func (tn *testnet) waitFor(d time.Duration, what string, cond func() bool) {
	tn.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		for i, p := range tn.procs {
			select {
			case err := <-p.done:
				b, _ := os.ReadFile(p.log)
				tn.t.Fatalf("node %d exited (%v) while waiting for %s; log:\n%s", i, err, what, tail(b))
			default:
			}
		}
		if time.Now().After(deadline) {
			tn.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// sameRoots checks every height two nodes both committed has one root.
func (tn *testnet) sameRoots(nodes ...int) int {
	tn.t.Helper()
	byHeight := map[uint64]string{}
	common := 0
	for _, i := range nodes {
		for h, r := range tn.commits(i) {
			if o, ok := byHeight[h]; ok {
				common++
				if o != r {
					tn.t.Fatalf("height %d: node %d has root %s, another node %s", h, i, r, o)
				}
			}
			byHeight[h] = r
		}
	}
	return common
}

// ledgerOf opens a copy of node i's ledger (the node may be running).
func (tn *testnet) ledgerOf(i int) (*ledger.Ledger, func()) {
	tn.t.Helper()
	home := node.TestnetNodeDir(tn.dir, i)
	g, err := ledger.LoadGenesis(node.PathsOf(home).Genesis)
	if err != nil {
		tn.t.Fatal(err)
	}
	l, done, err := openLedgerSnapshot(node.PathsOf(home).Ledger, g)
	if err != nil {
		tn.t.Fatal(err)
	}
	return l, done
}

// siteHead is the reading counter of site on node i (0: not registered).
func (tn *testnet) siteHead(i int, site wallet.Address) uint64 {
	l, done := tn.ledgerOf(i)
	defer done()
	s, ok, err := l.Site(site)
	if err != nil || !ok {
		return 0
	}
	return s.Counter
}

// post submits a signed message to node i through its status socket.
func (tn *testnet) post(i int, topic node.Topic, raw []byte) {
	tn.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := node.PostLocal(ctx, node.TestnetNodeDir(tn.dir, i), topic, raw); err != nil {
		tn.t.Fatalf("post to node %d: %v", i, err)
	}
}

func (tn *testnet) accountKey(i int) *wallet.PrivateKey {
	tn.t.Helper()
	home := node.TestnetNodeDir(tn.dir, i)
	c, err := node.LoadConfig(filepath.Join(home, "config.toml"))
	if err != nil {
		tn.t.Fatal(err)
	}
	e, err := (wallet.Dir{Path: filepath.Join(home, "keystore")}).Find(c.Account)
	if err != nil {
		tn.t.Fatal(err)
	}
	data, _ := os.ReadFile(e.Path)
	pw, _ := os.ReadFile(tn.pw)
	k, err := wallet.DecryptKey(data, []byte(strings.TrimSpace(string(pw))))
	if err != nil {
		tn.t.Fatal(err)
	}
	return k
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestTestnetProcesses: `gridmint testnet init --validators 4
// --full-nodes 1`, four `gridmint run` validators on 127.0.0.1-4; heights
// advance with the same state root; a site registration, a transfer and
// the site's signed readings go in through the nodes' status sockets (the
// seam `gridmint tx` and the site agent use) and are committed; one
// validator is SIGKILLed and the other three keep committing; it restarts
// on its data directory and catches up to the same roots; the full node
// starts last, block-syncs from zero to the same roots (the site and the
// transfer in its state) and follows; every process stops cleanly on
// SIGTERM.
func TestTestnetProcesses(t *testing.T) {
	work, err := os.MkdirTemp("", "gmtn")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "gridmint")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pw := writePassword(t, work, "testnet-password")
	dir := filepath.Join(work, "tn")
	port := freePort(t)
	// Genesis an hour ago: the readings of its first four intervals are
	// of closed intervals at once.
	genesis := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	out, err := exec.Command(bin, "testnet", "init", "--validators", "4", "--full-nodes", "1", "--dir", dir, "--port", strconv.Itoa(port),
		"--block-interval-ms", "300", "--genesis-time", genesis, "--password-file", pw, "--light-kdf").CombinedOutput()
	if err != nil {
		t.Fatalf("testnet init: %v\n%s", err, out)
	}
	tn := &testnet{t: t, bin: bin, dir: dir, pw: pw, procs: map[int]*proc{}, runs: map[int]int{}}
	defer func() {
		for _, p := range tn.procs {
			_ = p.cmd.Process.Kill()
		}
		if t.Failed() {
			for i, p := range tn.procs {
				b, _ := os.ReadFile(p.log)
				t.Logf("node %d log tail:\n%s", i, tail(b))
			}
		}
	}()
	began := time.Now()
	for i := range 4 {
		tn.start(i)
	}
	defer func() { t.Logf("network ran %s", time.Since(began).Round(time.Millisecond)) }()
	all := func(min uint64, nodes ...int) func() bool {
		return func() bool {
			for _, i := range nodes {
				if tn.height(i) < min {
					return false
				}
			}
			return true
		}
	}
	tn.waitFor(time.Minute, "all four at height 5", all(5, 0, 1, 2, 3))
	if c := tn.sameRoots(0, 1, 2, 3); c == 0 {
		t.Fatal("no common heights in the logs")
	}
	st, err := tn.status(0)
	if err != nil || st.Peers != 3 || !st.Validator {
		t.Fatalf("status %+v %v", st, err)
	}
	// The status command itself, against the running node.
	sout, err := exec.Command(bin, "status", "--home", node.TestnetNodeDir(dir, 1)).CombinedOutput()
	if err != nil || !strings.Contains(string(sout), "role:       validator") || !strings.Contains(string(sout), "peers:      3") {
		t.Fatalf("gridmint status: %v\n%s", err, sout)
	}

	// A site registers and sends readings, and an account pays another,
	// through the nodes' seam.
	g, err := ledger.LoadGenesis(filepath.Join(dir, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	owner := tn.accountKey(0)
	siteKey, err := wallet.GenerateKeyFrom(rand.NewChaCha8([32]byte{'t', 'e', 's', 't', 'n', 'e', 't'}))
	if err != nil {
		t.Fatal(err)
	}
	site := siteKey.Address()
	pop, err := siteKey.SignTyped(ledger.SitePoPTag, g.ChainID, ledger.SitePoPBody(owner.Address()))
	if err != nil {
		t.Fatal(err)
	}
	payee := wallet.Address{0x9a, 0x7e}
	for nonce, p := range []ledger.Payload{
		&ledger.RegisterSite{SiteKey: siteKey.Public().Compressed(), PoP: pop, Zone: "TEST-ZONE", LatE6: 52_520_000, LonE6: 13_405_000,
			Devices: []ledger.Device{{Kind: ledger.DeviceMeter, NameplateW: 25_000}}},
		&ledger.Transfer{To: payee, Amount: 12_345},
	} {
		tx := &ledger.Tx{From: owner.Address(), Nonce: uint64(nonce), Fee: g.Params.MinFee, Payload: p}
		if err := tx.Sign(owner, g.ChainID); err != nil {
			t.Fatal(err)
		}
		tn.post(nonce, node.TopicTx, tx.Encode())
	}
	tn.waitFor(time.Minute, "the site registered", func() bool {
		l, done := tn.ledgerOf(1)
		defer done()
		_, ok, _ := l.Site(site)
		return ok
	})
	const readings = 4
	var prev [32]byte
	for i := range uint64(readings) {
		r := &meter.Reading{Site: site, Interval: i, Counter: i + 1, PrevHash: prev, GridImportWh: 250 + uint32(i)}
		if err := r.Sign(siteKey, g.ChainID); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash()
		tn.post(int(i%4), node.TopicReading, r.Encode())
	}
	tn.waitFor(time.Minute, "the readings committed", func() bool { return tn.siteHead(2, site) == readings })

	// SIGKILL node 3: the others keep committing (3 of 4 is over 2/3).
	killed := tn.procs[3]
	if err := killed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-killed.done
	delete(tn.procs, 3)
	at := max(tn.height(0), tn.height(1), tn.height(2))
	tn.waitFor(time.Minute, "three validators 8 blocks on without node 3", all(at+8, 0, 1, 2))
	if _, err := tn.status(3); !errors.Is(err, node.ErrNotRunning) {
		t.Fatalf("status of the killed node: %v", err)
	}
	// Restart: it rejoins and catches up to the others.
	tn.start(3)
	target := max(tn.height(0), tn.height(1), tn.height(2))
	restarted := time.Now()
	tn.waitFor(time.Minute, "node 3 caught up and committing", all(target+3, 3))
	b3, _ := os.ReadFile(tn.procs[3].log)
	t.Logf("node 3 back %d blocks behind, caught up and 3 more in %s; %d catch-up responses in its log",
		target-tn.commitsMax(3, 1), time.Since(restarted).Round(time.Millisecond), strings.Count(string(b3), "msg=\"catching up\""))
	if c := tn.sameRoots(0, 1, 2, 3); c == 0 {
		t.Fatal("no common heights")
	}
	mine := tn.commits(3)
	var after int
	for h := range mine {
		if h > target {
			after++
		}
	}
	if after == 0 {
		t.Fatal("node 3 logged no commit after rejoining")
	}

	// The full node starts now, block-syncs from zero and follows.
	tn.start(4)
	target = max(tn.height(0), tn.height(1), tn.height(2))
	joined := time.Now()
	tn.waitFor(time.Minute, "the full node synced", all(target, 4))
	t.Logf("full node: synced %d blocks from zero in %s", target, time.Since(joined).Round(time.Millisecond))
	tn.waitFor(time.Minute, "the full node following", all(target+3, 4))
	if c := tn.sameRoots(0, 1, 2, 3, 4); c == 0 {
		t.Fatal("no common heights")
	}
	if st, err := tn.status(4); err != nil || st.Validator || st.Peers == 0 {
		t.Fatalf("full node status %+v %v", st, err)
	}
	if h := tn.siteHead(4, site); h != readings {
		t.Fatalf("full node: site head %d, want %d", h, readings)
	}
	{
		l, done := tn.ledgerOf(4)
		a, err := l.Account(payee)
		done()
		if err != nil || a.Balance != 12_345 {
			t.Fatalf("full node: payee %+v %v", a, err)
		}
	}

	// Resident memory of each process, as it runs.
	for i, p := range tn.procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
					t.Logf("node %d %s", i, strings.Join(strings.Fields(l), " "))
				}
			}
		}
	}
	// SIGTERM: each stops cleanly, exit 0.
	for i, p := range tn.procs {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-p.done:
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not stop within 30 s of SIGTERM", i)
		}
		b, _ := os.ReadFile(p.log)
		if !strings.Contains(string(b), "node stopped cleanly") {
			t.Fatalf("node %d log:\n%s", i, tail(b))
		}
	}
	tn.procs = map[int]*proc{}
}
