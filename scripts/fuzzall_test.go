// Package scripts holds the repository's shell scripts; its tests run them
// against a stand-in for the go command.
package scripts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo is a go command that knows two packages and plays each fuzz
// target as told in $FAKE/behave/<Target>: ok, fail (a crasher), flake-once
// (the coordinator flake, then a pass) or flake-always. It counts the runs
// in $FAKE/runs/<Target>.
const fakeGo = `#!/usr/bin/env bash
case "$1 $2" in
"env GOCACHE") echo "$FAKE/cache"; exit 0;;
"list -m") echo example.com/m; exit 0;;
"list ./...") echo example.com/m/a; echo example.com/m/b; exit 0;;
"list -f") echo "$FAKE/${4##*/}"; exit 0;;
esac
if [ "$1" != test ]; then echo "fake go: $*" >&2; exit 2; fi
t=${6#^}; t=${t%$}
echo x >> "$FAKE/runs/$t"
n=$(wc -l < "$FAKE/runs/$t")
echo "fuzz: elapsed: 0s, gathering baseline coverage: 0/1 completed"
mkdir -p "$FAKE/cache/fuzz/$2/$t" && echo "go test fuzz v1" > "$FAKE/cache/fuzz/$2/$t/entry$n"
case "$(cat "$FAKE/behave/$t")" in
ok) echo PASS; exit 0;;
fail) echo "--- FAIL: $t (0.10s)"; echo "    --- FAIL: $t (0.00s)"; echo "        x_test.go:12: decoded value re-encodes differently"
      echo "    Failing input written to testdata/fuzz/$t/abc123"; echo FAIL; exit 1;;
flake-once) if [ "$n" = 1 ]; then echo "--- FAIL: $t (31.00s)"; echo "    context deadline exceeded"; echo FAIL; exit 1; fi; echo PASS; exit 0;;
flake-always) echo "--- FAIL: $t (31.00s)"; echo "    context deadline exceeded"; echo FAIL; exit 1;;
esac
exit 3
`

func runFuzzAll(t *testing.T, behave map[string]string) (string, int, map[string]int) {
	t.Helper()
	fake := t.TempDir()
	for _, d := range []string{"a", "b", "behave", "runs"} {
		os.MkdirAll(filepath.Join(fake, d), 0o755)
	}
	os.WriteFile(filepath.Join(fake, "a", "x_test.go"), []byte("package a\nfunc FuzzA(f *testing.F) {}\nfunc FuzzB(f *testing.F) {}\n"), 0o644)
	os.WriteFile(filepath.Join(fake, "b", "x_test.go"), []byte("package b\nfunc FuzzC(f *testing.F) {}\nfunc FuzzD(f *testing.F) {}\n"), 0o644)
	for target, b := range behave {
		os.WriteFile(filepath.Join(fake, "behave", target), []byte(b), 0o644)
	}
	goCmd := filepath.Join(fake, "go")
	if err := os.WriteFile(goCmd, []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "fuzz-all", "1s")
	cmd.Env = append(os.Environ(), "GO="+goCmd, "FAKE="+fake)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for target := range behave {
		b, _ := os.ReadFile(filepath.Join(fake, "runs", target))
		runs[target] = bytes.Count(b, []byte("x"))
	}
	// The corpus of every run is copied into the package.
	for target, n := range runs {
		pkg := map[string]string{"FuzzA": "a", "FuzzB": "a", "FuzzC": "b", "FuzzD": "b"}[target]
		ents, _ := os.ReadDir(filepath.Join(fake, pkg, "testdata", "fuzz", target))
		if len(ents) != n {
			t.Errorf("%s: %d corpus entries copied, want %d", target, len(ents), n)
		}
	}
	return out.String(), code, runs
}

// TestFuzzAllKeepsGoing: a real failure does not stop the run; a target
// that hits the coordinator flake is run once more; the summary names each
// real failure with its message, and the exit status is 1.
func TestFuzzAllKeepsGoing(t *testing.T) {
	out, code, runs := runFuzzAll(t, map[string]string{"FuzzA": "flake-once", "FuzzB": "fail", "FuzzC": "ok", "FuzzD": "flake-always"})
	want := map[string]int{"FuzzA": 2, "FuzzB": 1, "FuzzC": 1, "FuzzD": 2}
	for target, n := range want {
		if runs[target] != n {
			t.Errorf("%s ran %d times, want %d", target, runs[target], n)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	summary := out[strings.Index(out, "fuzz-all: 4 target(s) run"):]
	for _, s := range []string{
		"fuzz-all: 1 target(s) FAILED:",
		"--- example.com/m/a FuzzB",
		"x_test.go:12: decoded value re-encodes differently",
		"Failing input written to testdata/fuzz/FuzzB/abc123",
		"example.com/m/b FuzzD failed twice with the coordinator flake only",
	} {
		if !strings.Contains(summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, summary)
		}
	}
	if strings.Contains(summary, "--- example.com/m/a FuzzA") || strings.Contains(summary, "--- example.com/m/b FuzzC") {
		t.Errorf("a passing target is listed as failed:\n%s", summary)
	}
}

// TestFuzzAllFlakeOnlyPasses: a run whose only trouble is one coordinator
// flake succeeds.
func TestFuzzAllFlakeOnlyPasses(t *testing.T) {
	out, code, runs := runFuzzAll(t, map[string]string{"FuzzA": "ok", "FuzzB": "flake-once", "FuzzC": "ok", "FuzzD": "ok"})
	if code != 0 || runs["FuzzB"] != 2 || strings.Contains(out, "FAILED") {
		t.Fatalf("exit %d, runs %v:\n%s", code, runs, out)
	}
}
