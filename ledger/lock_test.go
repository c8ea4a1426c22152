package ledger

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenInUse: a store open in this process, or in another one, is
// refused with ErrInUse and a message naming the directory, not pebble's
// "resource temporarily unavailable"; once closed it opens again.
func TestOpenInUse(t *testing.T) {
	if dir := os.Getenv("GRIDMINT_TEST_LEDGER_CHILD"); dir != "" {
		// The child: open the store its parent holds.
		_, err := Open(dir, testGenesis(nil), Options{})
		if errors.Is(err, ErrInUse) {
			os.Stdout.WriteString(err.Error())
			os.Exit(7)
		}
		os.Stdout.WriteString("child opened the store: " + errString(err))
		os.Exit(1)
	}
	dir := filepath.Join(t.TempDir(), "ledger")
	l, err := Open(dir, testGenesis(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		_, err := Open(dir, testGenesis(nil), opts)
		if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "another gridmint is using "+dir) {
			t.Fatalf("second open (read-only %v) in one process: %v", opts.ReadOnly, err)
		}
	}
	// Another process: skipped with -short, as the other tests that spawn
	// processes are (make cross-test runs the tests under qemu-user, where
	// the test binary cannot exec itself).
	if !testing.Short() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOpenInUse$")
		cmd.Env = append(os.Environ(), "GRIDMINT_TEST_LEDGER_CHILD="+dir)
		out, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 || !strings.Contains(string(out), "another gridmint is using "+dir) {
			t.Fatalf("open from another process: %v, %s", err, out)
		}
	}
	l.Close()
	l, err = Open(dir, testGenesis(nil), Options{})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	l.Close()
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
