package solar

import "testing"

var (
	sinkPos  SunPosition
	sinkBool bool
	sinkI    int64
	sinkST   SunTimes
)

// benchTimes are instants spread over a day and a year, so that the
// benchmarks do not time a single branch.
func benchTime(i int) int64 { return 1_766_304_000 + int64(i%4096)*7919 }

func BenchmarkPosition(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p, err := Position(benchTime(i), 39_730_000, -105_180_000)
		if err != nil {
			b.Fatal(err)
		}
		sinkPos = p
	}
}

// BenchmarkSunBelowHorizonThroughout15min is the ledger's case: one
// 15-minute reading interval.
func BenchmarkSunBelowHorizonThroughout15min(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := benchTime(i)
		sinkBool = SunBelowHorizonThroughout(t, t+900, 39_730_000, -105_180_000)
	}
}

func BenchmarkSunBelowHorizonThroughout1h(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := benchTime(i)
		sinkBool = SunBelowHorizonThroughout(t, t+3600, 39_730_000, -105_180_000)
	}
}

func BenchmarkSunriseSunset(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		st, err := SunriseSunset(benchTime(i*97), 39_730_000, -105_180_000)
		if err != nil {
			b.Fatal(err)
		}
		sinkST = st
	}
}

func BenchmarkClearSkyGHI(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		v, err := ClearSkyGHIWm2(benchTime(i), 39_730_000, -105_180_000)
		if err != nil {
			b.Fatal(err)
		}
		sinkI = v
	}
}

func BenchmarkSinCos(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, c := sincos(int64(i) * 123_456_789)
		sinkI = s + c
	}
}

func BenchmarkAtan2(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkI = atan2(int64(i)*7919-1<<20, 1<<30-int64(i)*104729)
	}
}
