package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// encodeReadingsCSV writes rows as mv reads them, with the given number of
// columns (3 to 6), sorted by interval.
func encodeReadingsCSV(rows map[int64][5]int64, cols int) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Join(readingsCSVHeader[:cols], ","))
	b.WriteByte('\n')
	var keys []int64
	for k := range rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%d", k)
		r := rows[k]
		for _, v := range r[:cols-1] {
			fmt.Fprintf(&b, ",%d", v)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func sampleCSV() []byte {
	var b strings.Builder
	b.WriteString("interval,import_wh,export_wh,battery_charge_wh,battery_discharge_wh,ev_wh\n")
	for i := 500; i < 520; i++ {
		fmt.Fprintf(&b, "%d,%d,%d,0,%d,0\n", i, 600-i%7, i%3, 1000*(i%2))
	}
	return []byte(b.String())
}

// FuzzReadingsCSV: the mv CSV reader never panics; what it accepts is
// values in 0..2^40, and it round-trips: the rows written back as CSV read
// to the same rows, and that encoding is stable.
func FuzzReadingsCSV(f *testing.F) {
	f.Add(sampleCSV())
	f.Add([]byte("interval,import_wh,export_wh\n1,2,3\n2, 4 ,5\n"))
	f.Add([]byte("interval,import_wh,export_wh\n1,-2,0\n"))
	f.Add([]byte("interval,import\n1,2\n"))
	f.Add([]byte("\"interval\",import_wh,export_wh\n\"1\n\",2,3\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseReadingsCSV("r.csv", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "r.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		h, err := cr.Read()
		if err != nil {
			t.Fatalf("accepted a file whose header does not read: %v", err)
		}
		cols := len(h)
		if cols < 3 || cols > 6 {
			t.Fatalf("accepted a header of %d columns", cols)
		}
		for k, r := range rows {
			if k < 0 || k > maxCSVWh {
				t.Fatalf("interval %d accepted", k)
			}
			for i, v := range r {
				if v < 0 || v > maxCSVWh || i >= cols-1 && v != 0 {
					t.Fatalf("interval %d: value %d of column %d accepted", k, v, i+1)
				}
			}
		}
		enc := encodeReadingsCSV(rows, cols)
		back, err := parseReadingsCSV("r.csv", bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("encoding of accepted rows does not read: %v\n%s", err, enc)
		}
		if len(back) != len(rows) {
			t.Fatalf("%d rows became %d", len(rows), len(back))
		}
		for k, r := range rows {
			if back[k] != r {
				t.Fatalf("interval %d: %v became %v", k, r, back[k])
			}
		}
		if again := encodeReadingsCSV(back, cols); !bytes.Equal(again, enc) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, again)
		}
	})
}

// FuzzMVOffline drives the offline mode (the --terms reader and the CSV
// reader, then the settlement) with any terms file and CSV: no panic,
// whatever the numbers.
func FuzzMVOffline(f *testing.F) {
	f.Add([]byte(`{"genesis_time": 1782000000, "interval_seconds": 900, "zone": "CO-DEN", "direction": "down",
	  "start": 510, "end": 518, "posted_interval": 500, "method": "x-of-y",
	  "rules": {"WeekdayX": 3, "WeekdayY": 3, "WeekendX": 1, "WeekendY": 1, "LookbackDays": 10},
	  "price_base_units_per_kwh": 200000, "committed_w": 1000, "bond_base_units": 100000}`), sampleCSV())
	f.Add([]byte(`{"genesis_time": 1782000000, "interval_seconds": 900, "zone": "CO-DEN", "direction": "up",
	  "start": 510, "end": 518, "posted_interval": 500, "method": "device", "channel": "battery",
	  "rules": {"LookbackDays": 5}, "price_base_units_per_kwh": 200000, "committed_w": 4000, "bond_base_units": 400000,
	  "escrow_base_units": 7, "holidays": [20630], "utc_offset_seconds": -25200}`), sampleCSV())
	f.Add([]byte(`{"direction": "down", "method": "high-x-of-y", "channel": "ev", "start": 1, "end": 2, "committed_w": 1,
	  "params": {"interval_seconds": 900}}`), []byte("interval,import_wh,export_wh\n0,1,1\n"))
	f.Fuzz(func(t *testing.T, terms, csvData []byte) {
		dir := t.TempDir()
		tp, cp := filepath.Join(dir, "t.json"), filepath.Join(dir, "r.csv")
		if err := os.WriteFile(tp, terms, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp, csvData, 0o600); err != nil {
			t.Fatal(err)
		}
		a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
		_ = a.mvOffline(cp, tp, false, true)
	})
}
