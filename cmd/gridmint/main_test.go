package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/node"
	"github.com/gridmint/gridmint/wallet"
)

// cli runs the gridmint CLI in process and returns stdout, stderr and the
// exit status.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := cli(t, args...)
	if code != 0 {
		t.Fatalf("gridmint %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func writePassword(t *testing.T, dir, pw string) string {
	t.Helper()
	p := filepath.Join(dir, "pw")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"version", "--help"}, {"init", "--help"}, {"devnet", "--help"},
		{"wallet", "--help"}, {"wallet", "new", "--help"}, {"wallet", "list", "--help"},
		{"wallet", "show", "--help"}, {"wallet", "import", "--help"}, {"wallet", "export", "--help"},
		{"wallet", "sign-message", "--help"}, {"wallet", "verify-message", "--help"},
	} {
		out := mustCLI(t, args...)
		if !strings.Contains(out, "Usage:") {
			t.Errorf("%v: no usage in help:\n%s", args, out)
		}
	}
	if out := mustCLI(t, "version"); !strings.HasPrefix(out, "gridmint ") {
		t.Errorf("version: %q", out)
	}
}

func TestInit(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	pw := writePassword(t, dir, "correct horse")
	out := mustCLI(t, "--home", home, "init", "--password-file", pw, "--light-kdf", "--chain-id", "gridmint-test")
	if !strings.Contains(out, "account: 0x") {
		t.Fatalf("init output: %s", out)
	}
	cfg, err := node.LoadConfig(filepath.Join(home, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ChainID != "gridmint-test" {
		t.Fatalf("chain id %q", cfg.ChainID)
	}
	// The account in the config is the key in the keystore, and the
	// password opens it.
	e, err := (wallet.Dir{Path: filepath.Join(home, "keystore")}).Find(cfg.Account)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(e.Path)
	if k, err := wallet.DecryptKey(data, []byte("correct horse")); err != nil || k.Address() != cfg.Account {
		t.Fatalf("account key: %v", err)
	}
	for _, f := range []string{"node_key", "admin_token"} {
		st, err := os.Stat(filepath.Join(home, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st, err)
		}
	}
	nk, _ := os.ReadFile(filepath.Join(home, "node_key"))
	if _, err := wallet.PrivateKeyFromHex(strings.TrimSpace(string(nk))); err != nil {
		t.Fatalf("node key: %v", err)
	}
	// A second init refuses and changes nothing.
	before, _ := os.ReadFile(filepath.Join(home, "config.toml"))
	_, errs, code := cli(t, "--home", home, "init", "--password-file", pw, "--light-kdf")
	if code == 0 || !strings.Contains(errs, "never overwrites") {
		t.Fatalf("second init: exit %d, %s", code, errs)
	}
	after, _ := os.ReadFile(filepath.Join(home, "config.toml"))
	if !bytes.Equal(before, after) {
		t.Fatal("second init changed config.toml")
	}
}

func TestWalletCommands(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	pw := writePassword(t, dir, "pw-1")
	addr := strings.TrimSpace(mustCLI(t, "--home", home, "wallet", "new", "--password-file", pw, "--light-kdf"))
	a, err := wallet.ParseAddress(addr)
	if err != nil || a.Hex() != addr {
		t.Fatalf("wallet new printed %q (%v)", addr, err)
	}
	if out := mustCLI(t, "--home", home, "wallet", "list"); !strings.HasPrefix(out, addr+"  ") {
		t.Fatalf("list: %s", out)
	}
	if out := mustCLI(t, "--home", home, "wallet", "show", strings.ToLower(addr)); !strings.Contains(out, "kdf:     scrypt") {
		t.Fatalf("show: %s", out)
	}
	// Export then import into a second home gives the same address.
	exported := filepath.Join(dir, "exported.json")
	mustCLI(t, "--home", home, "wallet", "export", addr, "--out", exported)
	if _, _, code := cli(t, "--home", home, "wallet", "export", addr, "--out", exported); code == 0 {
		t.Fatal("export overwrote a file")
	}
	home2 := filepath.Join(dir, "home2")
	if got := strings.TrimSpace(mustCLI(t, "--home", home2, "wallet", "import", exported, "--password-file", pw, "--light-kdf")); got != addr {
		t.Fatalf("import: %q", got)
	}
	// Wrong password: clear error, nothing written.
	bad := writePassword(t, t.TempDir(), "wrong")
	home3 := filepath.Join(dir, "home3")
	_, errs, code := cli(t, "--home", home3, "wallet", "import", exported, "--password-file", bad)
	if code == 0 || !strings.Contains(errs, "wrong password") {
		t.Fatalf("import with wrong password: %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(home3, "keystore")); err == nil {
		if list, _ := (wallet.Dir{Path: filepath.Join(home3, "keystore")}).List(); len(list) != 0 {
			t.Fatal("failed import wrote a key")
		}
	}

	// Sign and verify.
	sig := strings.TrimSpace(mustCLI(t, "--home", home, "wallet", "sign-message", "--address", addr, "--password-file", pw, "I own this site"))
	if len(sig) != 132 || !strings.HasPrefix(sig, "0x") {
		t.Fatalf("signature %q", sig)
	}
	if out := mustCLI(t, "wallet", "verify-message", "--signature", sig, "--address", addr, "I own this site"); !strings.Contains(out, "valid: signed by "+addr) {
		t.Fatalf("verify: %s", out)
	}
	if out := mustCLI(t, "wallet", "verify-message", "--signature", sig, "I own this site"); strings.TrimSpace(out) != addr {
		t.Fatalf("recover: %s", out)
	}
	if _, _, code := cli(t, "wallet", "verify-message", "--signature", sig, "--address", addr, "I own this house"); code == 0 {
		t.Fatal("verify-message accepted another message")
	}
	// No password source and no terminal: a clear error, not a hang.
	_, errs, code = cli(t, "--home", home, "wallet", "new")
	if code == 0 || !strings.Contains(errs, "--password-file") {
		t.Fatalf("new without password: %d %s", code, errs)
	}
	// A bad checksum is caught.
	mixed := []byte(addr)
	for i := 2; i < len(mixed); i++ {
		if mixed[i] >= 'a' && mixed[i] <= 'f' {
			mixed[i] -= 'a' - 'A'
			break
		} else if mixed[i] >= 'A' && mixed[i] <= 'F' {
			mixed[i] += 'a' - 'A'
			break
		}
	}
	if _, errs, code := cli(t, "--home", home, "wallet", "show", string(mixed)); code == 0 || !strings.Contains(errs, "checksum") {
		t.Fatalf("bad checksum: %d %s", code, errs)
	}
}

// ethers runs scripts/ethers/check.mjs. It skips when node or ethers is
// missing, unless GRIDMINT_REQUIRE_EXTERNAL=1 (set by `make test` and CI),
// in which case it fails.
func ethers(t *testing.T, args ...string) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "ethers")
	nodeBin, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "ethers"))
	}
	if err != nil {
		if os.Getenv("GRIDMINT_REQUIRE_EXTERNAL") == "1" {
			t.Fatalf("ethers cross-check needs node and scripts/ethers/node_modules: run scripts/setup-test-deps (%v)", err)
		}
		t.Skipf("node or ethers missing (run scripts/setup-test-deps): %v", err)
	}
	cmd := exec.Command(nodeBin, append([]string{filepath.Join(dir, "check.mjs")}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ethers %v: %v\n%s", args[0], err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestEthersCrossCheck: keystores and personal signatures made by gridmint
// are read by ethers.js to the same address, and ethers' are read by
// gridmint.
func TestEthersCrossCheck(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	pw := writePassword(t, dir, "crosscheck pw")

	// gridmint wallet new (standard scrypt, as a user gets it) -> ethers.
	addr := strings.TrimSpace(mustCLI(t, "--home", home, "wallet", "new", "--password-file", pw))
	e, err := (wallet.Dir{Path: filepath.Join(home, "keystore")}).Find(mustAddr(t, addr))
	if err != nil {
		t.Fatal(err)
	}
	if got := ethers(t, "decrypt", e.Path, "crosscheck pw"); got != addr {
		t.Fatalf("ethers decrypts gridmint's keystore to %s, want %s", got, addr)
	}

	// gridmint sign-message -> ethers verifyMessage.
	for _, msg := range []string{"I own site 0x01 at 51.5 N", "", "grüne Energie ⚡", "line one\nline two"} {
		args := []string{"--home", home, "wallet", "sign-message", "--address", addr, "--password-file", pw}
		if msg == "" || strings.Contains(msg, "\n") {
			f := filepath.Join(dir, "msg")
			os.WriteFile(f, []byte(msg), 0o600)
			args = append(args, "--message-file", f)
		} else {
			args = append(args, msg)
		}
		sig := strings.TrimSpace(mustCLI(t, args...))
		if got := ethers(t, "verify", msg, sig); got != addr {
			t.Fatalf("message %q: ethers recovers %s, want %s", msg, got, addr)
		}
	}

	// ethers keystore (its default scrypt) -> gridmint wallet import.
	const priv = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	ks := ethers(t, "encrypt", priv, "ethers pw")
	ksFile := filepath.Join(dir, "ethers.json")
	os.WriteFile(ksFile, []byte(ks), 0o600)
	epw := writePassword(t, t.TempDir(), "ethers pw")
	home2 := filepath.Join(dir, "home2")
	got := strings.TrimSpace(mustCLI(t, "--home", home2, "wallet", "import", ksFile, "--password-file", epw, "--light-kdf"))
	if got != "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23" {
		t.Fatalf("gridmint imports ethers' keystore as %s", got)
	}

	// ethers signMessage -> gridmint verify-message.
	sig := ethers(t, "sign", priv, "signed by ethers")
	if out := mustCLI(t, "wallet", "verify-message", "--signature", sig, "signed by ethers"); strings.TrimSpace(out) != got {
		t.Fatalf("gridmint recovers %s from ethers' signature", out)
	}
}

func mustAddr(t *testing.T, s string) wallet.Address {
	t.Helper()
	a, err := wallet.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestWalletListCorrupt: a damaged keystore file is named on stderr and
// the command fails, after listing the good keys; it never says "no keys".
func TestWalletListCorrupt(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	pw := writePassword(t, dir, "pw-1")
	addr := strings.TrimSpace(mustCLI(t, "--home", home, "wallet", "new", "--password-file", pw, "--light-kdf"))
	bad := filepath.Join(home, "keystore", "UTC--2026-01-01T00-00-00.000000000Z--00000000000000000000000000000000000000aa")
	if err := os.WriteFile(bad, []byte(`{"address":"00000000000000000000000000000000000000aa","crypto":`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := cli(t, "--home", home, "wallet", "list")
	if code == 0 || !strings.HasPrefix(out, addr+"  ") || !strings.Contains(errs, "corrupt keystore file "+bad) || strings.Contains(errs, "no keys") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	// Only the damaged file: still not "no keys".
	home2 := filepath.Join(dir, "home2")
	os.MkdirAll(filepath.Join(home2, "keystore"), 0o700)
	os.WriteFile(filepath.Join(home2, "keystore", "key.json"), nil, 0o600)
	_, errs, code = cli(t, "--home", home2, "wallet", "list")
	if code == 0 || !strings.Contains(errs, "key.json") || strings.Contains(errs, "no keys") {
		t.Fatalf("only a corrupt file: exit %d, %s", code, errs)
	}
}
