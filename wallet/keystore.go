package wallet

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Errors about keystore files.
var (
	ErrDecrypt         = errors.New("wallet: could not decrypt key: wrong password or corrupt keystore (MAC mismatch)")
	ErrUnknownKDF      = errors.New("wallet: unsupported key derivation function")
	ErrUnknownCipher   = errors.New("wallet: unsupported cipher")
	ErrBadKeystore     = errors.New("wallet: malformed keystore file")
	ErrKDFParams       = errors.New("wallet: key derivation parameters out of the accepted range")
	ErrAddressMismatch = errors.New("wallet: keystore address does not match its key")
)

// ScryptParams are the scrypt cost parameters of a keystore.
type ScryptParams struct {
	N, R, P int
}

// StandardScrypt is geth's and MetaMask's default cost: N=2^18, r=8, p=1
// (256 MiB, about a second on a desktop; a few on a Raspberry Pi 4).
var StandardScrypt = ScryptParams{N: 1 << 18, R: 8, P: 1}

// LightScrypt is geth's "light" cost: N=2^12, r=8, p=6 (4 MiB). For tests and
// for keys that also live in a hardware-protected place.
var LightScrypt = ScryptParams{N: 1 << 12, R: 8, P: 6}

// Bounds on what a keystore file may ask of us, so that a hostile or broken
// file cannot make the node allocate gigabytes or spin for hours.
const (
	maxScryptMemory = 1 << 30 // 128 * N * r bytes
	maxScryptP      = 16
	maxPBKDF2Iter   = 10_000_000
)

// keystoreJSON is the Web3 Secret Storage v3 layout. Go's json decoding
// matches field names case-insensitively, so ethers' "Crypto" is read too.
type keystoreJSON struct {
	Address string     `json:"address"`
	Crypto  cryptoJSON `json:"crypto"`
	ID      string     `json:"id"`
	Version int        `json:"version"`
}

type cryptoJSON struct {
	Cipher       string          `json:"cipher"`
	CipherText   string          `json:"ciphertext"`
	CipherParams cipherParams    `json:"cipherparams"`
	KDF          string          `json:"kdf"`
	KDFParams    json.RawMessage `json:"kdfparams"`
	MAC          string          `json:"mac"`
}

type cipherParams struct {
	IV string `json:"iv"`
}

type scryptJSON struct {
	DKLen int    `json:"dklen"`
	N     int    `json:"n"`
	P     int    `json:"p"`
	R     int    `json:"r"`
	Salt  string `json:"salt"`
}

type pbkdf2JSON struct {
	C     int    `json:"c"`
	DKLen int    `json:"dklen"`
	PRF   string `json:"prf"`
	Salt  string `json:"salt"`
}

// KeystoreInfo is what can be read from a keystore file without the password.
type KeystoreInfo struct {
	Address Address
	ID      string
	KDF     string
	Cipher  string
}

// EncryptKey returns the v3 keystore JSON of k under password. It draws the
// salt, IV and id from crypto/rand.
func EncryptKey(k *PrivateKey, password []byte, p ScryptParams) ([]byte, error) {
	return encryptKey(k, password, p, rand.Reader)
}

func encryptKey(k *PrivateKey, password []byte, p ScryptParams, rnd io.Reader) ([]byte, error) {
	if err := checkScrypt(p.N, p.R, p.P); err != nil {
		return nil, err
	}
	var salt [32]byte
	var iv [16]byte
	var id [16]byte
	for _, b := range [][]byte{salt[:], iv[:], id[:]} {
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, fmt.Errorf("wallet: reading randomness: %w", err)
		}
	}
	dk, err := scrypt.Key(password, salt[:], p.N, p.R, p.P, 32)
	if err != nil {
		return nil, fmt.Errorf("wallet: scrypt: %w", err)
	}
	ct, err := aesCTR(dk[:16], iv[:], k.Bytes())
	if err != nil {
		return nil, err
	}
	mac := Keccak256(dk[16:32], ct)
	kdf, _ := json.Marshal(scryptJSON{DKLen: 32, N: p.N, P: p.P, R: p.R, Salt: hex.EncodeToString(salt[:])})
	addr := k.Address()
	out := keystoreJSON{
		Address: hex.EncodeToString(addr[:]),
		Crypto: cryptoJSON{
			Cipher:       "aes-128-ctr",
			CipherText:   hex.EncodeToString(ct),
			CipherParams: cipherParams{IV: hex.EncodeToString(iv[:])},
			KDF:          "scrypt",
			KDFParams:    kdf,
			MAC:          hex.EncodeToString(mac[:]),
		},
		ID:      uuidV4(id),
		Version: 3,
	}
	return json.MarshalIndent(out, "", "  ")
}

// uuidV4 formats 16 random bytes as an RFC 4122 version 4 UUID.
func uuidV4(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func aesCTR(key, iv, in []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wallet: aes: %w", err)
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv).XORKeyStream(out, in)
	return out, nil
}

func parseKeystore(data []byte) (*keystoreJSON, error) {
	var ks keystoreJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&ks); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKeystore, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrBadKeystore)
	}
	if ks.Version != 3 {
		return nil, fmt.Errorf("%w: version %d, want 3", ErrBadKeystore, ks.Version)
	}
	return &ks, nil
}

