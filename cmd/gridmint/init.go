package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridmint/gridmint/node"
	"github.com/gridmint/gridmint/wallet"
)

func newInitCmd(a *app) *cobra.Command {
	var pw passwordSource
	var light bool
	var chainID, moniker string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a data directory: config.toml, a node key, an encrypted account key",
		Long: `init creates HOME with:
  config.toml    every option, commented
  node_key       the node's network identity (secp256k1, mode 0600)
  admin_token    the bearer token for admin API calls (mode 0600)
  keystore/      the account key, encrypted with your password
  data/          where the chain will be stored
It refuses to touch a directory that already holds any of these.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := wallet.ValidateChainID(chainID); err != nil {
				return fmt.Errorf("--chain-id %q: %w", chainID, err)
			}
			for _, name := range []string{"config.toml", "node_key", "admin_token", "keystore", "data"} {
				p := filepath.Join(a.home, name)
				if _, err := os.Lstat(p); err == nil {
					return fmt.Errorf("%s exists already: init never overwrites; choose another --home or remove it yourself", p)
				} else if !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			pass, err := pw.read(a, "Password for the new account key: ", true)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(a.home, 0o700); err != nil {
				return err
			}
			acct, err := wallet.GenerateKey()
			if err != nil {
				return err
			}
			defer acct.Zero()
			entry, err := a.keystore().Store(acct, pass, kdfParams(light), time.Now())
			if err != nil {
				return err
			}
			nodeKey, err := wallet.GenerateKey()
			if err != nil {
				return err
			}
			defer nodeKey.Zero()
			if err := wallet.WriteFileAtomic(filepath.Join(a.home, "node_key"), []byte(hex.EncodeToString(nodeKey.Bytes())+"\n"), 0o600); err != nil {
				return err
			}
			var tok [32]byte
			if _, err := rand.Read(tok[:]); err != nil {
				return err
			}
			if err := wallet.WriteFileAtomic(filepath.Join(a.home, "admin_token"), []byte(hex.EncodeToString(tok[:])+"\n"), 0o600); err != nil {
				return err
			}
			if err := os.Mkdir(filepath.Join(a.home, "data"), 0o700); err != nil {
				return err
			}
			// config.toml last: its presence says init finished.
			cfgPath := filepath.Join(a.home, "config.toml")
			if err := wallet.WriteFileAtomic(cfgPath, node.RenderConfig(chainID, moniker, entry.Address), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "initialised %s\naccount: %s\nconfig:  %s\n", a.home, entry.Address.Hex(), cfgPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&chainID, "chain-id", node.DefaultConfig().ChainID, "the chain to join")
	cmd.Flags().StringVar(&moniker, "moniker", node.DefaultConfig().Moniker, "a name for this node")
	passwordFlag(cmd, &pw)
	kdfFlag(cmd, &light)
	return cmd
}
