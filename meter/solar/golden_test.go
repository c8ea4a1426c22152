package solar

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"testing"

	"github.com/gridmint/gridmint/internal/golden"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden_sha256.txt")

// TestGolden hashes every integer output of the public API over a grid of
// sites and instants (1900–2200) and compares the hash with the one in
// testdata. It is the cross-architecture determinism check: scripts/
// cross-test runs it under qemu as linux/arm64 and linux/arm, so a pass
// everywhere means bit-identical results. Regenerate with
// `go test -run TestGolden -update-golden` only when a change of the
// numbers is intended (and say so in the commit).
func TestGolden(t *testing.T) {
	h := sha256.New()
	put := func(vs ...int64) {
		var b [8]byte
		for _, v := range vs {
			binary.BigEndian.PutUint64(b[:], uint64(v))
			h.Write(b[:])
		}
	}
	n := 0
	for lat := int64(-88_000_000); lat <= 88_000_000; lat += 22_000_000 {
		for _, lon := range []int64{-180_000_000, -105_178_600, -1, 0, 13_404_954, 151_209_900, 180_000_000} {
			for ts := MinUnix + 86400; ts < MaxUnix-3*86400; ts += 190_000_017 {
				p, err := Position(ts, lat+123, lon)
				if err != nil {
					t.Fatal(err)
				}
				// Internal values at full (nd, Q30) resolution, so that the
				// hash sees any difference before rounding hides it.
				eph := sunEphemeris(ts)
				hz := direction(ts, newSite(lat+123, lon), eph)
				put(eph.decl, eph.sinD, eph.cosD, eph.eot, eph.rQ30, hz.elev, hz.geoElev, hz.azimuth, hz.ha)
				put(p.ZenithE6, p.AzimuthE6, p.ElevationE6, p.TrueElevationE6, p.RefractionE6,
					p.DeclinationE6, p.HourAngleE6, p.EquationOfTimeMs, p.DistanceE9)
				if n%3 == 0 { // the slow one, on a third of the points
					st, err := SunriseSunset(ts, lat, lon)
					if err != nil {
						t.Fatal(err)
					}
					put(int64(st.Kind), st.TransitUnix, st.SunriseUnix, st.SunsetUnix)
				}
				b, err := MaxElevationBound(ts, ts+900, lat, lon)
				if err != nil {
					t.Fatal(err)
				}
				cz, _ := CosZenithPPM(ts, lat, lon)
				et, _ := ExtraterrestrialHorizontalWm2(ts, lat, lon)
				ghi, _ := ClearSkyGHIWm2(ts, lat, lon)
				put(b, cz, et, ghi)
				n++
			}
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	golden.Check(t, "testdata/golden_sha256.txt", got, *updateGolden, fmt.Sprintf("golden hash over %d points", n))
	t.Logf("golden hash over %d points matches", n)
}
