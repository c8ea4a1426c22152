package site

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/gridmint/gridmint/meter"
)

// FuzzJournalValues: the decoders of the journal's values (chain head,
// an unsigned interval's energies, a channel with its integrator) never
// panic, and accept only their canonical encoding.
func FuzzJournalValues(f *testing.F) {
	st := state{counter: 3, prevHash: [32]byte{1, 2}, lastSigned: 7}
	f.Add(uint8(0), st.encodeHead())
	f.Add(uint8(1), (&pend{importWh: 250, pvWh: 1000, dischargeWh: 203, hasSoC: true, socPpm: 654_300}).encode())
	g, err := meter.NewIntegrator(integratorConfig(Config{Genesis: genesis, Interval: 15 * time.Minute,
		MaxGap: 2 * time.Minute, MaxPowerW: 100_000}, meter.ChannelCounter))
	if err != nil {
		f.Fatal(err)
	}
	g.AddCounter(genesis.Add(time.Second), 1000)
	f.Add(uint8(2), encodeChannel(&channel{integ: g, hasSample: true, through: 4, lastMs: genesis.Add(time.Second).UnixMilli()}))
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		switch which % 3 {
		case 0:
			var s state
			if s.decodeHead(b) == nil && !bytes.Equal(s.encodeHead(), b) {
				t.Fatal("non-canonical head accepted")
			}
		case 1:
			if p, err := decodePend(b); err == nil && !bytes.Equal(p.encode(), b) {
				t.Fatal("non-canonical pending interval accepted")
			}
		case 2:
			if ch, err := decodeChannel(b); err == nil && !bytes.Equal(encodeChannel(ch), b) {
				t.Fatal("non-canonical channel accepted")
			}
		}
	})
}

// TestJournalDamage: a damaged value in the journal stops Open with an
// error that names it, and the journal is left as it was.
func TestJournalDamage(t *testing.T) {
	h := newHome(t)
	dir := t.TempDir()
	sk := &sink{}
	a := openAgent(t, h, dir, nil, sk)
	for s := int64(0); s <= 900; s += 10 {
		poll(t, h, s, a)
	}
	a.Close()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(keyHead, []byte{journalVersion, 0}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(testCtx(t), Config{ChainID: chainID, Key: siteKey(t), Genesis: genesis, Interval: 15 * time.Minute,
		Devices: h.devs, Dir: dir, Sink: sk})
	if !errors.Is(err, ErrJournal) {
		t.Fatalf("damaged head: %v", err)
	}
	t.Logf("damaged head: %v", err)
}
