package meter

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

func testKey(t testing.TB, seed byte) *wallet.PrivateKey {
	t.Helper()
	var s [32]byte
	s[0] = seed
	k, err := wallet.GenerateKeyFrom(rand.NewChaCha8(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sampleReading(k *wallet.PrivateKey) *Reading {
	return &Reading{
		Site: k.Address(), Interval: 96 * 3, Counter: 7, PrevHash: [32]byte{0xaa},
		GridImportWh: 120, GridExportWh: 0, PVWh: 800, BatteryChargeWh: 500,
		BatteryDischargeWh: 0, EVWh: 0, BatterySoCPpm: 640_000,
	}
}

func TestReadingRoundTripAndSignature(t *testing.T) {
	k := testKey(t, 1)
	r := sampleReading(k)
	if err := r.Sign(k, "gridmint-devnet"); err != nil {
		t.Fatal(err)
	}
	b := r.Encode()
	if len(b) != ReadingSize {
		t.Fatalf("encoded size %d, want %d", len(b), ReadingSize)
	}
	got, err := DecodeReading(b)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *r || !bytes.Equal(got.Encode(), b) || got.Hash() != r.Hash() {
		t.Fatal("round trip changed the reading")
	}
	if err := got.Verify(k.Public(), "gridmint-devnet"); err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(k.Public(), "gridmint-other"); !errors.Is(err, wallet.ErrWrongSigner) {
		t.Fatalf("other chain: %v", err)
	}
	other := testKey(t, 2)
	if err := got.Verify(other.Public(), "gridmint-devnet"); err == nil {
		t.Fatal("verified under another site's key")
	}
	if err := r.Sign(other, "gridmint-devnet"); err == nil {
		t.Fatal("signed a reading for another site")
	}
	got.PVWh++
	if err := got.Verify(k.Public(), "gridmint-devnet"); err == nil {
		t.Fatal("changed reading still verifies")
	}
	// The house used 120 + 800 - 500 = 420 Wh; net import is 120 Wh.
	if r.HouseLoadWh() != 420 || r.NetImportWh() != 120 {
		t.Fatalf("house %d net %d", r.HouseLoadWh(), r.NetImportWh())
	}
}

func TestReadingRejects(t *testing.T) {
	k := testKey(t, 3)
	r := sampleReading(k)
	r.Sign(k, "gridmint-devnet")
	good := r.Encode()
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"trailing", append(append([]byte(nil), good...), 0), codec.ErrTrailing},
		{"short", good[:len(good)-1], codec.ErrShort},
		{"version", append([]byte{2}, good[1:]...), codec.ErrBadVersion},
	}
	soc := *r
	soc.BatterySoCPpm = MaxSoCPpm + 1
	cases = append(cases, struct {
		name string
		b    []byte
		err  error
	}{"soc", soc.Encode(), ErrBadSoC})
	zero := *r
	zero.Counter = 0
	cases = append(cases, struct {
		name string
		b    []byte
		err  error
	}{"counter 0", zero.Encode(), codec.ErrOutOfRange})
	for _, c := range cases {
		if _, err := DecodeReading(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
}

func FuzzDecodeReading(f *testing.F) {
	k := testKey(f, 4)
	r := sampleReading(k)
	r.Sign(k, "gridmint-devnet")
	f.Add(r.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReading(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Encode(), b) {
			t.Fatalf("non-canonical reading accepted: %x", b)
		}
	})
}

func BenchmarkReadingVerify(b *testing.B) {
	k := testKey(b, 5)
	r := sampleReading(k)
	r.Sign(k, "gridmint-devnet")
	pub := k.Public()
	enc := r.Encode()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rr, err := DecodeReading(enc)
		if err != nil {
			b.Fatal(err)
		}
		if err := rr.Verify(pub, "gridmint-devnet"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadingSign(b *testing.B) {
	k := testKey(b, 6)
	r := sampleReading(k)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Interval = uint64(i)
		if err := r.Sign(k, "gridmint-devnet"); err != nil {
			b.Fatal(err)
		}
	}
}
