package mqtt

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
				c.Broker = addr
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
	t.Run("evcc", func(t *testing.T) {
		b := startMosquitto(t)
		pub := publisher(t, b)
		ctx := adapterCtx(t)
		devs := openExample(t, "testdata/evcc.toml", b.url())
		m := devs[0].(*Device)
		if m.cfg.MaxAge.D() != 90*time.Second {
			t.Errorf("max_age %v", m.cfg.MaxAge)
		}
		if got, want := m.Capabilities(), meter.CapGrid|meter.CapPV|meter.CapBattery|meter.CapCharger|meter.CapDispatch; got != want {
			t.Errorf("capabilities %s, want %s", got, want)
		}
		publish(t, pub, "evcc/site/batteryPower", "2200", false)
		eventually(t, "battery power", -2200, func() (int64, error) { return m.BatteryPowerW(ctx) })
	})
	t.Run("homeassistant", func(t *testing.T) {
		b := startMosquitto(t)
		pub := publisher(t, b)
		ctx := adapterCtx(t)
		m := openExample(t, "testdata/homeassistant.toml", b.url())[0].(*Device)
		if got, want := m.Capabilities(), meter.CapGrid|meter.CapGridEnergy|meter.CapPV|meter.CapPVEnergy|meter.CapDispatch; got != want {
			t.Errorf("capabilities %s, want %s", got, want)
		}
		publish(t, pub, "tele/smartmeter/SENSOR", `{"Time":"2026-06-01T12:00:00","SML":{"Total_in":18456.1234,"Total_out":5321.0006,"Power_curr":-812}}`, false)
		eventually(t, "import", 18_456_123, func() (int64, error) { i, _, err := m.GridEnergyWh(ctx); return int64(i), err })
		eventually(t, "export", 5_321_000, func() (int64, error) { _, e, err := m.GridEnergyWh(ctx); return int64(e), err })
	})
	t.Run("unknown key", func(t *testing.T) {
		tables, err := decodeDevices([]byte("[[device]]\nkind = \"mqtt\"\nbroker = \"tcp://127.0.0.1:1\"\ngrid_power = { topic = \"a\", unti = \"kW\" }\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := meter.Open(context.Background(), tables[0].kind, tables[0].decode); err == nil {
			t.Error("a misspelt key was accepted")
		}
	})
	if !slices.Equal(meter.Kinds(), slices.Sorted(slices.Values(meter.Kinds()))) || !slices.Contains(meter.Kinds(), "mqtt") {
		t.Errorf("kinds %v", meter.Kinds())
	}
}
