package meter

import (
	"errors"
	"testing"
)

// TestCheckPlausible has one case per rule. The site is in Golden,
// Colorado; noon is 2026-06-21 18:00 UTC, midnight 2026-06-22 06:00 UTC.
func TestCheckPlausible(t *testing.T) {
	const (
		noon     = int64(1782064800)
		midnight = int64(1782108000)
	)
	caps := Capabilities{PVW: 4000, BatteryW: 5000, BatteryWh: 1000, ChargerW: 11000,
		LatE6: 39_742_476, LonE6: -105_178_600}
	cases := []struct {
		name  string
		r     Reading
		start int64
		caps  Capabilities
		want  error
	}{
		{"typical sunny interval", Reading{PVWh: 900, GridExportWh: 400, BatteryChargeWh: 200}, noon, caps, nil},
		{"PV at exactly nameplate × 15 min", Reading{PVWh: 1000, GridExportWh: 1000}, noon, caps, nil},
		{"PV above nameplate", Reading{PVWh: 1001, GridExportWh: 1001}, noon, caps, ErrPVAboveNameplate},
		{"PV at night", Reading{PVWh: 5, GridExportWh: 5}, midnight, caps, ErrPVAtNight},
		{"no PV at night", Reading{GridImportWh: 300}, midnight, caps, nil},
		{"PV without a PV device", Reading{PVWh: 5}, noon, Capabilities{}, ErrPVNoDevice},
		{"battery charge at power limit", Reading{BatteryChargeWh: 1000, GridImportWh: 1000}, noon, caps, nil},
		{"battery discharge above power", Reading{BatteryDischargeWh: 1251}, noon, Capabilities{BatteryW: 5000, BatteryWh: 10000}, ErrBatteryPower},
		{"battery discharge above capacity", Reading{BatteryDischargeWh: 1001}, noon, caps, ErrBatteryCapacity},
		{"state of charge without a battery", Reading{BatterySoCPpm: 1}, noon, Capabilities{PVW: 1}, ErrBatteryNoDevice},
		{"EV above charger power", Reading{EVWh: 2751, GridImportWh: 2751}, noon, caps, ErrEVPower},
		{"EV without a charger", Reading{EVWh: 1, GridImportWh: 1}, noon, Capabilities{PVW: 1}, ErrEVNoCharger},
		{"house load negative", Reading{GridExportWh: 100}, noon, caps, ErrNegativeHouseLoad},
		{"house load exactly zero", Reading{PVWh: 100, GridExportWh: 100}, noon, caps, nil},
	}
	for _, c := range cases {
		err := CheckPlausible(&c.r, c.caps, c.start, 900)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func BenchmarkCheckPlausible(b *testing.B) {
	caps := Capabilities{PVW: 4000, BatteryW: 5000, BatteryWh: 13500, ChargerW: 11000, LatE6: 39_742_476, LonE6: -105_178_600}
	r := Reading{PVWh: 900, GridExportWh: 400, BatteryChargeWh: 200}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := CheckPlausible(&r, caps, 1782064800, 900); err != nil {
			b.Fatal(err)
		}
	}
}
