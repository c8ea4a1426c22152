package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/wallet"
)

// TestnetOptions shape `gridmint testnet init`.
type TestnetOptions struct {
	Validators int
	// FullNodes are nodes after the validators (node-N ...): a funded
	// account but no consensus_key, so they follow the chain without
	// voting. They bootstrap to the validators only.
	FullNodes int
	ChainID   string
	// BasePort is every node's TCP and QUIC port; node i listens on
	// 127.0.0.(1+i), so the nodes share it.
	BasePort int
	// BlockIntervalMs is each node's [consensus] block_interval_ms.
	BlockIntervalMs int64
	// Password encrypts each node's account key in its keystore, with KDF.
	Password []byte
	KDF      wallet.ScryptParams
	Now      time.Time
	// Fund are further accounts the genesis gives FundBalance base units
	// each (ReadFundFile reads them): many senders for a load test, as
	// one sender's nonces serialize its transactions.
	Fund        []wallet.Address
	FundBalance uint64
	// IntervalSeconds, if set, is the chain's reading interval (60 lets a
	// test see readings every minute); the reading skew is capped at it.
	IntervalSeconds uint32
	// GenesisTime, if set, is the chain's start (floored to an interval);
	// zero is Now. One in the past lets a test send readings of closed
	// intervals at once.
	GenesisTime time.Time
}

// DefaultFundBalance is what each --fund-file account gets: 1,000 FLX.
const DefaultFundBalance = 1_000 * ledger.BaseUnitsPerFLX

// ReadFundFile reads a --fund-file: one address (0x and 40 hex digits) a
// line; blank lines and lines starting with # are skipped. An address
// twice, or a line that is not an address, is an error naming the line.
func ReadFundFile(path string) ([]wallet.Address, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []wallet.Address
	seen := map[wallet.Address]int{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a, err := wallet.ParseAddress(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		if j, ok := seen[a]; ok {
			return nil, fmt.Errorf("%s:%d: %s is on line %d already", path, i+1, a, j)
		}
		seen[a] = i + 1
		out = append(out, a)
	}
	return out, nil
}

// TestnetNodeDir is node i's data directory under dir.
func TestnetNodeDir(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("node-%d", i)) }

