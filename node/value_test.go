package node

import (
	"bytes"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/ledger"
)

// realValue returns the decided value of height 2 of a small devnet: a
// block with its parent's real certificate.
func realValue(t testing.TB) []byte {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 0, Seed: 21, Blocks: 2, Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Run(); err != nil {
		t.Fatal(err)
	}
	v, ok, err := d.Node(0).Ledger().Aux(valueKey(2))
	if err != nil || !ok {
		t.Fatalf("value of height 2: %v", err)
	}
	return v
}

func TestBlockValueRoundTrip(t *testing.T) {
	real, err := DecodeBlockValue(realValue(t))
	if err != nil || real.LastCommit == nil {
		t.Fatalf("decided value: %v", err)
	}
	for _, v := range []*BlockValue{
		{Block: ledger.Block{Header: ledger.Header{ChainID: "gridmint-devnet", Height: 1, TimeMs: 5}}},
		real,
	} {
		b := codec.Encode(v)
		got, err := DecodeBlockValue(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(codec.Encode(got), b) {
			t.Fatal("round trip changed the value")
		}
	}
	if _, err := DecodeBlockValue([]byte{1, 2}); err == nil {
		t.Fatal("garbage decoded")
	}
}

// FuzzDecodeBlockValue: a decided value from a peer decodes only from its
// canonical encoding, and never panics.
func FuzzDecodeBlockValue(f *testing.F) {
	f.Add(codec.Encode(&BlockValue{Block: ledger.Block{Header: ledger.Header{ChainID: "gridmint-devnet", Height: 1}}}))
	f.Add(realValue(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeBlockValue(b)
		if err != nil {
			return
		}
		if !bytes.Equal(codec.Encode(v), b) {
			t.Fatalf("non-canonical value accepted: %x", b)
		}
	})
}
