package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/p2p/blocksync"
	"github.com/gridmint/gridmint/site"
	"github.com/gridmint/gridmint/wallet"
)

// ServiceOptions is what `gridmint run` hands Service beyond the data
// directory: the decrypted account key (nil: a node without one, which
// proposes no reading batches of its own) and where logs go.
type ServiceOptions struct {
	Account *wallet.PrivateKey
	// SiteKey signs the home's readings when [meter] is enabled (the
	// keystore file meter.site_key_file, decrypted by the caller).
	SiteKey *wallet.PrivateKey
	LogTo   io.Writer
}

// Service is a long-running node from its data directory: the config,
// genesis.json, node_key, consensus_key (present on a validator), a libp2p
// host with every [p2p] option, the node on a P2PNet, and the status
// socket DIR/gridmint.sock. It is what `gridmint run` runs.
type Service struct {
	Config Config
	Paths  Paths
	Log    *slog.Logger
	Net    *P2PNet
	Node   *Node
	status *http.Server
	ln     net.Listener
	// commits are the recent commits /v1/commits shows.
	commits commitLog
	// The site agent and its devices, with [meter] enabled.
	agent   *site.Agent
	devices []meter.Device
}

// ConsensusKeyFile is the validator's consensus key in a data directory
// (64 hex digits, mode 0600, like node_key: a validator signs votes
// unattended, as CometBFT's priv_validator_key.json). Without it the node
// follows the chain without voting.
const ConsensusKeyFile = "consensus_key"

// StatusSocket is the status endpoint of a running node, a unix socket in
// its data directory (as geth's geth.ipc): only the directory's owner
// reaches it, and a second node on the directory finds it taken.
const StatusSocket = "gridmint.sock"