// ReadKeystoreInfo reads the address and parameters of a keystore without
// decrypting it. The address is the one the file claims; only DecryptKey
// proves it.
func ReadKeystoreInfo(data []byte) (KeystoreInfo, error) {
	ks, err := parseKeystore(data)
	if err != nil {
		return KeystoreInfo{}, err
	}
	a, err := ParseAddress(ks.Address)
	if err != nil {
		return KeystoreInfo{}, fmt.Errorf("%w: address: %v", ErrBadKeystore, err)
	}
	return KeystoreInfo{Address: a, ID: ks.ID, KDF: ks.Crypto.KDF, Cipher: ks.Crypto.Cipher}, nil
}

// DecryptKey opens a v3 keystore with password. It accepts scrypt and
// PBKDF2-HMAC-SHA256 with AES-128-CTR, checks the MAC before decrypting, and,
// when the file names an address, checks that the key matches it.
func DecryptKey(data []byte, password []byte) (*PrivateKey, error) {
	ks, err := parseKeystore(data)
	if err != nil {
		return nil, err
	}
	c := &ks.Crypto
	if !strings.EqualFold(c.Cipher, "aes-128-ctr") {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCipher, c.Cipher)
	}
	iv, err := hexField("cipherparams.iv", c.CipherParams.IV, 16)
	if err != nil {
		return nil, err
	}
	ct, err := hexField("ciphertext", c.CipherText, 32)
	if err != nil {
		return nil, err
	}
	mac, err := hexField("mac", c.MAC, 32)
	if err != nil {
		return nil, err
	}
	dk, err := deriveKey(c, password)
	if err != nil {
		return nil, err
	}
	want := Keccak256(dk[16:32], ct)
	if subtle.ConstantTimeCompare(want[:], mac) != 1 {
		return nil, ErrDecrypt
	}
	plain, err := aesCTR(dk[:16], iv, ct)
	if err != nil {
		return nil, err
	}
	k, err := PrivateKeyFromBytes(plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypted key: %v", ErrBadKeystore, err)
	}
	if ks.Address != "" {
		a, err := ParseAddress(ks.Address)
		if err != nil {
			return nil, fmt.Errorf("%w: address: %v", ErrBadKeystore, err)
		}
		if a != k.Address() {
			return nil, fmt.Errorf("%w: file says %s, key is %s", ErrAddressMismatch, a, k.Address())
		}
	}
	return k, nil
}

func deriveKey(c *cryptoJSON, password []byte) ([]byte, error) {
	switch strings.ToLower(c.KDF) {
	case "scrypt":
		var p scryptJSON
		if err := json.Unmarshal(c.KDFParams, &p); err != nil {
			return nil, fmt.Errorf("%w: kdfparams: %v", ErrBadKeystore, err)
		}
		if p.DKLen != 32 {
			return nil, fmt.Errorf("%w: dklen %d, want 32", ErrKDFParams, p.DKLen)
		}
		if err := checkScrypt(p.N, p.R, p.P); err != nil {
			return nil, err
		}
		salt, err := hexField("kdfparams.salt", p.Salt, -1)
		if err != nil {
			return nil, err
		}
		dk, err := scrypt.Key(password, salt, p.N, p.R, p.P, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: scrypt: %v", ErrKDFParams, err)
		}
		return dk, nil
	case "pbkdf2":
		var p pbkdf2JSON
		if err := json.Unmarshal(c.KDFParams, &p); err != nil {
			return nil, fmt.Errorf("%w: kdfparams: %v", ErrBadKeystore, err)
		}
		if p.PRF != "hmac-sha256" {
			return nil, fmt.Errorf("%w: pbkdf2 prf %q", ErrUnknownKDF, p.PRF)
		}
		if p.DKLen != 32 || p.C < 1 || p.C > maxPBKDF2Iter {
			return nil, fmt.Errorf("%w: pbkdf2 c=%d dklen=%d", ErrKDFParams, p.C, p.DKLen)
		}
		salt, err := hexField("kdfparams.salt", p.Salt, -1)
		if err != nil {
			return nil, err
		}
		dk, err := pbkdf2.Key(sha256.New, string(password), salt, p.C, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: pbkdf2: %v", ErrKDFParams, err)
		}
		return dk, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKDF, c.KDF)
}

func checkScrypt(n, r, p int) error {
	if n < 2 || n&(n-1) != 0 || r < 1 || p < 1 || p > maxScryptP ||
		int64(n)*int64(r) > maxScryptMemory/128 {
		return fmt.Errorf("%w: scrypt n=%d r=%d p=%d", ErrKDFParams, n, r, p)
	}
	return nil
}

// hexField decodes a hex string; size >= 0 demands that many bytes.
func hexField(name, s string, size int) ([]byte, error) {
	b, err := hex.DecodeString(trim0x(s))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex", ErrBadKeystore, name)
	}
	if size >= 0 && len(b) != size {
		return nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrBadKeystore, name, len(b), size)
	}
	return b, nil
}
