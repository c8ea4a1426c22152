package solar

import (
	"math"
	"testing"
	"time"
)

func TestExpNeg(t *testing.T) {
	var maxErr float64
	for x := int64(0); x < 32*one; x += one / 4096 {
		got := float64(expNegQ30(x)) / q30
		want := math.Exp(-float64(x) / q30)
		e := math.Abs(got - want)
		maxErr = math.Max(maxErr, e)
		if e > 3e-9 {
			t.Fatalf("expNeg(%v) = %v, want %v", float64(x)/q30, got, want)
		}
	}
	if expNegQ30(-5) != one || expNegQ30(1<<62) != 0 {
		t.Error("expNeg end points")
	}
	t.Logf("expNeg max abs error %.2g", maxErr)
}

// TestClearSkyAgainstFloat compares the clear-sky helpers with float
// formulas on the reference position, every 17 min through 2026 at Golden.
func TestClearSkyAgainstFloat(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	const lat, lon = 39_730_000, -105_180_000
	var maxCz, maxEt, maxGhi float64
	var peakGhi int64
	for ts := start; ts < start+365*86400; ts += 17 * 60 {
		cz, err1 := CosZenithPPM(ts, lat, lon)
		et, err2 := ExtraterrestrialHorizontalWm2(ts, lat, lon)
		ghi, err3 := ClearSkyGHIWm2(ts, lat, lon)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		r := refPosition(ts, 39.73, -105.18, 0, 10)
		c := math.Max(0, math.Sin(r.trueElev*math.Pi/180))
		wantEt := 1361 * c / (r.dist * r.dist)
		wantGhi := 0.0
		if c > 0 {
			wantGhi = 1098 * c * math.Exp(-0.057/c)
		}
		maxCz = math.Max(maxCz, math.Abs(float64(cz)-c*1e6))
		maxEt = math.Max(maxEt, math.Abs(float64(et)-wantEt))
		maxGhi = math.Max(maxGhi, math.Abs(float64(ghi)-wantGhi))
		peakGhi = max(peakGhi, ghi)
		if math.Abs(float64(cz)-c*1e6) > 1 || math.Abs(float64(et)-wantEt) > 0.51 || math.Abs(float64(ghi)-wantGhi) > 0.51 {
			t.Fatalf("%d: cz %d (%.1f) et %d (%.2f) ghi %d (%.2f)", ts, cz, c*1e6, et, wantEt, ghi, wantGhi)
		}
	}
	t.Logf("max error: cos z %.2g ppm, extraterrestrial %.2g W/m², Haurwitz GHI %.2g W/m²; peak clear-sky GHI %d W/m²", maxCz, maxEt, maxGhi, peakGhi)
}
