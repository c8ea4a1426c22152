package ledger

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gridmint/gridmint/codec"
)

// TestTransferMemo: a transfer with a memo moves the same money as one
// without, and fails for the same reasons.
func TestTransferMemo(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	alice, bob := testKey(1), testKey(2)
	before, bobBefore := c.account(alice.Address()).Balance, c.account(bob.Address()).Balance
	memo := bytes.Repeat([]byte{0xa5}, MaxMemoBytes)
	c.ok(c.signTx(alice, &TransferMemo{To: bob.Address(), Amount: 7, Memo: memo}))
	if got := c.account(alice.Address()); got.Balance != before-7-c.g.Params.MinFee || got.Nonce != 1 {
		t.Fatalf("alice %+v", got)
	}
	if got := c.account(bob.Address()).Balance; got != bobBefore+7 {
		t.Fatalf("bob %d", got)
	}
	for _, tc := range []struct {
		name string
		p    *TransferMemo
		err  error
	}{
		{"zero", &TransferMemo{To: bob.Address(), Memo: []byte("m")}, ErrZeroAmount},
		{"self", &TransferMemo{To: alice.Address(), Amount: 1, Memo: []byte("m")}, ErrSelfTransfer},
		{"too much", &TransferMemo{To: bob.Address(), Amount: 1 << 62, Memo: []byte("m")}, ErrInsufficientFunds},
	} {
		c.fails(c.signTx(alice, tc.p), tc.err)
	}
}

// TestTransferMemoDecode: one encoding per memo transfer; an empty or
// oversized memo, a non-minimal length and trailing bytes do not decode.
func TestTransferMemoDecode(t *testing.T) {
	k := testKey(1)
	enc := func(memo []byte) []byte {
		tx := &Tx{Nonce: 3, Fee: 1000, Payload: &TransferMemo{To: testKey(2).Address(), Amount: 9, Memo: memo}}
		if err := tx.Sign(k, testChainID); err != nil {
			t.Fatal(err)
		}
		return tx.Encode()
	}
	full := enc(bytes.Repeat([]byte{1}, MaxMemoBytes))
	tx, err := DecodeTx(full)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Payload.Type() != TxTransferMemo || len(tx.Payload.(*TransferMemo).Memo) != MaxMemoBytes {
		t.Fatalf("decoded %+v", tx.Payload)
	}
	if err := tx.VerifySignature(testChainID); err != nil {
		t.Fatal(err)
	}
	if len(full) > 1200 {
		t.Fatalf("a full memo transfer is %d bytes", len(full))
	}
	bad := map[string][]byte{
		"empty memo":     enc(nil),
		"memo too long":  enc(bytes.Repeat([]byte{1}, MaxMemoBytes+1)),
		"trailing bytes": append(append([]byte(nil), full...), 0),
	}
	// A non-minimal varint for the memo's length (5 as 0x85 0x00).
	short := enc([]byte("hello"))
	i := bytes.Index(short, append([]byte{5}, "hello"...))
	nonMin := append(append(append([]byte(nil), short[:i]...), 0x85, 0x00), short[i+1:]...)
	bad["non-minimal length"] = nonMin
	for name, b := range bad {
		if _, err := DecodeTx(b); !errors.Is(err, ErrMalformedTx) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var p TransferMemo
	if err := codec.Decode(append(make([]byte, 28), 0), &p); err == nil {
		t.Error("payload with an empty memo decoded")
	}
}