// InitTestnet writes a local network under dir: genesis.json with every
// validator of equal stake, and node-0 ... node-(N+F-1), each a data
// directory as `gridmint init` makes one (config.toml, node_key,
// admin_token, keystore/, data/) plus genesis.json and consensus_key. Node
// i listens on 127.0.0.(1+i):BasePort (TCP and QUIC), bootstraps to all
// the other validators, keeps to loopback (loopback_only), and has mDNS and port
// mapping off: nothing it does leaves the machine. Nothing existing is
// overwritten.
func InitTestnet(dir string, o TestnetOptions) error {
	if o.Validators < 1 || o.Validators > 200 {
		return fmt.Errorf("testnet: %d validators: want 1..200", o.Validators)
	}
	if o.FullNodes < 0 || o.Validators+o.FullNodes > 250 {
		return fmt.Errorf("testnet: %d full nodes: want 0..%d", o.FullNodes, 250-o.Validators)
	}
	if o.BasePort < 1 || o.BasePort > 65535 {
		return fmt.Errorf("testnet: port %d: want 1..65535", o.BasePort)
	}
	if err := wallet.ValidateChainID(o.ChainID); err != nil {
		return fmt.Errorf("testnet: chain id %q: %w", o.ChainID, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "genesis.json")); err == nil {
		return fmt.Errorf("%s exists already: testnet init never overwrites", filepath.Join(dir, "genesis.json"))
	}
	total := o.Validators + o.FullNodes
	for i := range total {
		if _, err := os.Lstat(TestnetNodeDir(dir, i)); err == nil {
			return fmt.Errorf("%s exists already: testnet init never overwrites", TestnetNodeDir(dir, i))
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	g := &ledger.Genesis{ChainID: o.ChainID, Params: ledger.DefaultParams()}
	if o.IntervalSeconds > 0 {
		g.Params.IntervalSeconds = o.IntervalSeconds
		g.Params.ReadingMaxSkewSeconds = min(g.Params.ReadingMaxSkewSeconds, o.IntervalSeconds)
	}
	step := int64(g.Params.IntervalSeconds)
	start := o.Now
	if !o.GenesisTime.IsZero() {
		start = o.GenesisTime
	}
	g.GenesisTime = start.Unix() / step * step
	type keys struct{ acct, cons, node *wallet.PrivateKey }
	var ks []keys
	var boot []string
	for i := range total {
		var k keys
		var err error
		for _, p := range []**wallet.PrivateKey{&k.acct, &k.cons, &k.node} {
			if *p, err = wallet.GenerateKey(); err != nil {
				return err
			}
		}
		ks = append(ks, k)
		if i < o.Validators {
			id, err := p2p.PeerIDOf(k.node)
			if err != nil {
				return err
			}
			boot = append(boot, fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", testnetIP(i), o.BasePort, id))
			g.Validators = append(g.Validators, ledger.GenesisValidator{Address: k.acct.Address(),
				ConsensusKey: k.cons.Public().Compressed(), Stake: 100_000 * ledger.BaseUnitsPerFLX})
		}
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: k.acct.Address(), Balance: 1_000_000 * ledger.BaseUnitsPerFLX})
	}
	if len(o.Fund) > 0 {
		bal := o.FundBalance
		if bal == 0 {
			bal = DefaultFundBalance
		}
		for _, a := range o.Fund {
			g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: a, Balance: bal})
		}
	}
	defer func() {
		for _, k := range ks {
			k.acct.Zero()
			k.cons.Zero()
			k.node.Zero()
		}
	}()
	if err := g.Validate(); err != nil {
		return err
	}
	gj, err := g.JSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i, k := range ks {
		var tok [32]byte
		if _, err := rand.Read(tok[:]); err != nil {
			return err
		}
		home := TestnetNodeDir(dir, i)
		if err := os.MkdirAll(filepath.Join(home, "data"), 0o700); err != nil {
			return err
		}
		if _, err := (wallet.Dir{Path: filepath.Join(home, "keystore")}).Store(k.acct, o.Password, o.KDF, o.Now); err != nil {
			return err
		}
		var others []string
		for j, b := range boot {
			if j != i {
				others = append(others, b)
			}
		}
		type file struct {
			name string
			data []byte
			mode os.FileMode
		}
		files := []file{
			{"genesis.json", gj, 0o644},
			{"node_key", []byte(hex.EncodeToString(k.node.Bytes()) + "\n"), 0o600},
			{"admin_token", []byte(hex.EncodeToString(tok[:]) + "\n"), 0o600},
			{"config.toml", testnetConfig(o, i, k.acct.Address(), others), 0o644},
		}
		if i < o.Validators {
			files = append(files, file{ConsensusKeyFile, []byte(hex.EncodeToString(k.cons.Bytes()) + "\n"), 0o600})
		}
		for _, f := range files {
			if err := wallet.WriteFileAtomic(filepath.Join(home, f.name), f.data, f.mode); err != nil {
				return err
			}
		}
	}
	return wallet.WriteFileAtomic(filepath.Join(dir, "genesis.json"), gj, 0o644)
}

func testnetIP(i int) string { return fmt.Sprintf("127.0.%d.%d", (1+i)/256, (1+i)%256) }

// testnetConfig is init's config.toml with node i's loopback network.
func testnetConfig(o TestnetOptions, i int, acct wallet.Address, boot []string) []byte {
	ip, port := testnetIP(i), strconv.Itoa(o.BasePort)
	quote := func(ss []string) string {
		q := make([]string, len(ss))
		for j, s := range ss {
			q[j] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	s := string(RenderConfig(o.ChainID, fmt.Sprintf("node-%d", i), acct))
	for _, r := range [][2]string{
		{`listen = ["/ip4/0.0.0.0/tcp/26656", "/ip4/0.0.0.0/udp/26656/quic-v1"]`,
			"listen = " + quote([]string{"/ip4/" + ip + "/tcp/" + port, "/ip4/" + ip + "/udp/" + port + "/quic-v1"})},
		{"bootstrap = []", "bootstrap = " + quote(boot)},
		{"mdns = true", "mdns = false"},
		{"nat_port_map = true", "nat_port_map = false"},
		{"loopback_only = false", "loopback_only = true"},
		{`listen = "127.0.0.1:8645"`, `listen = "` + ip + `:8645"`},
		{"block_interval_ms = 5000", "block_interval_ms = " + strconv.FormatInt(o.BlockIntervalMs, 10)},
	} {
		if !strings.Contains(s, r[0]) {
			panic("testnet: config template lost " + r[0]) // TestInitTestnet keeps them in step
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	return []byte(s)
}
