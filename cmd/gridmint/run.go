package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gridmint/gridmint/node"
	"github.com/gridmint/gridmint/wallet"
)

func newRunCmd(a *app) *cobra.Command {
	var pw passwordSource
	var pprofAddr string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a node from its data directory until SIGINT or SIGTERM",
		Long: `run starts the node of HOME (made by 'gridmint init' or 'gridmint testnet
init'): its ledger and consensus WAL from data/, the chain from
genesis.json, the libp2p host with every [p2p] option of config.toml, and,
with HOME/consensus_key, a validator's vote; with [meter] enabled, the
site agent, which reads the [[device]] adapters and signs one reading per
interval with the site key (meter.site_key_file, a keystore file with the
same password). The account key in keystore/
(config.toml's account) is decrypted with --password-file or a prompt.
Logs go to stderr through [log]. 'gridmint status --home HOME' asks the
running node over HOME/gridmint.sock. On a terminal, a progress bar shows
block sync while the node catches up.

SIGINT or SIGTERM stops it cleanly: the message in hand is finished, the
network closes, then the double-sign guard, the WAL and the ledger are
synced and closed. A kill or a power cut loses nothing committed either:
the node restarts from the ledger and the WAL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := node.LoadConfig(node.PathsOf(a.home).Config)
			if err != nil {
				return err
			}
			var acct, siteKey *wallet.PrivateKey
			var pass []byte
			defer func() { clear(pass) }()
			password := func(prompt string) ([]byte, error) {
				if pass == nil {
					p, err := pw.read(a, prompt, false)
					if err != nil {
						return nil, err
					}
					pass = p
				}
				return pass, nil
			}
			if cfg.Account != (wallet.Address{}) {
				e, err := a.keystore().Find(cfg.Account)
				if err != nil {
					return fmt.Errorf("account %s: %w", cfg.Account, err)
				}
				data, err := os.ReadFile(e.Path)
				if err != nil {
					return err
				}
				p, err := password("Password for " + cfg.Account.Hex() + ": ")
				if err != nil {
					return err
				}
				if acct, err = wallet.DecryptKey(data, p); err != nil {
					return fmt.Errorf("account %s: %w", cfg.Account, err)
				}
				defer acct.Zero()
			}
			if pprofAddr != "" {
				stop, err := startPprof(pprofAddr)
				if err != nil {
					return err
				}
				defer stop()
			}
			// The site key (a keystore file, the same password) signs the
			// home's readings when [meter] is enabled.
			if cfg.Meter.Enabled && cfg.Meter.SiteKeyFile != "" {
				path := cfg.Meter.SiteKeyFile
				if !filepath.IsAbs(path) {
					path = filepath.Join(a.home, path)
				}
				data, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("site key: %w", err)
				}
				p, err := password("Password for the site key " + path + ": ")
				if err != nil {
					return err
				}
				if siteKey, err = wallet.DecryptKey(data, p); err != nil {
					return fmt.Errorf("site key %s: %w", path, err)
				}
				defer siteKey.Zero()
			}
			s, err := node.OpenService(a.home, node.ServiceOptions{Account: acct, SiteKey: siteKey, LogTo: a.stderr})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				go newSyncBar(a.stderr).follow(ctx, s.Net.Status)
			}
			return s.Run(ctx)
		},
	}
	passwordFlag(cmd, &pw)
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go profiles on this loopback HOST:PORT (/debug/pprof/)")
	return cmd
}

func newStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running node's height, peers, sync state and role",
		Long: `status asks the node running on HOME, over HOME/gridmint.sock, for its
height, state root, consensus round, connected peers, sync state (synced,
catching_up or no_peers) and whether it is a validator. It exits 3 when no
node is running there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			st, err := node.QueryStatus(ctx, a.home)
			if errors.Is(err, node.ErrNotRunning) {
				return &exitError{code: 3, err: err}
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			role := "full node"
			if st.Validator {
				role = "validator"
			}
			fmt.Fprintf(a.stdout, "moniker:    %s\nchain:      %s\nheight:     %d\nstate root: %s\nround:      %d\npeers:      %d\nsync:       %s\nrole:       %s\npeer id:    %s\n",
				st.Moniker, st.ChainID, st.Height, st.StateRoot, st.Round, st.Peers, st.Sync, role, st.PeerID)
			if st.BlockSync != "" {
				fmt.Fprintf(a.stdout, "block sync: %s (target %d, %d blocks/s)\n", st.BlockSync, st.SyncTarget, st.SyncBlocksPerS)
			}
			for _, ad := range st.Addrs {
				fmt.Fprintf(a.stdout, "listening:  %s\n", ad)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func newTestnetCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Local multi-process test networks",
	}
	var o node.TestnetOptions
	var dir string
	var pw passwordSource
	var light bool
	var fundFile string
	var genesisTime string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Write a genesis and N validator (and F full node) data dirs on 127.0.0.x for 'gridmint run'",
		Long: `testnet init writes DIR/genesis.json and DIR/node-0 ... DIR/node-(N-1),
each a data directory for 'gridmint run --home DIR/node-i': config.toml,
genesis.json, node_key, consensus_key, admin_token and the account key in
keystore/ (encrypted with the password). Node i listens on
127.0.0.(1+i):PORT (TCP and QUIC) and bootstraps to all the others, with
loopback_only on and mDNS and port mapping off: nothing leaves the
machine. The first N nodes are validators of equal stake; --full-nodes F
adds node-N ... node-(N+F-1), each with a funded account and no
consensus_key, which follow the chain without voting (start one late to
watch it block-sync from zero). It never overwrites.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pass, err := pw.read(a, "Password for the nodes' account keys: ", true)
			if err != nil {
				return err
			}
			o.Password, o.KDF, o.Now = pass, kdfParams(light), time.Now()
			if fundFile != "" {
				if o.Fund, err = node.ReadFundFile(fundFile); err != nil {
					return err
				}
			}
			if genesisTime != "" {
				if o.GenesisTime, err = time.Parse(time.RFC3339, genesisTime); err != nil {
					return fmt.Errorf("--genesis-time: %w", err)
				}
			}
			if err := node.InitTestnet(dir, o); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "testnet %s: %d validators and %d full nodes in %s (gridmint run --home %s)\n", o.ChainID, o.Validators, o.FullNodes, dir, node.TestnetNodeDir(dir, 0))
			return nil
		},
	}
	initCmd.Flags().IntVar(&o.Validators, "validators", 4, "how many validator nodes")
	initCmd.Flags().IntVar(&o.FullNodes, "full-nodes", 0, "how many non-voting full nodes after the validators")
	initCmd.Flags().StringVar(&dir, "dir", "testnet", "where to write the genesis and the nodes' data dirs")
	initCmd.Flags().StringVar(&o.ChainID, "chain-id", "gridmint-testnet", "the chain id")
	initCmd.Flags().IntVar(&o.BasePort, "port", 26656, "every node's TCP and QUIC port (node i on 127.0.0.(1+i))")
	initCmd.Flags().Int64Var(&o.BlockIntervalMs, "block-interval-ms", 1000, "each node's pause after a block")
	initCmd.Flags().StringVar(&fundFile, "fund-file", "", "also fund each address of this file (one a line) with 1,000 FLX in the genesis")
	initCmd.Flags().StringVar(&genesisTime, "genesis-time", "", "the chain's start, RFC 3339 (default now; an earlier one lets readings of past intervals in at once)")
	passwordFlag(initCmd, &pw)
	kdfFlag(initCmd, &light)
	cmd.AddCommand(initCmd)
	return cmd
}
