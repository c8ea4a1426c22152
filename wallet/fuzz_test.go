package wallet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestListReportsCorruptFiles: a keystore file that cannot be read is named
// in List's error, beside the good entries, never silently skipped; a
// README, a hidden temporary file and an editor's backup are still skipped.
func TestListReportsCorruptFiles(t *testing.T) {
	dir := Dir{Path: filepath.Join(t.TempDir(), "keystore")}
	now := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	k, _ := GenerateKeyFrom(seeded(7))
	good, err := dir.Store(k, []byte("a"), ScryptParams{N: 2, R: 1, P: 1}, now)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good.Path)
	truncated := filepath.Join(dir.Path, "UTC--2026-11-23T08-00-00.000000000Z--1111111111111111111111111111111111111111")
	empty := filepath.Join(dir.Path, "backup.json")
	badAddr := filepath.Join(dir.Path, "key-copy")
	for p, b := range map[string][]byte{
		truncated:                         data[:len(data)/2],
		empty:                             nil,
		badAddr:                           bytes.Replace(data, []byte(`"address": "`), []byte(`"address": "zz`), 1),
		filepath.Join(dir.Path, "README"): []byte("keys live here\n"),
		filepath.Join(dir.Path, ".tmp-UTC--x-123"):               data[:10],
		filepath.Join(dir.Path, good.Path[len(dir.Path)+1:]+"~"): data[:10],
	} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	list, err := dir.List()
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrBadKeystore) {
		t.Fatalf("List: %v, want a *CorruptError", err)
	}
	if len(list) != 1 || list[0] != good {
		t.Fatalf("good entries %v, want only %v", list, good)
	}
	var named []string
	for _, f := range ce.Files {
		named = append(named, f.Path)
		if f.Err == nil {
			t.Errorf("%s: no reason", f.Path)
		}
	}
	want := []string{truncated, empty, badAddr} // directory order: sorted by name ("U" < "b" < "k")
	if strings.Join(named, "\n") != strings.Join(want, "\n") {
		t.Fatalf("corrupt files\n%s\nwant\n%s", strings.Join(named, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range want {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error does not name %s: %v", p, err)
		}
	}
	// Find still finds the good key, and a missing one says the key may be
	// in a damaged file.
	if e, err := dir.Find(k.Address()); err != nil || e != good {
		t.Fatalf("Find(good): %v %v", e, err)
	}
	_, err = dir.Find(Address{1})
	if !errors.Is(err, ErrNoKey) || !errors.As(err, &ce) || !strings.Contains(err.Error(), truncated) {
		t.Fatalf("Find(missing): %v", err)
	}
	// Storing a new key still works (the damaged files are left alone).
	k2, _ := GenerateKeyFrom(seeded(8))
	if _, err := dir.Store(k2, []byte("b"), ScryptParams{N: 2, R: 1, P: 1}, now); err != nil {
		t.Fatalf("Store beside corrupt files: %v", err)
	}
	if b, _ := os.ReadFile(truncated); !bytes.Equal(b, data[:len(data)/2]) {
		t.Fatal("a damaged file was changed")
	}
}

// FuzzListKeystore writes the fuzzer's files into a keystore directory and
// lists it: no panic, every entry is a file that reads back as a keystore of
// that address, every corrupt file is one that does not, and every other
// file is either skipped on purpose or listed.
func FuzzListKeystore(f *testing.F) {
	k, _ := GenerateKeyFrom(seeded(9))
	ks, _ := EncryptKey(k, []byte("pw"), ScryptParams{N: 2, R: 1, P: 1})
	v := loadVectors(f)
	f.Add("UTC--2026-11-23T07-00-00.000000000Z--a", ks, "README", []byte("not a key"))
	f.Add("a.json", []byte(v["scrypt"]), "b.json", []byte(v["pbkdf2"]))
	f.Add("UTC--x", ks[:len(ks)/2], ".tmp-x", ks)
	f.Add("k~", ks, "k2", []byte(" {"))
	f.Fuzz(func(t *testing.T, n1 string, d1 []byte, n2 string, d2 []byte) {
		dir := t.TempDir()
		names := map[string][]byte{}
		for _, nf := range []struct {
			n string
			d []byte
		}{{n1, d1}, {n2, d2}} {
			if nf.n == "" || nf.n == "." || nf.n == ".." || len(nf.n) > 100 || strings.ContainsAny(nf.n, "/\\\x00") {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, nf.n), nf.d, 0o600); err != nil {
				continue
			}
			names[nf.n] = nf.d
		}
		list, err := Dir{Path: dir}.List()
		var ce *CorruptError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("List: %v", err)
		}
		seen := map[string]bool{}
		for _, e := range list {
			name := filepath.Base(e.Path)
			seen[name] = true
			info, err := ReadKeystoreInfo(names[name])
			if err != nil || info.Address != e.Address {
				t.Fatalf("listed %s as %s, but it reads as %v, %v", name, e.Address, info.Address, err)
			}
		}
		if ce != nil {
			if len(ce.Files) == 0 {
				t.Fatal("CorruptError with no files")
			}
			for _, c := range ce.Files {
				name := filepath.Base(c.Path)
				if seen[name] {
					t.Fatalf("%s both listed and corrupt", name)
				}
				seen[name] = true
				if _, err := ReadKeystoreInfo(names[name]); err == nil {
					t.Fatalf("%s reported corrupt but reads", name)
				}
			}
		}
		for name, d := range names {
			if seen[name] {
				continue
			}
			skipped := strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~")
			if _, err := ReadKeystoreInfo(d); err == nil && !skipped {
				t.Fatalf("%s is a keystore but was not listed", name)
			}
			if !skipped && looksLikeKeystore(name, d) {
				t.Fatalf("%s looks like a damaged keystore but was not reported", name)
			}
		}
	})
}

