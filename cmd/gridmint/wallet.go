package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridmint/gridmint/wallet"
)

func (a *app) keystore() wallet.Dir { return wallet.Dir{Path: filepath.Join(a.home, "keystore")} }

// kdfFlag adds --light-kdf, which picks geth's light scrypt parameters.
func kdfFlag(cmd *cobra.Command, light *bool) {
	cmd.Flags().BoolVar(light, "light-kdf", false,
		"use light scrypt parameters (N=4096, p=6: fast, weaker; for tests and throw-away keys)")
}

func kdfParams(light bool) wallet.ScryptParams {
	if light {
		return wallet.LightScrypt
	}
	return wallet.StandardScrypt
}

func passwordFlag(cmd *cobra.Command, p *passwordSource) {
	cmd.Flags().StringVar(&p.file, "password-file", "",
		"read the password from the first line of FILE instead of a prompt")
}

func newWalletCmd(a *app) *cobra.Command {
	w := &cobra.Command{
		Use:   "wallet",
		Short: "Manage account keys in HOME/keystore (Web3 Secret Storage v3 files)",
		Long: `Keys live in HOME/keystore, one encrypted JSON file per key, in the
Web3 Secret Storage v3 format that geth, ethers and MetaMask read and write.`,
	}
	w.AddCommand(
		newWalletNewCmd(a), newWalletListCmd(a), newWalletShowCmd(a),
		newWalletImportCmd(a), newWalletExportCmd(a),
		newSignMessageCmd(a), newVerifyMessageCmd(a),
	)
	return w
}

func newWalletNewCmd(a *app) *cobra.Command {
	var pw passwordSource
	var light bool
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Create a new key and print its address",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pass, err := pw.read(a, "Password for the new key: ", true)
			if err != nil {
				return err
			}
			k, err := wallet.GenerateKey()
			if err != nil {
				return err
			}
			defer k.Zero()
			e, err := a.keystore().Store(k, pass, kdfParams(light), time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, e.Address.Hex())
			fmt.Fprintf(a.stderr, "key saved in %s\n", e.Path)
			return nil
		},
	}
	passwordFlag(cmd, &pw)
	kdfFlag(cmd, &light)
	return cmd
}

func newWalletListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the keys in the keystore",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := a.keystore().List()
			var corrupt *wallet.CorruptError
			if err != nil && !errors.As(err, &corrupt) {
				return err
			}
			for _, e := range list {
				fmt.Fprintf(a.stdout, "%s  %s\n", e.Address.Hex(), e.Path)
			}
			if corrupt != nil {
				// The good keys are listed; each damaged file is named and
				// the command fails, so a lost key is never "no keys".
				for _, f := range corrupt.Files {
					fmt.Fprintf(a.stderr, "corrupt keystore file %s: %v\n", f.Path, f.Err)
				}
				return fmt.Errorf("%d corrupt keystore file(s) in %s", len(corrupt.Files), corrupt.Dir)
			}
			if len(list) == 0 {
				fmt.Fprintf(a.stderr, "no keys in %s\n", a.keystore().Path)
			}
			return nil
		},
	}
}

// findKey resolves an address argument to its keystore entry.
func (a *app) findKey(s string) (wallet.Entry, error) {
	addr, err := wallet.ParseAddress(s)
	if err != nil {
		return wallet.Entry{}, err
	}
	return a.keystore().Find(addr)
}

func newWalletShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show ADDRESS",
		Short: "Show a key's file and parameters (no password needed; nothing secret is shown)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.findKey(args[0])
			if err != nil {
				return err
			}
			data, err := os.ReadFile(e.Path)
			if err != nil {
				return err
			}
			info, err := wallet.ReadKeystoreInfo(data)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "address: %s\nfile:    %s\nid:      %s\nkdf:     %s\ncipher:  %s\n",
				info.Address.Hex(), e.Path, info.ID, info.KDF, info.Cipher)
			return nil
		},
	}
}

