package meter

import (
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
func openExample(t *testing.T, file, addr string) []Device {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := decodeDevices(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var devs []Device
	for _, tb := range tables {
		decode := tb.decode
		d, err := Open(adapterCtx(t), tb.kind, func(cfg any) error {
			if err := decode(cfg); err != nil {
				return err
			}
			switch c := cfg.(type) {
			case *SunSpecConfig:
				c.Address = addr
			case *MQTTConfig:
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
	t.Run("sunspec", func(t *testing.T) {
		srv := startTestModbus(t, loadDump(t))
		ctx := adapterCtx(t)
		devs := openExample(t, "testdata/sunspec/fronius_gen24.toml", srv.addr)
		if len(devs) != 2 {
			t.Fatalf("%d devices", len(devs))
		}
		inv, mtr := devs[0].(*SunSpec), devs[1].(*SunSpec)
		if inv.cfg.Timeout.D() != 2*time.Second || inv.cfg.MaxBackoff.D() != time.Minute || !inv.cfg.Control {
			t.Errorf("decoded %+v", inv.cfg)
		}
		if got, want := inv.Capabilities(), CapPV|CapPVEnergy|CapBattery|CapDispatch; got != want {
			t.Errorf("inverter capabilities %s, want %s", got, want)
		}
		if got, want := mtr.Capabilities(), CapGrid|CapGridEnergy; got != want {
			t.Errorf("meter capabilities %s, want %s", got, want)
		}
		if w, err := mtr.GridPowerW(ctx); err != nil || w != -1520 {
			t.Errorf("grid power %d, %v", w, err)
		}
	})
	t.Run("evcc", func(t *testing.T) {
		b := startMosquitto(t)
		pub := publisher(t, b)
		ctx := adapterCtx(t)
		devs := openExample(t, "testdata/mqtt/evcc.toml", b.url())
		m := devs[0].(*MQTT)
		if m.cfg.MaxAge.D() != 90*time.Second {
			t.Errorf("max_age %v", m.cfg.MaxAge)
		}
		if got, want := m.Capabilities(), CapGrid|CapPV|CapBattery|CapCharger|CapDispatch; got != want {
			t.Errorf("capabilities %s, want %s", got, want)
		}
		publish(t, pub, "evcc/site/batteryPower", "2200", false)
		eventually(t, "battery power", -2200, func() (int64, error) { return m.BatteryPowerW(ctx) })
	})
	t.Run("homeassistant", func(t *testing.T) {
		b := startMosquitto(t)
		pub := publisher(t, b)
		ctx := adapterCtx(t)
		m := openExample(t, "testdata/mqtt/homeassistant.toml", b.url())[0].(*MQTT)
		if got, want := m.Capabilities(), CapGrid|CapGridEnergy|CapPV|CapPVEnergy|CapDispatch; got != want {
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
		if _, err := Open(context.Background(), tables[0].kind, tables[0].decode); err == nil {
			t.Error("a misspelt key was accepted")
		}
	})
	if !slices.Equal(Kinds(), slices.Sorted(slices.Values(Kinds()))) || !slices.Contains(Kinds(), "mqtt") {
		t.Errorf("kinds %v", Kinds())
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.D() != 90*time.Second {
		t.Errorf("1m30s: %v %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("marshal %s", b)
	}
	for _, bad := range []string{"", "5", "-1s", "soon"} {
		if err := d.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCapabilityString(t *testing.T) {
	for c, want := range map[Capability]string{0: "none", CapGrid: "grid", CapGrid | CapPV | CapDispatch: "grid+pv+dispatch", capEnd: "0x80", CapPV | capEnd: "pv+0x80"} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q, want %q", c, got, want)
		}
	}
}