// NewLogger builds the slog logger of a [log] section.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	lvl := slog.LevelInfo
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ReadKeyFile reads a hex secp256k1 key file (node_key, consensus_key).
func ReadKeyFile(path string) (*wallet.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := wallet.PrivateKeyFromHex(strings.TrimSpace(string(b)))
	clear(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// OpenService opens the node of data directory home and starts its host;
// Run drives it.
func OpenService(home string, opts ServiceOptions) (*Service, error) {
	paths := PathsOf(home)
	cfg, err := LoadConfig(paths.Config)
	if err != nil {
		return nil, err
	}
	if opts.LogTo == nil {
		opts.LogTo = os.Stderr
	}
	log := NewLogger(cfg.Log, opts.LogTo).With("moniker", cfg.Moniker)
	g, err := ledger.LoadGenesis(paths.Genesis)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", paths.Genesis, err)
	}
	if g.ChainID != cfg.ChainID {
		return nil, fmt.Errorf("%s is for chain %q, config.toml for %q", paths.Genesis, g.ChainID, cfg.ChainID)
	}
	nodeKey, err := ReadKeyFile(filepath.Join(home, cfg.NodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	var consKey *wallet.PrivateKey
	if _, err := os.Stat(filepath.Join(home, ConsensusKeyFile)); err == nil {
		if consKey, err = ReadKeyFile(filepath.Join(home, ConsensusKeyFile)); err != nil {
			return nil, fmt.Errorf("consensus key: %w", err)
		}
	}
	if opts.Account != nil && opts.Account.Address() != cfg.Account {
		return nil, fmt.Errorf("the account key is %s, config.toml says %s", opts.Account.Address(), cfg.Account)
	}
	s := &Service{Config: cfg, Paths: paths, Log: log}
	// The status socket first: it refuses a second node on this directory
	// before anything else is opened.
	if s.ln, err = listenStatus(filepath.Join(home, StatusSocket)); err != nil {
		return nil, err
	}
	h, err := p2p.New(context.Background(), cfg.P2P.P2P(), nodeKey, cfg.ChainID, log.With("sys", "p2p"))
	nodeKey.Zero()
	if err != nil {
		s.ln.Close()
		return nil, err
	}
	s.Net = NewP2PNet(h, log.With("sys", "net"))
	n, err := NewNode(NodeConfig{Name: cfg.Moniker, Dir: home, Genesis: g, Account: opts.Account, ConsKey: consKey,
		Net: s.Net, BlockIntervalMs: cfg.Consensus.BlockIntervalMs, Timeouts: consensus.DefaultTimeouts(), Log: log.With("sys", "node"),
		OnCommit: func(n *Node, b *ledger.Block, r *ledger.BlockResult) {
			s.commits.add(n.Ledger().Height(), time.Now().UnixMilli(), b)
			root := n.Ledger().StateRoot()
			log.Info("committed", "height", n.Ledger().Height(), "receipts", len(r.Receipts), "root", fmt.Sprintf("%x", root[:]))
		}}, time.Now().UnixMilli())
	if err != nil {
		h.Close()
		s.ln.Close()
		return nil, err
	}
	s.Node = n
	// A node behind its peers (new, or back from a power cut) fetches
	// blocks in batches from several peers (p2p/blocksync).
	s.Net.Sync = NewBlockSync(s.Net, n, blocksync.Config{}, blocksync.ServerConfig{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		st := s.Net.Status()
		if st == nil {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("GET /v1/commits", s.serveCommits)
	sizes := p2p.DefaultMaxMessageBytes()
	mux.HandleFunc("POST /v1/txs", s.Net.submitHandler(TopicTx, sizes.Tx))
	mux.HandleFunc("POST /v1/readings", s.Net.submitHandler(TopicReading, sizes.Reading))
	s.status = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := s.openSiteAgent(home, g, opts.SiteKey); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Run serves until ctx ends, then shuts down in order: the driving loop
// stops (no message is half handled), the status socket closes, the host
// closes (no more input), and last the node: the guard's state, the WAL,
// then the ledger, each synced. A node error ends Run the same way.
func (s *Service) Run(ctx context.Context) error {
	peers := s.Net.Host().Addrs()
	s.Log.Info("node started", "chain", s.Config.ChainID, "height", s.Node.Ledger().Height(),
		"peer_id", s.Net.Host().ID().String(), "listen", strings.Join(peers, ","), "validator", s.Node.guard != nil)
	go func() { _ = s.status.Serve(s.ln) }()
	// The agent polls beside the node's loop and stops first: what it
	// signed and the node has not admitted stays in its outbox.
	actx, stopAgent := context.WithCancel(ctx)
	agentDone := s.runSiteAgent(actx)
	err := s.Net.Run(ctx, s.Node)
	stopAgent()
	<-agentDone
	if err != nil {
		s.Log.Error("node stopped on an error", "err", err)
	}
	return errors.Join(err, s.Close())
}

// Close releases everything OpenService opened, in the order Run states.
func (s *Service) Close() error {
	errs := []error{s.closeSiteAgent()}
	if s.status != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.status.Shutdown(sctx)
		cancel()
		s.status = nil
	}
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	if s.Net != nil {
		errs = append(errs, s.Net.Host().Close())
	}
	if s.Node != nil {
		errs = append(errs, s.Node.Close())
		s.Node = nil
		s.Log.Info("node stopped cleanly")
	}
	return errors.Join(errs...)
}

func listenStatus(path string) (net.Listener, error) {
	if len(path) > 100 {
		return nil, fmt.Errorf("status socket %s: path longer than a unix socket allows (100 bytes); use a shorter --home", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("a node is already running on %s (its status socket %s answers)", filepath.Dir(path), path)
	}
	_ = os.Remove(path) // a stale socket of a node that was killed
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("status socket: %w", err)
	}
	return ln, nil
}

// socketClient is an HTTP client over the unix socket at path (the
// status socket of a data directory).
func socketClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

// ErrNotRunning: no node answers on the data directory's status socket.
var ErrNotRunning = errors.New("no node running")

// QueryStatus asks the node running on data directory home for its
// status, over DIR/gridmint.sock.
func QueryStatus(ctx context.Context, home string) (*RunStatus, error) {
	var st RunStatus
	if err := getLocal(ctx, home, "status", "/v1/status", 1<<20, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// getLocal GETs path from the node running on data directory home and
// decodes its JSON answer (at most limit bytes) into v; what names the
// call in errors.
func getLocal(ctx context.Context, home, what, path string, limit int64, v any) error {
	c := socketClient(filepath.Join(home, StatusSocket))
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://gridmint"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%w on %s: %v", ErrNotRunning, home, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %s", what, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, limit)).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
