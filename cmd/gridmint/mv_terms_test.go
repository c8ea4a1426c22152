package main

import (
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mvTermsFiles writes a CSV of flat readings and a terms file built from
// the fields given (JSON members, without braces) after the usual ones.
func mvTermsFiles(t *testing.T, termsJSON string) (csvPath, termsPath string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("interval,import_wh,export_wh\n")
	for i := 0; i < 6*96; i++ {
		fmt.Fprintf(&b, "%d,250,0\n", i)
	}
	csvPath = filepath.Join(dir, "r.csv")
	termsPath = filepath.Join(dir, "t.json")
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(termsPath, []byte(termsJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	return csvPath, termsPath
}

func offlineTermsJSON(committedW, price uint64, start, end int) string {
	return fmt.Sprintf(`{"genesis_time": 1782000000, "interval_seconds": 900, "zone": "CO-DEN", "direction": "down",
	  "start": %d, "end": %d, "posted_interval": %d, "method": "x-of-y",
	  "rules": {"WeekdayX": 3, "WeekdayY": 3, "WeekendX": 1, "WeekendY": 1, "LookbackDays": 10},
	  "price_base_units_per_kwh": %d, "committed_w": %d, "bond_base_units": 100000}`, start, end, start-24, price, committedW)
}

// TestMVTermsOverflow: the terms of issue 15 (2^40 W at 2^30 base units
// per kWh over 96 intervals), whose most payable does not fit 64 bits,
// end in a clear error and a non-zero exit, not a stack trace; so do terms
// beyond the documented bounds. Terms at the largest price that fits
// settle.
func TestMVTermsOverflow(t *testing.T) {
	const start = 5*96 + 0
	for name, tc := range map[string]struct {
		terms string
		want  string
	}{
		"escrow overflows": {offlineTermsJSON(1<<40, 1<<30, start, start+96), "does not fit"},
		"target too high":  {offlineTermsJSON(1<<40+1, 1, start, start+96), "target"},
		"price too high":   {offlineTermsJSON(1000, 1<<40+1, start, start+96), "price"},
		"window too long":  {offlineTermsJSON(1000, 1, start, start+97), "window"},
		"window far away":  {offlineTermsJSON(1000, 1, 1<<41, 1<<41+1), "window"},
	} {
		csvPath, termsPath := mvTermsFiles(t, tc.terms)
		out, errs, code := cli(t, "mv", "--csv", csvPath, "--terms", termsPath)
		if code == 0 || !strings.Contains(errs, tc.want) || strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", name, code, out, errs)
		}
	}
	// 2^40 W over 96 intervals is 2^38 × 96 Wh: the largest price whose
	// most payable, ⌊price × Wh / 1000⌋, fits 64 bits is
	// ⌊(1000 × 2^64 − 1) / Wh⌋.
	price, _ := bits.Div64(999, math.MaxUint64, uint64(1<<38)*96)
	csvPath, termsPath := mvTermsFiles(t, offlineTermsJSON(1<<40, price, start, start+96))
	if _, errs, code := cli(t, "mv", "--csv", csvPath, "--terms", termsPath, "--json"); code != 0 {
		t.Fatalf("price %d (the largest that fits): exit %d: %s", price, code, errs)
	}
	csvPath, termsPath = mvTermsFiles(t, offlineTermsJSON(1<<40, price+1, start, start+96))
	if _, errs, code := cli(t, "mv", "--csv", csvPath, "--terms", termsPath); code == 0 || !strings.Contains(errs, "does not fit") {
		t.Fatalf("price %d (one above): exit %d: %s", price+1, code, errs)
	}
}

// TestMVTermsTrailingData: a terms file is one JSON object; anything after
// it but white space is refused with a clear error.
func TestMVTermsTrailingData(t *testing.T) {
	good := offlineTermsJSON(1000, 200_000, 5*96+56, 5*96+72)
	for name, tail := range map[string]string{
		"garbage":       " garbage",
		"second object": "\n{}",
		"stray brace":   "}",
		"number":        " 1",
	} {
		csvPath, termsPath := mvTermsFiles(t, good+tail)
		if _, errs, code := cli(t, "mv", "--csv", csvPath, "--terms", termsPath); code == 0 || !strings.Contains(errs, "trailing data") {
			t.Errorf("%s: exit %d: %s", name, code, errs)
		}
	}
	csvPath, termsPath := mvTermsFiles(t, good+"\n\t \n")
	mustCLI(t, "mv", "--csv", csvPath, "--terms", termsPath)
}

// TestMVOfflineMissing: mv shows why a commitment was forfeited. The
// flat site of mvTermsFiles with one reading removed — in the window, or at
// the window's hour on a baseline day — forfeits (nothing paid, the bond
// slashed as at zero performance), and the text names the reason and the
// interval; with every reading it settles.
func TestMVOfflineMissing(t *testing.T) {
	const start = 5*96 + 56
	for name, tc := range map[string]struct {
		drop int
		want string
	}{
		"none":         {-1, "settled"},
		"window":       {start + 3, fmt.Sprintf("forfeited: missing-window-reading at %d", start+3)},
		"guard":        {start - 2, fmt.Sprintf("forfeited: missing-guard-reading at %d", start-2)},
		"baseline day": {4*96 + 60, fmt.Sprintf("forfeited: missing-baseline-reading at %d", 4*96+60)},
		// The site registered on day 4: day 3 is not a baseline day, so a
		// gap there changes nothing, and too few days are left.
		"before history": {3*96 + 60, "no-baseline: no-baseline"},
	} {
		terms := offlineTermsJSON(1000, 200_000, start, start+16)
		if name == "before history" {
			terms = strings.Replace(terms, `"bond_base_units"`, `"history_start_interval": 384, "bond_base_units"`, 1)
		}
		csvPath, termsPath := mvTermsFiles(t, terms)
		data, err := os.ReadFile(csvPath)
		if err != nil {
			t.Fatal(err)
		}
		if tc.drop >= 0 {
			data = []byte(strings.Replace(string(data), fmt.Sprintf("\n%d,250,0\n", tc.drop), "\n", 1))
		}
		if err := os.WriteFile(csvPath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		out := mustCLI(t, "mv", "--csv", csvPath, "--terms", termsPath, "--intervals")
		if !strings.Contains(out, tc.want) {
			t.Fatalf("%s: no %q in\n%s", name, tc.want, out)
		}
		if tc.drop >= 0 && name != "before history" && !strings.Contains(out, "worst case for the site") {
			t.Fatalf("%s: the reason is not explained:\n%s", name, out)
		}
	}
}
