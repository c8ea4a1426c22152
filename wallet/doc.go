// Package wallet holds gridmint's keys and everything that signs with them:
// secp256k1 private keys, Ethereum-style addresses (Keccak-256 of the
// uncompressed public key, last 20 bytes, shown with the EIP-55 checksum),
// recoverable 65-byte signatures R||S||V, keystore files in the Web3 Secret
// Storage v3 format, and EIP-191 personal_sign messages.
//
// Two kinds of signature come out of this package and they cannot be
// confused with one another:
//
//   - Typed signatures (SignTyped, RecoverTyped) are gridmint's own: the
//     signed hash is SHA-256 over the canonical encoding of a fixed magic
//     string, a type tag ("gridmint/reading/v1", "gridmint/tx/v1", ...), the
//     chain id and the message body. A reading can never be replayed as a
//     transaction or a vote, nor on another chain (ARCHITECTURE rule 3).
//   - Personal signatures (SignPersonal, RecoverPersonal) are EIP-191
//     version 0x45 ("\x19Ethereum Signed Message:\n" + length + message,
//     Keccak-256), so that an owner or a utility can prove an address with
//     ethers, MetaMask or geth. Their V is 27 or 28 as those tools expect.
//
// Signatures are always low-S (s <= n/2) and V is 0 or 1 (27 or 28 for
// personal signatures); recovery rejects anything else, so one message and
// key have exactly one valid signature encoding per nonce.
//
// Keystore files are interoperable with geth and ethers in both directions
// (scrypt or PBKDF2-HMAC-SHA256, AES-128-CTR, Keccak-256 MAC). Reading a
// keystore never writes it; writing one never overwrites a file.
//
// Tests: known-answer vectors (private key to address, EIP-55 examples from
// the EIP, geth's published keystore vectors), round trips, tamper tests
// (flip any byte of a signature or keystore and it fails), and, when ethers is
// installed by scripts/setup-test-deps, cross-checks against ethers.js.
package wallet
