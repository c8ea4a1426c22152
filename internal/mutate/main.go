// Command mutate is the consensus mutation test (scripts/mutate-consensus,
// `make mutate`). It applies, one at a time, a mutation that removes or
// inverts one condition of one rule of Algorithm 1 ("The latest gossip on
// BFT consensus", Buchman, Kwon, Milosevic 2018) in consensus/, builds the
// consensus tests against the mutated source, runs them, and records
// whether a test failed ("killed") and which one. Every mutation must be
// killed: a survivor is a rule that no test holds.
//
// The source tree is never written: each mutant is a copy of the file in a
// temporary directory, handed to the Go toolchain with -overlay, so an
// interrupted run (even kill -9) leaves the worktree as it was. A mutation
// whose original snippet is not found exactly once in its file is an error
// that stops the run: the list must follow the code.
//
// For each mutation it builds the test binary of ./consensus once and runs
// the engine's unit tests; only if they pass does it build and run the
// simulation's (a short seed count).
//
// Usage:
//
//	scripts/mutate-consensus [-only id,id] [-seeds N] [-out consensus/MUTATIONS.md] [-list]
//
// It prints a markdown table (mutation, description, killed by) and writes
// it into -out between the markers "<!-- mutations:begin -->" and
// "<!-- mutations:end -->"; it exits 1 if any mutation survived.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Mutation is one precise source edit: Original must occur exactly once in
// File (relative to the module root) and is replaced by Replacement.
type Mutation struct {
	ID          string
	File        string
	Original    string
	Replacement string
	Description string
}

// Outcome is what one mutation's test run showed.
type Outcome struct {
	Mutation Mutation
	Killed   bool
	KilledBy string // the failing tests, or "timeout ..." / "build failed"
	Elapsed  time.Duration
}

func main() {
	only := flag.String("only", "", "comma-separated mutation ids to run (default: all)")
	seeds := flag.Int("seeds", 10, "simulation seeds per scenario for each mutant")
	out := flag.String("out", "consensus/MUTATIONS.md", "markdown file whose table is replaced (empty: print only)")
	list := flag.Bool("list", false, "list the mutations and check that each applies, run nothing")
	unitTimeout := flag.Duration("unit-timeout", 20*time.Second, "timeout of the engine unit tests of one mutant (they take about a second)")
	simTimeout := flag.Duration("sim-timeout", 240*time.Second, "timeout of the simulation of one mutant")
	flag.Parse()

	root, err := moduleRoot()
	if err != nil {
		fatal(err)
	}
	muts := ConsensusMutations()
	if err := checkIDs(muts); err != nil {
		fatal(err)
	}
	if *only != "" {
		want := strings.Split(*only, ",")
		muts = slices.DeleteFunc(muts, func(m Mutation) bool { return !slices.Contains(want, m.ID) })
		if len(muts) != len(want) {
			fatal(fmt.Errorf("-only %s: %d of %d ids known", *only, len(muts), len(want)))
		}
	}
	// Every mutation must apply before anything runs.
	for _, m := range muts {
		if _, err := apply(root, m); err != nil {
			fatal(err)
		}
	}
	if *list {
		for _, m := range muts {
			fmt.Printf("%-12s %s: %s\n", m.ID, m.File, m.Description)
		}
		return
	}

	tmp, err := os.MkdirTemp("", "mutate-consensus-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)

	var results []Outcome
	survived := 0
	for i, m := range muts {
		start := time.Now()
		o := runOne(root, tmp, m, *seeds, *unitTimeout, *simTimeout)
		o.Elapsed = time.Since(start)
		results = append(results, o)
		status := "killed by " + o.KilledBy
		if !o.Killed {
			status = "SURVIVED"
			survived++
		}
		fmt.Fprintf(os.Stderr, "[%d/%d] %s: %s (%s)\n", i+1, len(muts), m.ID, status, o.Elapsed.Round(time.Second))
	}
	table := Table(results)
	fmt.Print(table)
	if *out != "" && *only == "" {
		if err := writeTable(filepath.Join(root, *out), table); err != nil {
			fatal(err)
		}
	}
	if survived > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d mutations survived\n", survived, len(results))
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "all %d mutations killed\n", len(results))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	os.Exit(2)
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

func checkIDs(muts []Mutation) error {
	seen := map[string]bool{}
	for _, m := range muts {
		if m.ID == "" || seen[m.ID] {
			return fmt.Errorf("mutation id %q empty or repeated", m.ID)
		}
		seen[m.ID] = true
	}
	return nil
}

// apply returns the content of m.File with the mutation applied, or an
// error if the original snippet does not occur exactly once.
func apply(root string, m Mutation) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(root, m.File))
	if err != nil {
		return nil, fmt.Errorf("mutation %s: %w", m.ID, err)
	}
	return applyTo(src, m)
}

func applyTo(src []byte, m Mutation) ([]byte, error) {
	if m.Original == m.Replacement {
		return nil, fmt.Errorf("mutation %s: replacement equals the original", m.ID)
	}
	switch n := bytes.Count(src, []byte(m.Original)); n {
	case 1:
	default:
		return nil, fmt.Errorf("mutation %s: snippet found %d times in %s, want exactly once:\n%s", m.ID, n, m.File, m.Original)
	}
	return bytes.Replace(src, []byte(m.Original), []byte(m.Replacement), 1), nil
}