func newWalletImportCmd(a *app) *cobra.Command {
	var pw passwordSource
	var light bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a keystore file made by another tool (geth, ethers, MetaMask export)",
		Long: `Import checks that the password opens FILE, then stores the key in
HOME/keystore encrypted under the same password. FILE itself is only read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			pass, err := pw.read(a, "Password of the keystore file: ", false)
			if err != nil {
				return err
			}
			e, err := a.keystore().Import(data, pass, kdfParams(light), time.Now())
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintln(a.stdout, e.Address.Hex())
			fmt.Fprintf(a.stderr, "key saved in %s\n", e.Path)
			return nil
		},
	}
	passwordFlag(cmd, &pw)
	kdfFlag(cmd, &light)
	return cmd
}

func newWalletExportCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export ADDRESS",
		Short: "Write a key's keystore file (still encrypted) to stdout or --out FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.findKey(args[0])
			if err != nil {
				return err
			}
			data, err := os.ReadFile(e.Path)
			if err != nil {
				return err
			}
			if out == "" {
				_, err = a.stdout.Write(append(data, '\n'))
				return err
			}
			if err := wallet.WriteFileAtomic(out, data, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to FILE (never overwrites) instead of stdout")
	return cmd
}

// messageArg returns the message bytes: the argument, or --message-file's
// content exactly as stored.
func messageArg(args []string, file string) ([]byte, error) {
	switch {
	case file != "" && len(args) > 0:
		return nil, errors.New("give the message as an argument or with --message-file, not both")
	case file != "":
		return os.ReadFile(file)
	case len(args) == 1:
		return []byte(args[0]), nil
	}
	return nil, errors.New("no message: give it as an argument or with --message-file")
}

func newSignMessageCmd(a *app) *cobra.Command {
	var pw passwordSource
	var addr, msgFile string
	cmd := &cobra.Command{
		Use:   "sign-message --address ADDRESS MESSAGE",
		Short: "Sign a message as Ethereum's personal_sign (EIP-191) and print the 65-byte signature",
		Long: `sign-message signs MESSAGE the way wallets' personal_sign does (EIP-191:
"\x19Ethereum Signed Message:\n" + length + message, Keccak-256), so anyone
can check it with ethers' verifyMessage, MetaMask or gridmint verify-message.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			msg, err := messageArg(args, msgFile)
			if err != nil {
				return err
			}
			e, err := a.findKey(addr)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(e.Path)
			if err != nil {
				return err
			}
			pass, err := pw.read(a, "Password for "+e.Address.Hex()+": ", false)
			if err != nil {
				return err
			}
			k, err := wallet.DecryptKey(data, pass)
			if err != nil {
				return err
			}
			defer k.Zero()
			fmt.Fprintln(a.stdout, k.SignPersonal(msg).Hex())
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "address", "", "the signing key's address (required)")
	cmd.Flags().StringVar(&msgFile, "message-file", "", "sign the bytes of FILE instead of an argument")
	cmd.MarkFlagRequired("address")
	passwordFlag(cmd, &pw)
	return cmd
}

func newVerifyMessageCmd(a *app) *cobra.Command {
	var addr, sigHex, msgFile string
	cmd := &cobra.Command{
		Use:   "verify-message --signature SIG [--address ADDRESS] MESSAGE",
		Short: "Check an EIP-191 personal_sign signature; print the signer's address",
		Long: `verify-message recovers the address that signed MESSAGE. With --address
it exits with status 1 unless that address is the signer.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			msg, err := messageArg(args, msgFile)
			if err != nil {
				return err
			}
			sig, err := wallet.ParseSignature(sigHex)
			if err != nil {
				return err
			}
			signer, err := wallet.RecoverPersonal(msg, sig)
			if err != nil {
				return err
			}
			if addr != "" {
				want, err := wallet.ParseAddress(addr)
				if err != nil {
					return err
				}
				if want != signer {
					return fmt.Errorf("signature is by %s, not by %s", signer.Hex(), want.Hex())
				}
				fmt.Fprintf(a.stdout, "valid: signed by %s\n", signer.Hex())
				return nil
			}
			fmt.Fprintln(a.stdout, signer.Hex())
			return nil
		},
	}
	cmd.Flags().StringVar(&sigHex, "signature", "", "the 0x-prefixed 65-byte signature (required)")
	cmd.Flags().StringVar(&addr, "address", "", "the address that should have signed")
	cmd.Flags().StringVar(&msgFile, "message-file", "", "verify the bytes of FILE instead of an argument")
	cmd.MarkFlagRequired("signature")
	return cmd
}
