package ledger

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter"
)

// roundTrip is the canonical property of every decoder: what decodes,
// encodes back to the same bytes.
func roundTrip[T any, P interface {
	*T
	codec.Encodable
	codec.Decodable
}](t *testing.T, b []byte) {
	var v T
	if err := codec.Decode(b, P(&v)); err != nil {
		return
	}
	if again := codec.Encode(P(&v)); !bytes.Equal(again, b) {
		t.Fatalf("non-canonical input accepted:\n in %x\nout %x", b, again)
	}
}

func sampleTxs() [][]byte {
	k := testKey(1)
	sk := testKey(5001)
	pop, _ := sk.SignTyped(SitePoPTag, testChainID, SitePoPBody(k.Address()))
	r := meter.Reading{Site: sk.Address(), Interval: 3, Counter: 1, PVWh: 10}
	r.Sign(sk, testChainID)
	payloads := []Payload{
		&Transfer{To: testKey(2).Address(), Amount: 5},
		&Bond{Amount: 7, ConsKey: testKey(3).Public().Compressed()},
		&Bond{Amount: 7},
		&Unbond{Amount: 3},
		&RegisterSite{SiteKey: sk.Public().Compressed(), PoP: pop, Zone: "CO-DEN", LatE6: 1, LonE6: -2,
			Devices: []Device{{Kind: DevicePV, NameplateW: 4000}}},
		&UpdateSite{Site: sk.Address(), Zone: "Z", Devices: []Device{{Kind: DeviceBattery, NameplateW: 1, StorageWh: 2}}},
		&Readings{Readings: []meter.Reading{r}},
		&RECTransfer{ID: 1, Wh: 2, To: k.Address()},
		&RECRetire{ID: 1, Wh: 2, Beneficiary: "x"},
		&Evidence{Data: []byte{1, 2, 3}},
		&FlexRequestTx{Terms: flexTerms()},
		&FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 5, BondBaseUnits: 6},
		&FlexCancelTx{RequestID: 1},
		&FlexRequestTx{Terms: ctlTerms()},
		&TransferMemo{To: testKey(2).Address(), Amount: 5, Memo: []byte("invoice 42")},
	}
	var out [][]byte
	for i, p := range payloads {
		tx := &Tx{Nonce: uint64(i), Fee: 1000, Payload: p}
		tx.Sign(k, testChainID)
		out = append(out, tx.Encode())
	}
	return out
}

func FuzzDecodeTx(f *testing.F) {
	for _, tx := range sampleTxs() {
		f.Add(tx)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			return
		}
		if !bytes.Equal(tx.Encode(), b) {
			t.Fatalf("non-canonical tx accepted: %x", b)
		}
		_ = tx.VerifySignature(testChainID) // must not panic
	})
}

func FuzzDecodeBlock(f *testing.F) {
	b := &Block{Header: Header{ChainID: testChainID, Height: 3, TimeMs: 5}, Txs: sampleTxs()[:3]}
	f.Add(b.Encode())
	f.Add((&Block{}).Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		blk, err := DecodeBlock(data)
		if err != nil {
			return
		}
		if !bytes.Equal(blk.Encode(), data) {
			t.Fatalf("non-canonical block accepted: %x", data)
		}
	})
}