// runOne builds and runs the consensus tests against mutant m.
func runOne(root, tmp string, m Mutation, seeds int, unitTimeout, simTimeout time.Duration) Outcome {
	o := Outcome{Mutation: m}
	mutated, err := apply(root, m)
	if err != nil {
		fatal(err)
	}
	dir := filepath.Join(tmp, m.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	mutant := filepath.Join(dir, filepath.Base(m.File))
	if err := os.WriteFile(mutant, mutated, 0o644); err != nil {
		fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(root, m.File): mutant}})
	overlayPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o644); err != nil {
		fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		fatal(err)
	}
	runs := []struct {
		pkg, binary, dir string
		args             []string
		timeout          time.Duration
	}{
		{"./consensus", "consensus.test", "consensus", nil, unitTimeout},
		{"./consensus/sim", "sim.test", "consensus/sim", []string{fmt.Sprintf("-sim.seeds=%d", seeds)}, simTimeout},
	}
	for _, r := range runs {
		// Each test binary is built once per mutant, and the simulation's
		// only if the unit tests let the mutant through.
		build := exec.Command("nice", "-n", "10", "go", "test", "-c", "-vet=off", "-overlay", overlayPath, "-o", filepath.Join(bin, r.binary), r.pkg)
		build.Dir = root
		if b, err := build.CombinedOutput(); err != nil {
			// A mutant that does not compile tests nothing: the list is wrong.
			fatal(fmt.Errorf("mutation %s does not build:\n%s", m.ID, b))
		}
		killedBy, killed := runTests(filepath.Join(bin, r.binary), filepath.Join(root, r.dir), r.args, r.timeout)
		if killed {
			o.Killed, o.KilledBy = true, killedBy
			return o
		}
	}
	return o
}

var (
	failLine    = regexp.MustCompile(`^\s*--- FAIL: (\S+)`)
	doneLine    = regexp.MustCompile(`^\s*--- (?:PASS|FAIL|SKIP): (\S+)`)
	runLine     = regexp.MustCompile(`^=== (?:RUN|CONT)\s+(\S+)`)
	timeoutLine = regexp.MustCompile(`^panic: test timed out after (\S+)`)
)

// runTests runs one test binary and reports whether it failed, and which
// tests failed (the innermost subtests; a parent is named only when it has
// no failing subtest).
func runTests(binary, dir string, args []string, timeout time.Duration) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	// -test.v: the tests still running when the timeout hits are those
	// with a "=== RUN" line and no result line.
	args = append([]string{"-test.v", "-test.count=1", fmt.Sprintf("-test.timeout=%s", timeout)}, args...)
	cmd := exec.CommandContext(ctx, "nice", append([]string{"-n", "10", binary}, args...)...)
	cmd.Dir = dir
	outb, err := cmd.CombinedOutput()
	if err == nil {
		return "", false
	}
	return failedTests(outb, filepath.Base(binary)), true
}

func failedTests(out []byte, binary string) string {
	var failed, running []string
	timedOut := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if m := failLine.FindStringSubmatch(line); m != nil {
			failed = append(failed, m[1])
		}
		if m := runLine.FindStringSubmatch(line); m != nil && !slices.Contains(running, m[1]) {
			running = append(running, m[1])
		}
		if m := doneLine.FindStringSubmatch(line); m != nil {
			running = slices.DeleteFunc(running, func(n string) bool { return n == m[1] })
		}
		if m := timeoutLine.FindStringSubmatch(line); m != nil && timedOut == "" {
			timedOut = m[1]
			break
		}
	}
	if timedOut != "" {
		s := fmt.Sprintf("timeout after %s in %s", timedOut, strings.Join(innermost(running), ", "))
		if f := innermost(failed); len(f) > 0 {
			s += fmt.Sprintf(" (failed before: %s)", strings.Join(f[:min(2, len(f))], ", "))
		}
		return s
	}
	leaves := innermost(failed)
	if len(leaves) == 0 {
		return binary + " exited with an error and no failing test"
	}
	const show = 3
	s := strings.Join(leaves[:min(show, len(leaves))], ", ")
	if len(leaves) > show {
		s += fmt.Sprintf(" (+%d more)", len(leaves)-show)
	}
	return s
}

// innermost drops names that are the parent of another name in the list.
func innermost(names []string) []string {
	var out []string
	for _, n := range names {
		parent := false
		for _, o := range names {
			if strings.HasPrefix(o, n+"/") {
				parent = true
				break
			}
		}
		if !parent && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Table renders the outcomes as a markdown table.
func Table(results []Outcome) string {
	var b strings.Builder
	killed := 0
	for _, o := range results {
		if o.Killed {
			killed++
		}
	}
	fmt.Fprintf(&b, "%d of %d mutations killed.\n\n", killed, len(results))
	b.WriteString("| mutation | description | killed by |\n| --- | --- | --- |\n")
	for _, o := range results {
		by := "**SURVIVED**"
		if o.Killed {
			by = "`" + strings.ReplaceAll(o.KilledBy, "|", "\\|") + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", o.Mutation.ID, strings.ReplaceAll(o.Mutation.Description, "|", "\\|"), by)
	}
	return b.String()
}

const (
	beginMarker = "<!-- mutations:begin -->"
	endMarker   = "<!-- mutations:end -->"
)

// writeTable replaces the table between the markers of path.
func writeTable(path, table string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %s and %s not found", path, beginMarker, endMarker)
	}
	s = s[:i+len(beginMarker)] + "\n" + table + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
