package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/wallet"
)

func lightKDF() wallet.ScryptParams { return wallet.LightScrypt }

// syncWriter serialises writes from the node's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}

// shortTempDir is a temporary directory short enough for a unix socket
// path inside it.
func shortTempDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "gm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// TestInitTestnet: the data directories testnet init writes parse, keep
// to loopback with mDNS and port mapping off, listen on their own
// 127.0.0.x, bootstrap to every other node by its real peer id, share one
// genesis with the validators' stake; the full node after them has a
// funded account and no consensus key and bootstraps to the validators;
// a second init changes nothing.
func TestInitTestnet(t *testing.T) {
	dir := shortTempDir(t)
	o := TestnetOptions{Validators: 4, FullNodes: 1, ChainID: "gridmint-testnet", BasePort: 30000, BlockIntervalMs: 700,
		Password: []byte("pw"), KDF: lightKDF(), Now: time.Unix(1_800_000_123, 0)}
	if err := InitTestnet(dir, o); err != nil {
		t.Fatal(err)
	}
	g, err := ledger.LoadGenesis(filepath.Join(dir, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Validators) != 4 || len(g.Accounts) != 5 || g.GenesisTime%int64(g.Params.IntervalSeconds) != 0 {
		t.Fatalf("genesis %+v", g)
	}
	var ids []string
	for i := range 5 {
		k, err := ReadKeyFile(filepath.Join(TestnetNodeDir(dir, i), "node_key"))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := p2p.PeerIDOf(k)
		ids = append(ids, id.String())
	}
	for i := range 5 {
		home := TestnetNodeDir(dir, i)
		c, err := LoadConfig(filepath.Join(home, "config.toml"))
		if err != nil {
			t.Fatal(err)
		}
		p := c.P2P
		if p.MDNS || p.NATPortMap || !p.LoopbackOnly || c.Consensus.BlockIntervalMs != 700 {
			t.Fatalf("node %d: %+v", i, c)
		}
		ip := testnetIP(i)
		if !slices.Equal(p.Listen, []string{"/ip4/" + ip + "/tcp/30000", "/ip4/" + ip + "/udp/30000/quic-v1"}) || c.API.Listen != ip+":8645" {
			t.Fatalf("node %d listens on %v, api %s", i, p.Listen, c.API.Listen)
		}
		// A validator bootstraps to the 3 others, the full node to all 4.
		if want := map[bool]int{true: 3, false: 4}[i < 4]; len(p.Bootstrap) != want {
			t.Fatalf("node %d bootstrap %v", i, p.Bootstrap)
		}
		for j, id := range ids {
			has := slices.ContainsFunc(p.Bootstrap, func(b string) bool { return strings.HasSuffix(b, "/p2p/"+id) })
			if has != (j != i && j < 4) {
				t.Fatalf("node %d bootstrap %v and node %d (%s)", i, p.Bootstrap, j, id)
			}
		}
		gj, _ := os.ReadFile(filepath.Join(home, "genesis.json"))
		want, _ := os.ReadFile(filepath.Join(dir, "genesis.json"))
		if !bytes.Equal(gj, want) {
			t.Fatalf("node %d genesis differs", i)
		}
		e, err := (wallet.Dir{Path: filepath.Join(home, "keystore")}).Find(c.Account)
		if err != nil || c.Account != g.Accounts[i].Address || g.Accounts[i].Balance == 0 {
			t.Fatalf("node %d keystore: %v", i, err)
		}
		if i == 4 {
			if _, err := os.Stat(filepath.Join(home, ConsensusKeyFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the full node has a consensus key: %v", err)
			}
		} else {
			ck, err := ReadKeyFile(filepath.Join(home, ConsensusKeyFile))
			if err != nil || !bytes.Equal(ck.Public().Compressed(), g.Validators[i].ConsensusKey) || c.Account != g.Validators[i].Address {
				t.Fatalf("node %d consensus key: %v", i, err)
			}
		}
		data, _ := os.ReadFile(e.Path)
		if _, err := wallet.DecryptKey(data, []byte("pw")); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshotTree(t, dir)
	if err := InitTestnet(dir, o); err == nil {
		t.Fatal("second init accepted")
	}
	if snapshotTree(t, dir) != before {
		t.Fatal("second init changed the directory")
	}
}

// TestServiceRunStatusAndRestart: a one-validator testnet's node runs as
// a Service, commits, answers on its status socket, refuses a second
// service on its directory, stops cleanly when its context ends (the
// socket is gone, QueryStatus says not running), and reopens at the
// height it had.
func TestServiceRunStatusAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	dir := shortTempDir(t)
	if err := InitTestnet(dir, TestnetOptions{Validators: 1, ChainID: "gridmint-testnet", BasePort: 1, BlockIntervalMs: 100,
		Password: []byte("pw"), KDF: lightKDF(), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	home := TestnetNodeDir(dir, 0)
	// A kernel-chosen port: the test may run beside others.
	cfgPath := filepath.Join(home, "config.toml")
	b, _ := os.ReadFile(cfgPath)
	b = bytes.ReplaceAll(b, []byte("/tcp/1\""), []byte("/tcp/0\""))
	b = bytes.ReplaceAll(b, []byte("/udp/1/"), []byte("/udp/0/"))
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	account := func() *wallet.PrivateKey { return accountKeyOf(t, home, "pw") }
	logs := &syncWriter{w: &bytes.Buffer{}}
	start := func() (*Service, context.CancelFunc, chan error) {
		s, err := OpenService(home, ServiceOptions{Account: account(), LogTo: logs})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return s, cancel, done
	}
	s, cancel, done := start()
	var st *RunStatus
	waitFor(t, time.Minute, "height 3 on the status socket", func() bool {
		var err error
		st, err = QueryStatus(context.Background(), home)
		return err == nil && st.Height >= 3
	})
	if !st.Validator || st.ChainID != "gridmint-testnet" || st.Sync != "no_peers" || st.PeerID != s.Net.Host().ID().String() {
		t.Fatalf("status %+v", st)
	}
	if _, err := OpenService(home, ServiceOptions{Account: account(), LogTo: logs}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second service: %v", err)
	}
	testLocalSubmit(t, s, home, account())
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, StatusSocket)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind: %v", err)
	}
	if _, err := QueryStatus(context.Background(), home); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("status of a stopped node: %v", err)
	}
	l, err := ledger.Open(PathsOf(home).Ledger, mustGenesis(t, home), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := l.Height()
	l.Close()
	if stopped < st.Height {
		t.Fatalf("reopened at %d below %d", stopped, st.Height)
	}
	s2, cancel2, done2 := start()
	// At or above (the WAL may hold the quorum of a height the engine
	// decides again on replay), never below.
	if h := s2.Node.Ledger().Height(); h < stopped {
		t.Fatalf("restart at %d, stopped at %d", h, stopped)
	}
	waitFor(t, time.Minute, "a block after the restart", func() bool {
		st, err := QueryStatus(context.Background(), home)
		return err == nil && st.Height > stopped
	})
	cancel2()
	if err := <-done2; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "node stopped cleanly") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// accountKeyOf decrypts the account key of data directory home (the one
// config.toml names) from its keystore.
func accountKeyOf(t *testing.T, home, password string) *wallet.PrivateKey {
	t.Helper()
	c, err := LoadConfig(filepath.Join(home, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := (wallet.Dir{Path: filepath.Join(home, "keystore")}).Find(c.Account)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(e.Path)
	k, err := wallet.DecryptKey(data, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustGenesis(t *testing.T, home string) *ledger.Genesis {
	g, err := ledger.LoadGenesis(PathsOf(home).Genesis)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestP2PConfigFieldForField: every [p2p] option reaches p2p.Config.
func TestP2PConfigFieldForField(t *testing.T) {
	c := P2PConfig{Listen: []string{"/ip4/127.0.0.9/tcp/1"}, Announce: []string{"/ip4/127.0.0.9/tcp/2"},
		Bootstrap: []string{"/ip4/127.0.0.8/tcp/3/p2p/x"}, MDNS: true, NATPortMap: true, LoopbackOnly: true, MaxPeers: 7,
		LimitMemoryMiB: 11, LimitFDs: 12, LimitConns: 13, LimitConnsInbound: 14, LimitStreams: 15, LimitStreamsPerPeer: 16}
	got := c.P2P()
	want := p2p.Config{Listen: c.Listen, Announce: c.Announce, Bootstrap: c.Bootstrap, MDNS: true, NATPortMap: true,
		LoopbackOnly: true, MaxPeers: 7, Limits: p2p.Limits{MemoryMiB: 11, FDs: 12, Conns: 13, ConnsInbound: 14, Streams: 15, StreamsPerPeer: 16},
		MaxMessageBytes: p2p.DefaultMaxMessageBytes()}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// Every field of P2PConfig is set above (a new option must be added
	// here and to P2P).
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("P2PConfig.%s not covered", v.Type().Field(i).Name)
		}
	}
}

func TestTestnetFundFile(t *testing.T) {
	dir := shortTempDir(t)
	a, b := poolKey(40).Address(), poolKey(41).Address()
	f := filepath.Join(dir, "fund.txt")
	if err := os.WriteFile(f, []byte("# senders\n"+a.Hex()+"\n\n  "+b.Hex()+"  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fund, err := ReadFundFile(f)
	if err != nil || len(fund) != 2 || fund[0] != a || fund[1] != b {
		t.Fatalf("%v %v", fund, err)
	}
	for name, body := range map[string]string{"not an address": "0x1234\n", "twice": a.Hex() + "\n" + a.Hex() + "\n"} {
		os.WriteFile(f, []byte(body), 0o644)
		if _, err := ReadFundFile(f); err == nil || !strings.Contains(err.Error(), f+":") {
			t.Errorf("%s: %v", name, err)
		}
	}
	o := TestnetOptions{Validators: 2, ChainID: "gridmint-testnet", BasePort: 30000, BlockIntervalMs: 700,
		Password: []byte("pw"), KDF: lightKDF(), Now: time.Unix(1_800_000_123, 0), Fund: fund}
	if err := InitTestnet(filepath.Join(dir, "net"), o); err != nil {
		t.Fatal(err)
	}
	g, err := ledger.LoadGenesis(filepath.Join(dir, "net", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[wallet.Address]uint64{}
	for _, acc := range g.Accounts {
		got[acc.Address] = acc.Balance
	}
	if len(g.Accounts) != 4 || got[a] != DefaultFundBalance || got[b] != DefaultFundBalance {
		t.Fatalf("accounts %+v", g.Accounts)
	}
}

// testLocalSubmit: a signed transfer posted to the running node's status
// socket is admitted (its hash back) and committed; a repeat is a
// duplicate (409); bytes that do not decode, a transfer signed for another
// chain, a reused nonce after commit and an oversized body are refused
// with 400 or 413 and change nothing.
func testLocalSubmit(t *testing.T, s *Service, home string, k *wallet.PrivateKey) {
	t.Helper()
	ctx := context.Background()
	chainID := s.Config.ChainID
	var to wallet.Address
	to[0] = 0x42
	sign := func(nonce, amount uint64, chain string) []byte {
		tx := &ledger.Tx{From: k.Address(), Nonce: nonce, Fee: 1_000, Payload: &ledger.Transfer{To: to, Amount: amount}}
		if err := tx.Sign(k, chain); err != nil {
			t.Fatal(err)
		}
		return tx.Encode()
	}
	refused := func(raw []byte, status int, what string) {
		t.Helper()
		_, err := PostLocal(ctx, home, TopicTx, raw)
		var se *SubmitError
		if !errors.As(err, &se) || se.Status != status || se.Message == "" {
			t.Fatalf("%s: %v, want status %d", what, err, status)
		}
	}
	var nonce uint64
	s.Net.Do(func(n *Node) {
		a, _ := n.Ledger().Account(k.Address())
		nonce = a.Nonce
	})
	raw := sign(nonce, 7_000, chainID)
	hash, err := PostLocal(ctx, home, TopicTx, raw)
	if err != nil || hash != sha256.Sum256(raw) {
		t.Fatalf("submit: %x %v", hash, err)
	}
	refused(raw, http.StatusConflict, "the same transaction again")
	refused([]byte("not a transaction"), http.StatusBadRequest, "garbage")
	refused(sign(nonce+1, 1, "gridmint-other"), http.StatusBadRequest, "another chain's signature")
	refused(make([]byte, p2p.DefaultMaxMessageBytes().Tx+1), http.StatusRequestEntityTooLarge, "oversized")
	if _, err := PostLocal(ctx, home, TopicReading, []byte{1, 2, 3}); err == nil {
		t.Fatal("a malformed reading was admitted")
	}
	waitFor(t, time.Minute, "the transfer committed", func() bool {
		var bal uint64
		s.Net.Do(func(n *Node) {
			a, _ := n.Ledger().Account(to)
			bal = a.Balance
		})
		return bal == 7_000
	})
	refused(sign(nonce, 9_000, chainID), http.StatusBadRequest, "a used nonce")
	var bal uint64
	s.Net.Do(func(n *Node) {
		a, _ := n.Ledger().Account(to)
		bal = a.Balance
	})
	if bal != 7_000 {
		t.Fatalf("balance %d after the refused ones", bal)
	}
}