// FuzzStateRecords fuzzes the decoders of every state record and of block
// results: the first byte picks the type.
func FuzzStateRecords(f *testing.F) {
	p := DefaultParams()
	seeds := []codec.Encodable{
		&Account{Balance: 1, Nonce: 2, Bonded: 3, Unbonding: []Unbonding{{1, 2, 3}}, ConsKey: testKey(1).Public().Compressed()},
		&Site{SiteKey: testKey(2).Public().Compressed(), Zone: "A", Devices: []Device{{Kind: DevicePV, NameplateW: 1}}},
		&REC{ID: 1, Zone: "A", Technology: TechSolarPV, Retired: true, Beneficiary: "b"},
		&p,
		&ValidatorSet{Epoch: 1, Validators: []Validator{{ConsKey: testKey(3).Public().Compressed(), Power: 5}}},
		&addressList{Addrs: nil},
		&chainState{Height: 1},
		&Supply{Genesis: 1},
		&BlockResult{Receipts: []Receipt{{Code: 1, Error: "x", Readings: []ReadingResult{{Interval: 1, Chained: true}}}}, Events: []Event{{Kind: EventEmission}}},
		&meta{Height: 1},
		&FlexRequest{ID: 1, Terms: flexTerms(), Commitments: []FlexCommitment{{CommittedW: 1}}},
		&FlexSettlement{RequestID: 1, Commitments: []FlexCommitmentResult{{SelectedDays: []int64{1}, Intervals: []FlexIntervalResult{{BaselineWh: 1}}}}},
		newDayPage(4),
		&siteEvents{Starts: []uint64{1, 2}},
		&flexDelivered{Entries: []flexDeliveredEntry{{Wh: 1}}},
		&idList{IDs: []uint64{1, 2}},
		&siteCommitments{Open: []siteCommitment{{ID: 1, Start: 2, End: 3}}},
	}
	for i, s := range seeds {
		f.Add(append([]byte{byte(i)}, codec.Encode(s)...))
	}
	// A proof-capped settlement (case 11).
	f.Add(append([]byte{11}, codec.Encode(&FlexSettlement{RequestID: 2, Commitments: []FlexCommitmentResult{{Proven: true,
		ProvenNetWh: -3, GuardIntervals: 1, Intervals: []FlexIntervalResult{{BaselineWh: 1}, {ExportWh: 5, ProvenWh: -3}}}}})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		b := data[1:]
		switch data[0] % 17 {
		case 0:
			roundTrip[Account](t, b)
		case 1:
			roundTrip[Site](t, b)
		case 2:
			roundTrip[REC](t, b)
		case 3:
			roundTrip[Params](t, b)
		case 4:
			roundTrip[ValidatorSet](t, b)
		case 5:
			roundTrip[addressList](t, b)
		case 6:
			roundTrip[chainState](t, b)
		case 7:
			roundTrip[Supply](t, b)
		case 8:
			roundTrip[BlockResult](t, b)
		case 9:
			roundTrip[meta](t, b)
		case 10:
			roundTrip[FlexRequest](t, b)
		case 11:
			roundTrip[FlexSettlement](t, b)
		case 12:
			roundTrip[dayPage](t, b)
		case 13:
			roundTrip[siteEvents](t, b)
		case 14:
			roundTrip[flexDelivered](t, b)
		case 15:
			roundTrip[idList](t, b)
		case 16:
			roundTrip[siteCommitments](t, b)
		}
	})
}

