package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seeded returns a deterministic randomness source for keys in tests.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

func mustKey(t testing.TB, hexKey string) *PrivateKey {
	t.Helper()
	k, err := PrivateKeyFromHex(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKnownAddresses(t *testing.T) {
	cases := []struct{ key, addr string }{
		// Private key 1: the generator point's address, widely published.
		{"0000000000000000000000000000000000000000000000000000000000000001", "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"},
		// web3.js documentation, eth.accounts.privateKeyToAccount.
		{"4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},
		// Web3 Secret Storage Definition test key.
		{"7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d", "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b"},
	}
	for _, c := range cases {
		if got := mustKey(t, c.key).Address().Hex(); got != c.addr {
			t.Errorf("key %s: address %s, want %s", c.key, got, c.addr)
		}
	}
}

func TestBadPrivateKeys(t *testing.T) {
	for _, h := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		// n, the group order: out of range, must not be reduced to 0.
		"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"01", "zz",
	} {
		if _, err := PrivateKeyFromHex(h); !errors.Is(err, ErrBadPrivateKey) {
			t.Errorf("%s: err %v, want ErrBadPrivateKey", h, err)
		}
	}
}

// TestEIP55 uses the examples of EIP-55 itself.
func TestEIP55(t *testing.T) {
	for _, s := range []string{
		"0x52908400098527886E0F7030069857D2E4169EE7",
		"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
		"0xde709f2102306220921060314715629080e2fb77",
		"0x27b1fdb04752bbc536007a920d24acb045561c26",
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	} {
		a, err := ParseAddress(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		// All-upper and all-lower examples show checksummed; mixed ones
		// round-trip exactly.
		if strings.ToLower(s) != s && strings.ToUpper(s[2:]) != s[2:] && a.Hex() != s {
			t.Errorf("%s: Hex() = %s", s, a.Hex())
		}
		if !strings.EqualFold(a.Hex(), s) {
			t.Errorf("%s: Hex() = %s", s, a.Hex())
		}
	}
	if _, err := ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"); !errors.Is(err, ErrBadChecksum) {
		t.Errorf("one flipped case: err %v, want ErrBadChecksum", err)
	}
	for _, s := range []string{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", "0xgg" + strings.Repeat("0", 38), ""} {
		if _, err := ParseAddress(s); !errors.Is(err, ErrBadAddress) {
			t.Errorf("%q: err %v, want ErrBadAddress", s, err)
		}
	}
}

func TestTypedSignatures(t *testing.T) {
	k, _ := GenerateKeyFrom(seeded(1))
	body := []byte("reading: site 7, interval 42, 1234 Wh")
	sig, err := k.SignTyped("gridmint/reading/v1", "gridmint-devnet", body)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := RecoverTyped("gridmint/reading/v1", "gridmint-devnet", body, sig)
	if err != nil || pub.Address() != k.Address() {
		t.Fatalf("recover: %v %v", pub, err)
	}
	if err := VerifyTyped(k.Public(), "gridmint/reading/v1", "gridmint-devnet", body, sig); err != nil {
		t.Fatal(err)
	}
	// Domain separation: another tag, another chain or another body never
	// yields the signer.
	for name, f := range map[string]func() (*PublicKey, error){
		"other tag":   func() (*PublicKey, error) { return RecoverTyped("gridmint/tx/v1", "gridmint-devnet", body, sig) },
		"other chain": func() (*PublicKey, error) { return RecoverTyped("gridmint/reading/v1", "gridmint-main", body, sig) },
		"other body": func() (*PublicKey, error) {
			return RecoverTyped("gridmint/reading/v1", "gridmint-devnet", body[1:], sig)
		},
	} {
		p, err := f()
		if err == nil && p.Address() == k.Address() {
			t.Errorf("%s: signature still recovers the signer", name)
		}
	}
	if err := VerifyTyped(k.Public(), "gridmint/tx/v1", "gridmint-devnet", body, sig); !errors.Is(err, ErrWrongSigner) {
		t.Errorf("verify under another tag: %v", err)
	}
	if _, err := k.SignTyped("gridmint/reading/v1", "Bad Chain", body); !errors.Is(err, ErrBadChainID) {
		t.Errorf("bad chain id: %v", err)
	}
	if _, err := k.SignTyped("", "gridmint-devnet", body); !errors.Is(err, ErrBadTag) {
		t.Errorf("empty tag: %v", err)
	}
}

func TestSignatureMalleability(t *testing.T) {
	k, _ := GenerateKeyFrom(seeded(2))
	h := [32]byte{1, 2, 3}
	sig := k.SignHash(h)
	// High-S twin: s' = n - s, v' = 1 - v. It is a valid ECDSA signature,
	// and we must refuse it so that each signature has one encoding.
	n, _ := hex.DecodeString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	twin := sig
	var borrow int
	for i := 31; i >= 0; i-- {
		d := int(n[i]) - int(sig[32+i]) - borrow
		borrow = 0
		if d < 0 {
			d += 256
			borrow = 1
		}
		twin[32+i] = byte(d)
	}
	twin[64] = 1 - sig[64]
	if _, err := RecoverHash(h, twin); !errors.Is(err, ErrHighS) {
		t.Fatalf("high-S twin: err %v, want ErrHighS", err)
	}
	bad := sig
	bad[64] = 2
	if _, err := RecoverHash(h, bad); !errors.Is(err, ErrBadV) {
		t.Fatalf("v=2: %v", err)
	}
	// Every single-byte change breaks the signature for this signer.
	for i := 0; i < 64; i++ {
		m := sig
		m[i] ^= 0x01
		if p, err := RecoverHash(h, m); err == nil && p.Address() == k.Address() {
			t.Fatalf("byte %d flipped: still recovers the signer", i)
		}
	}
}

// TestPersonalSign: RFC 6979 signing is deterministic, so the signature of a
// fixed key and message is fixed and can be compared with a published one.
func TestPersonalSign(t *testing.T) {
	k := mustKey(t, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	msg := []byte("Some data")
	// web3.js documents this hash for "Some data" (eth.accounts.hashMessage).
	if got := hex.EncodeToString(func() []byte { h := PersonalHash(msg); return h[:] }()); got != "1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655" {
		t.Fatalf("personal hash %s", got)
	}
	sig := k.SignPersonal(msg)
	// web3.js documents this signature for the same key and message.
	const want = "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c"
	if sig.Hex() != want {
		t.Fatalf("signature\n got %s\nwant %s", sig.Hex(), want)
	}
	a, err := RecoverPersonal(msg, sig)
	if err != nil || a != k.Address() {
		t.Fatalf("recover: %s %v", a, err)
	}
	sig01 := sig
	sig01[64] -= 27
	if a, err := RecoverPersonal(msg, sig01); err != nil || a != k.Address() {
		t.Fatalf("recover with v in {0,1}: %s %v", a, err)
	}
}

func loadVectors(t testing.TB) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("testdata/web3_secret_storage_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestKeystoreVectors(t *testing.T) {
	v := loadVectors(t)
	for _, name := range []string{"pbkdf2", "scrypt"} {
		k, err := DecryptKey(v[name], []byte("testpassword"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := hex.EncodeToString(k.Bytes()); got != "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d" {
			t.Fatalf("%s: key %s", name, got)
		}
		if _, err := DecryptKey(v[name], []byte("wrongpassword")); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("%s, wrong password: %v", name, err)
		}
	}
}

func TestKeystoreRoundTripAndTamper(t *testing.T) {
	k, _ := GenerateKeyFrom(seeded(3))
	data, err := EncryptKey(k, []byte("pw"), LightScrypt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecryptKey(data, []byte("pw"))
	if err != nil || got.Address() != k.Address() {
		t.Fatalf("round trip: %v", err)
	}
	mutate := func(f func(c map[string]any, ks map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(data, &m)
		f(m["crypto"].(map[string]any), m)
		b, _ := json.Marshal(m)
		return b
	}
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == '0' {
			b[0] = '1'
		} else {
			b[0] = '0'
		}
		return string(b)
	}
	cases := []struct {
		name string
		data []byte
		err  error
	}{
		{"ciphertext flipped", mutate(func(c, _ map[string]any) { c["ciphertext"] = flip(c["ciphertext"].(string)) }), ErrDecrypt},
		{"mac flipped", mutate(func(c, _ map[string]any) { c["mac"] = flip(c["mac"].(string)) }), ErrDecrypt},
		{"salt flipped", mutate(func(c, _ map[string]any) {
			p := c["kdfparams"].(map[string]any)
			p["salt"] = flip(p["salt"].(string))
		}), ErrDecrypt},
		{"unknown kdf", mutate(func(c, _ map[string]any) { c["kdf"] = "argon2id" }), ErrUnknownKDF},
		{"unknown cipher", mutate(func(c, _ map[string]any) { c["cipher"] = "aes-256-gcm" }), ErrUnknownCipher},
		{"huge scrypt n", mutate(func(c, _ map[string]any) { c["kdfparams"].(map[string]any)["n"] = 1 << 30 }), ErrKDFParams},
		{"n not a power of two", mutate(func(c, _ map[string]any) { c["kdfparams"].(map[string]any)["n"] = 3000 }), ErrKDFParams},
		{"version 2", mutate(func(_, m map[string]any) { m["version"] = 2 }), ErrBadKeystore},
		{"other address", mutate(func(_, m map[string]any) { m["address"] = "7e5f4552091a69125d5dfcb7b8c2659029395bdf" }), ErrAddressMismatch},
		{"short iv", mutate(func(c, _ map[string]any) { c["cipherparams"] = map[string]any{"iv": "00"} }), ErrBadKeystore},
		{"not json", []byte("{\"version\":3"), ErrBadKeystore},
		{"trailing", append(append([]byte(nil), data...), []byte(" {}")...), ErrBadKeystore},
	}
	for _, tc := range cases {
		if _, err := DecryptKey(tc.data, []byte("pw")); !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestDirStoreListImport(t *testing.T) {
	dir := Dir{Path: filepath.Join(t.TempDir(), "keystore")}
	now := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	k1, _ := GenerateKeyFrom(seeded(4))
	e1, err := dir.Store(k1, []byte("a"), LightScrypt, now)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(e1.Path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keystore file mode %v, %v", st.Mode(), err)
	}
	if _, err := dir.Store(k1, []byte("b"), LightScrypt, now.Add(time.Second)); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second file for one address: %v", err)
	}
	// Import of another tool's file (here the scrypt vector) re-encrypts it.
	v := loadVectors(t)
	e2, err := dir.Import(v["scrypt"], []byte("testpassword"), LightScrypt, now)
	if err != nil {
		t.Fatal(err)
	}
	if e2.Address.Hex() != "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b" {
		t.Fatalf("imported %s", e2.Address)
	}
	if _, err := dir.Import(v["scrypt"], []byte("nope"), LightScrypt, now); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("import with wrong password: %v", err)
	}
	os.WriteFile(filepath.Join(dir.Path, "README"), []byte("not a key"), 0o600)
	list, err := dir.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	found, err := dir.Find(k1.Address())
	if err != nil || found.Path != e1.Path {
		t.Fatalf("find: %v %v", found, err)
	}
	data, _ := os.ReadFile(found.Path)
	if k, err := DecryptKey(data, []byte("a")); err != nil || k.Address() != k1.Address() {
		t.Fatalf("reopen: %v", err)
	}
	if _, err := dir.Find(Address{1}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("find missing: %v", err)
	}
}

func TestWriteFileAtomicRefusesOverwrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := WriteFileAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two"), 0o600); err == nil {
		t.Fatal("overwrote an existing file")
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, []byte("one")) {
		t.Fatalf("file changed to %q", b)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}

func FuzzDecryptKey(f *testing.F) {
	k, _ := GenerateKeyFrom(seeded(5))
	data, _ := EncryptKey(k, []byte("pw"), ScryptParams{N: 2, R: 1, P: 1})
	f.Add(data, []byte("pw"))
	f.Add([]byte(`{"version":3,"crypto":{"kdf":"pbkdf2"}}`), []byte(""))
	f.Fuzz(func(t *testing.T, data, pw []byte) {
		k, err := DecryptKey(data, pw)
		if err == nil && k == nil {
			t.Fatal("nil key without error")
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	f.Add("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	f.Add("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		b, err := ParseAddress(a.Hex())
		if err != nil || a != b {
			t.Fatalf("%q: Hex() does not parse back: %v", s, err)
		}
	})
}

func FuzzRecoverHash(f *testing.F) {
	k, _ := GenerateKeyFrom(seeded(6))
	h := [32]byte{9}
	s := k.SignHash(h)
	f.Add(h[:], s[:])
	f.Fuzz(func(t *testing.T, hash, sigb []byte) {
		if len(hash) != 32 || len(sigb) != 65 {
			return
		}
		var hh [32]byte
		var sig Signature
		copy(hh[:], hash)
		copy(sig[:], sigb)
		pub, err := RecoverHash(hh, sig)
		if err != nil {
			return
		}
		if err := VerifyHash(pub, hh, sig); err != nil {
			t.Fatalf("recovered key does not verify: %v", err)
		}
	})
}
