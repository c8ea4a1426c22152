// Package golden compares a test's output with a value kept in a file under
// testdata, the cross-architecture determinism check of the packages whose
// results must be the same byte for byte on amd64, arm64 and arm (state
// roots, simulator digests, solar geometry hashes). It is for tests only.
package golden

import (
	"os"
	"strings"
	"testing"
)

// Check fails the test unless got equals the file at path (surrounding
// white space ignored). With rewrite, it first writes got (and a newline)
// to path: the package's -rewrite style flag, for a change of the numbers
// made on purpose. what names the value in the failure message.
func Check(t testing.TB, path, got string, rewrite bool, what string) {
	t.Helper()
	if rewrite {
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run with the package's rewrite flag to create it)", what, err)
	}
	if want := strings.TrimSpace(string(b)); got != want {
		t.Fatalf("%s changed:\n got %s\nwant %s (%s; if intended, rerun with the package's rewrite flag)", what, got, want, path)
	}
}