// FuzzControlRecords fuzzes the control-group forms of the stored
// request (FlexRequest v2) and settlement (FlexSettlement v4): the first
// byte picks the type.
func FuzzControlRecords(f *testing.F) {
	ctl := ctlTerms()
	seeds := []codec.Encodable{
		&FlexRequest{ID: 1, Terms: ctl, Commitments: []FlexCommitment{{CommittedW: 1}, {CommittedW: 2}}},
		&FlexRequest{ID: 1, Terms: ctl, Commitments: []FlexCommitment{{CommittedW: 1}, {CommittedW: 2}}, ClosedHeight: 4, SplitHeight: 5,
			Seed: [32]byte{9}, Control: []bool{true, false}},
		&FlexSettlement{RequestID: 1, HasControl: true, ControlPlacebos: 3, ControlUsed: 1, ControlApplied: true, ControlEstimateWh: -800,
			Commitments: []FlexCommitmentResult{{Control: true, Status: 4, Intervals: []FlexIntervalResult{{BaselineWh: 1}}},
				{CorrectionWh: -800, Intervals: []FlexIntervalResult{{ImportWh: 2}}}}},
		&FlexSettlement{RequestID: 2, HasControl: true, ControlPlacebos: 1, Commitments: []FlexCommitmentResult{{Control: true}}},
	}
	for i, s := range seeds {
		f.Add(append([]byte{byte(i >> 1)}, codec.Encode(s)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		if data[0]%2 == 0 {
			roundTrip[FlexRequest](t, data[1:])
		} else {
			roundTrip[FlexSettlement](t, data[1:])
		}
	})
}

// noState is an empty committed state, for building a genesis in memory.
type noState struct{}

func (noState) get([]byte) ([]byte, bool, error) { return nil, false, nil }

// FuzzParseGenesis: any bytes either fail with ErrGenesis or give a genesis
// that validates, builds its first state without error, and round-trips:
// JSON() parses back to the same genesis, and re-encodes to the same bytes.
func FuzzParseGenesis(f *testing.F) {
	if b, err := os.ReadFile("testdata/genesis.example.json"); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}
	j, _ := testGenesis(nil).JSON()
	f.Add(j)
	f.Add([]byte(`{"chain_id":"x","unknown":1}`))
	f.Add([]byte(`{"chain_id":"gridmint-devnet","params":{"interval_seconds":0}} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseGenesis(data)
		if err != nil {
			if !errors.Is(err, ErrGenesis) {
				t.Fatalf("error %v does not wrap ErrGenesis", err)
			}
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("parsed genesis does not validate: %v", err)
		}
		if err := g.genesisState(newView(noState{})); err != nil {
			t.Fatalf("a valid genesis fails to build its state: %v", err)
		}
		j, err := g.JSON()
		if err != nil {
			t.Fatalf("JSON: %v", err)
		}
		g2, err := ParseGenesis(j)
		if err != nil {
			t.Fatalf("JSON of a parsed genesis does not parse: %v\n%s", err, j)
		}
		if !reflect.DeepEqual(g, g2) {
			t.Fatalf("round trip changed the genesis:\n%+v\n%+v", g, g2)
		}
		if j2, _ := g2.JSON(); !bytes.Equal(j, j2) {
			t.Fatalf("JSON not stable:\n%s\n%s", j, j2)
		}
	})
}

// FuzzSeasonRecords fuzzes the season-netting records: the settlement
// with season fields (FlexSettlement v5), a site's season statement
// (FlexSeason), its outstanding debt (siteDebt) and the params with zone
// calendars (Params v2). The first byte picks the type.
func FuzzSeasonRecords(f *testing.F) {
	p := DefaultParams()
	p.ZoneCalendars = []ZoneCalendar{{Zone: "NY-J", UTCOffsetSeconds: -18000, Holidays: []int64{20454, 20635}}}
	seeds := []codec.Encodable{
		&FlexSettlement{RequestID: 1, HasSeason: true, Season: 2, WithheldBaseUnits: 5, Commitments: []FlexCommitmentResult{{
			Intervals: []FlexIntervalResult{{BaselineWh: 1}}, SeasonNetWh: -800, DebtBeforeBaseUnits: 3, DebtAddedBaseUnits: 160, WithheldBaseUnits: 5, DebtAfterBaseUnits: 158}}},
		&FlexSettlement{RequestID: 2, HasSeason: true, HasControl: true, ControlPlacebos: 1, Commitments: []FlexCommitmentResult{{Control: true, BondTakenBaseUnits: 1, DebtBeforeBaseUnits: 1}}},
		&FlexSeason{Season: 1, Settlements: 2, NetWh: -3, DebtBaseUnits: 9},
		&siteDebt{Season: 1, DebtBaseUnits: 2},
		&p,
	}
	for i, s := range seeds {
		f.Add(append([]byte{byte([]int{0, 0, 1, 2, 3}[i])}, codec.Encode(s)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		b := data[1:]
		switch data[0] % 4 {
		case 0:
			roundTrip[FlexSettlement](t, b)
		case 1:
			roundTrip[FlexSeason](t, b)
		case 2:
			roundTrip[siteDebt](t, b)
		case 3:
			roundTrip[Params](t, b)
		}
	})
}
