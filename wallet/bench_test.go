package wallet

import "testing"

func benchKeyAndSig(b *testing.B) (*PrivateKey, [32]byte, Signature) {
	k, _ := GenerateKeyFrom(seeded(42))
	h := [32]byte{0x42, 0x13}
	return k, h, k.SignHash(h)
}

func BenchmarkSign(b *testing.B) {
	k, h, _ := benchKeyAndSig(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h[0] = byte(i)
		_ = k.SignHash(h)
	}
}

func BenchmarkVerify(b *testing.B) {
	k, h, sig := benchKeyAndSig(b)
	pub := k.Public()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := VerifyHash(pub, h, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecover(b *testing.B) {
	_, h, sig := benchKeyAndSig(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := RecoverHash(h, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignTyped includes the domain-separated SHA-256 preimage of a
// reading-sized body.
func BenchmarkSignTyped(b *testing.B) {
	k, _, _ := benchKeyAndSig(b)
	body := make([]byte, 109)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		body[0] = byte(i)
		if _, err := k.SignTyped("gridmint/reading/v1", "gridmint-devnet", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddressHex(b *testing.B) {
	k, _, _ := benchKeyAndSig(b)
	a := k.Address()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = a.Hex()
	}
}
