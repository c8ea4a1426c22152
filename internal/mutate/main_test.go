package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMutationsApply: every mutation of the list finds its snippet exactly
// once in today's source (so the list cannot drift from the code without
// `go test` saying so), changes it, and ids are unique.
func TestMutationsApply(t *testing.T) {
	muts := ConsensusMutations()
	if err := checkIDs(muts); err != nil {
		t.Fatal(err)
	}
	for _, m := range muts {
		src, err := os.ReadFile(filepath.Join("..", "..", m.File))
		if err != nil {
			t.Fatal(err)
		}
		out, err := applyTo(src, m)
		if err != nil {
			t.Error(err)
			continue
		}
		if string(out) == string(src) {
			t.Errorf("%s changes nothing", m.ID)
		}
	}
}

func TestApplyToExactlyOnce(t *testing.T) {
	m := Mutation{ID: "x", File: "f.go", Original: "a < b", Replacement: "a <= b"}
	if out, err := applyTo([]byte("if a < b {}"), m); err != nil || string(out) != "if a <= b {}" {
		t.Fatalf("%q %v", out, err)
	}
	for _, src := range []string{"if a > b {}", "a < b; a < b"} {
		if _, err := applyTo([]byte(src), m); err == nil {
			t.Errorf("%q: applied", src)
		}
	}
	if _, err := applyTo([]byte("a"), Mutation{ID: "y", Original: "a", Replacement: "a"}); err == nil {
		t.Error("a mutation that changes nothing was accepted")
	}
}

func TestFailedTests(t *testing.T) {
	out := `=== RUN   TestA
--- FAIL: TestA (0.00s)
    --- FAIL: TestA/sub_1 (0.00s)
        x_test.go:1: boom
--- FAIL: TestB (0.01s)
FAIL
`
	if got := failedTests([]byte(out), "x.test"); got != "TestA/sub_1, TestB" {
		t.Errorf("got %q", got)
	}
	timeout := "=== RUN   TestOK\n--- PASS: TestOK (0.00s)\n=== RUN   TestBad\n--- FAIL: TestBad (0.00s)\n=== RUN   TestLoop\n=== RUN   TestLoop/case\n" +
		"panic: test timed out after 20s\n\trunning tests:\n\t\tTestLoop (20s)\n\ngoroutine 1 [running]:\n--- FAIL: TestNoise\n"
	if got := failedTests([]byte(timeout), "x.test"); got != "timeout after 20s in TestLoop/case (failed before: TestBad)" {
		t.Errorf("got %q", got)
	}
	if got := failedTests([]byte("exit status 2\n"), "x.test"); !strings.Contains(got, "no failing test") {
		t.Errorf("got %q", got)
	}
	tab := Table([]Outcome{{Mutation: Mutation{ID: "a", Description: "x | y"}, Killed: true, KilledBy: "TestA"}, {Mutation: Mutation{ID: "b"}}})
	if !strings.Contains(tab, "1 of 2 mutations killed") || !strings.Contains(tab, "x \\| y") || !strings.Contains(tab, "**SURVIVED**") {
		t.Errorf("table:\n%s", tab)
	}
}