// FuzzParseSignature: the hex form of a signature parses back to the same
// 65 bytes; any accepted string is those bytes in hex (case aside, 0x
// optional), and Hex() of what it parsed parses back to it.
func FuzzParseSignature(f *testing.F) {
	k := mustKey(f, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	f.Add(k.SignPersonal([]byte("Some data")).Hex())
	f.Add("0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c")
	f.Add(strings.Repeat("0", 130))
	f.Add("0X" + strings.Repeat("F", 130))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignature(s)
		if err != nil {
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("%q: error %v does not wrap ErrBadSignature", s, err)
			}
			return
		}
		h := s
		if len(h) >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
			h = h[2:]
		}
		if !strings.EqualFold(h, hex.EncodeToString(sig[:])) {
			t.Fatalf("%q parsed to %s", s, sig.Hex())
		}
		back, err := ParseSignature(sig.Hex())
		if err != nil || back != sig {
			t.Fatalf("%s does not parse back: %v", sig.Hex(), err)
		}
	})
}

// FuzzVerifyPersonal is the EIP-191 verify path (`gridmint wallet
// verify-message`): a message and any 65 bytes. No panic; a signature is
// accepted with V in {27, 28} exactly when it is with V in {0, 1}, for the
// same signer; the recovered signer's key verifies the normalised
// signature, and a signature made by a key over the message recovers that
// key's address.
func FuzzVerifyPersonal(f *testing.F) {
	k := mustKey(f, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	good := k.SignPersonal([]byte("Some data"))
	f.Add([]byte("Some data"), good[:], uint8(0))
	f.Add([]byte(""), good[:], uint8(1))
	f.Add([]byte("gridmint"), make([]byte, 65), uint8(2))
	f.Fuzz(func(t *testing.T, msg, sigb []byte, mode uint8) {
		if len(sigb) != SignatureLen {
			return
		}
		var sig Signature
		copy(sig[:], sigb)
		if mode%4 == 3 {
			// Sign for real, with a key drawn from the input, and check
			// that verification finds it.
			var seed [32]byte
			copy(seed[:], sigb)
			seed[0] |= 1
			sk, err := PrivateKeyFromBytes(seed[:])
			if err != nil {
				return
			}
			sig = sk.SignPersonal(msg)
			a, err := RecoverPersonal(msg, sig)
			if err != nil || a != sk.Address() {
				t.Fatalf("own signature recovers %s, %v; want %s", a, err, sk.Address())
			}
			return
		}
		a, err := RecoverPersonal(msg, sig)
		alt := sig
		switch {
		case sig[64] == 0 || sig[64] == 1:
			alt[64] += 27
		case sig[64] == 27 || sig[64] == 28:
			alt[64] -= 27
		default:
			if err == nil {
				t.Fatalf("V=%d accepted", sig[64])
			}
			return
		}
		b, err2 := RecoverPersonal(msg, alt)
		if (err == nil) != (err2 == nil) || a != b {
			t.Fatalf("V forms disagree: %s %v / %s %v", a, err, b, err2)
		}
		if err != nil {
			return
		}
		norm := sig
		if norm[64] >= 27 {
			norm[64] -= 27
		}
		pub, err := RecoverHash(PersonalHash(msg), norm)
		if err != nil || pub.Address() != a {
			t.Fatalf("RecoverHash disagrees: %v", err)
		}
		if err := VerifyHash(pub, PersonalHash(msg), norm); err != nil {
			t.Fatalf("recovered key does not verify: %v", err)
		}
		if err := VerifyHash(pub, PersonalHash(append(msg, 0)), norm); err == nil {
			t.Fatalf("signature of %q also verifies for another message", msg)
		}
	})
}
