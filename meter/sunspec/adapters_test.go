package sunspec

import (
	"github.com/gridmint/gridmint/meter"

	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// deviceTable is one [[device]] table of a node's TOML file: its kind and
// a decode function for Open that fills the family's config struct,
// rejecting keys the family does not know.
type deviceTable struct {
	kind   string
	decode func(cfg any) error
}

// decodeDevices reads the [[device]] tables of a TOML document the way the
// node can: each table goes back to TOML and into the adapter's own config
// struct, so that a misspelt key is an error.
func decodeDevices(data []byte) ([]deviceTable, error) {
	var doc struct {
		Device []map[string]any `toml:"device"`
	}
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var out []deviceTable
	for i, m := range doc.Device {
		kind, _ := m["kind"].(string)
		if kind == "" {
			return nil, fmt.Errorf("device %d: no kind", i+1)
		}
		delete(m, "kind")
		b, err := toml.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, deviceTable{kind: kind, decode: func(cfg any) error {
			d := toml.NewDecoder(bytes.NewReader(b))
			d.DisallowUnknownFields()
			return d.Decode(cfg)
		}})
	}
	return out, nil
}

// openExample opens every device of a TOML example, pointing it at the
// test's server instead of the example's address.
func openExample(t *testing.T, file, addr string) []meter.Device {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := decodeDevices(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var devs []meter.Device
	for _, tb := range tables {
		decode := tb.decode
		d, err := meter.Open(adapterCtx(t), tb.kind, func(cfg any) error {
			if err := decode(cfg); err != nil {
				return err
			}
			switch c := cfg.(type) {
			case *Config:
				c.Address = addr
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Cleanup(func() { d.Close() })
		devs = append(devs, d)
	}
	return devs
}

// TestAdapterConfigExamples decodes the documented TOML examples with the
// node's TOML library and runs them against the real servers.
func TestAdapterConfigExamples(t *testing.T) {
	t.Run("sunspec", func(t *testing.T) {
		srv := startTestModbus(t, loadDump(t))
		ctx := adapterCtx(t)
		devs := openExample(t, "testdata/fronius_gen24.toml", srv.addr)
		if len(devs) != 2 {
			t.Fatalf("%d devices", len(devs))
		}
		inv, mtr := devs[0].(*Device), devs[1].(*Device)
		if inv.cfg.Timeout.D() != 2*time.Second || inv.cfg.MaxBackoff.D() != time.Minute || !inv.cfg.Control {
			t.Errorf("decoded %+v", inv.cfg)
		}
		if got, want := inv.Capabilities(), meter.CapPV|meter.CapPVEnergy|meter.CapBattery|meter.CapDispatch; got != want {
			t.Errorf("inverter capabilities %s, want %s", got, want)
		}
		if got, want := mtr.Capabilities(), meter.CapGrid|meter.CapGridEnergy; got != want {
			t.Errorf("meter capabilities %s, want %s", got, want)
		}
		if w, err := mtr.GridPowerW(ctx); err != nil || w != -1520 {
			t.Errorf("grid power %d, %v", w, err)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		tables, err := decodeDevices([]byte("[[device]]\nkind = \"sunspec\"\naddress = \"127.0.0.1:1\"\nunit_idd = 1\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := meter.Open(context.Background(), tables[0].kind, tables[0].decode); err == nil {
			t.Error("a misspelt key was accepted")
		}
	})
	if !slices.Equal(meter.Kinds(), slices.Sorted(slices.Values(meter.Kinds()))) || !slices.Contains(meter.Kinds(), "sunspec") {
		t.Errorf("kinds %v", meter.Kinds())
	}
}
