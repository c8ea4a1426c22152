package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/gridmint/gridmint/wallet"
)

// Genesis is the chain's first state, read from a JSON file (a complete
// example: testdata/genesis.example.json):
//
//	{
//	  "chain_id": "gridmint-devnet",
//	  "genesis_time": 1767225600,          // Unix seconds; interval 0 starts here
//	  "params": { "interval_seconds": 900, ... },   // see Params; omitted keys take DefaultParams
//	  "accounts": [ { "address": "0x…", "balance": 1000000000 } ],
//	  "validators": [ { "address": "0x…", "consensus_key": "0x02…", "stake": 1000000000 } ]
//	}
//
// Amounts are base units (1 FLX = 1,000,000). A validator's stake is bonded
// at genesis and is part of the genesis supply; its address may also have a
// balance in "accounts". Unknown keys are an error.
type Genesis struct {
	ChainID     string             `json:"chain_id"`
	GenesisTime int64              `json:"genesis_time"`
	Params      Params             `json:"params"`
	Accounts    []GenesisAccount   `json:"accounts"`
	Validators  []GenesisValidator `json:"validators"`
}

// GenesisAccount is an initial balance.
type GenesisAccount struct {
	Address wallet.Address `json:"address"`
	Balance uint64         `json:"balance"`
}

// GenesisValidator is an initial validator with bonded stake.
type GenesisValidator struct {
	Address      wallet.Address `json:"address"`
	ConsensusKey HexBytes       `json:"consensus_key"`
	Stake        uint64         `json:"stake"`
}

// HexBytes is a byte string written as 0x-prefixed hex in JSON.
type HexBytes []byte

func (h HexBytes) MarshalText() ([]byte, error) { return []byte("0x" + hex.EncodeToString(h)), nil }
func (h *HexBytes) UnmarshalText(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[:2] == "0x" {
		s = s[2:]
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("not hex: %q", b)
	}
	*h = v
	return nil
}

// ErrGenesis wraps every genesis error.
var ErrGenesis = errors.New("genesis")

// ParseGenesis reads genesis JSON; params start from DefaultParams.
func ParseGenesis(data []byte) (*Genesis, error) {
	g := &Genesis{Params: DefaultParams()}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(g); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrGenesis)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// LoadGenesis reads a genesis file.
func LoadGenesis(path string) (*Genesis, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	return ParseGenesis(data)
}

// JSON returns the genesis as indented JSON.
func (g *Genesis) JSON() ([]byte, error) { return json.MarshalIndent(g, "", "  ") }

// Validate checks the genesis for consistency.
func (g *Genesis) Validate() error {
	if err := wallet.ValidateChainID(g.ChainID); err != nil {
		return fmt.Errorf("%w: chain_id: %v", ErrGenesis, err)
	}
	if g.GenesisTime < 0 || g.GenesisTime%int64(max(g.Params.IntervalSeconds, 1)) != 0 {
		return fmt.Errorf("%w: genesis_time %d must be a non-negative multiple of interval_seconds", ErrGenesis, g.GenesisTime)
	}
	if err := g.Params.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	seen := map[wallet.Address]bool{}
	var total uint64
	add := func(v uint64) error {
		if total+v < total {
			return fmt.Errorf("%w: total supply overflows", ErrGenesis)
		}
		total += v
		return nil
	}
	for _, a := range g.Accounts {
		if seen[a.Address] {
			return fmt.Errorf("%w: account %s listed twice", ErrGenesis, a.Address)
		}
		seen[a.Address] = true
		if err := add(a.Balance); err != nil {
			return err
		}
	}
	vseen := map[wallet.Address]bool{}
	kseen := map[string]bool{}
	for _, v := range g.Validators {
		if vseen[v.Address] {
			return fmt.Errorf("%w: validator %s listed twice", ErrGenesis, v.Address)
		}
		vseen[v.Address] = true
		if _, err := wallet.ParsePublicKey(v.ConsensusKey); err != nil || len(v.ConsensusKey) != PubKeyLen {
			return fmt.Errorf("%w: validator %s: consensus_key must be a 33-byte compressed key", ErrGenesis, v.Address)
		}
		if kseen[string(v.ConsensusKey)] {
			return fmt.Errorf("%w: validator %s: consensus key used twice", ErrGenesis, v.Address)
		}
		kseen[string(v.ConsensusKey)] = true
		if v.Stake < g.Params.MinValidatorStake {
			return fmt.Errorf("%w: validator %s: stake %d below min_validator_stake %d", ErrGenesis, v.Address, v.Stake, g.Params.MinValidatorStake)
		}
		if err := add(v.Stake); err != nil {
			return err
		}
	}
	if len(g.Validators) == 0 {
		return fmt.Errorf("%w: no validators", ErrGenesis)
	}
	return nil
}

// genesisState writes the genesis into an empty view. Lists are sorted
// first, so the state (and its root) does not depend on the order of the
// JSON file's entries.
func (g *Genesis) genesisState(v *view) error {
	accts := slices.Clone(g.Accounts)
	slices.SortFunc(accts, func(a, b GenesisAccount) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	vals := slices.Clone(g.Validators)
	slices.SortFunc(vals, func(a, b GenesisValidator) int { return bytes.Compare(a.Address[:], b.Address[:]) })

	balances := map[wallet.Address]*Account{}
	var order []wallet.Address
	get := func(a wallet.Address) *Account {
		if acc, ok := balances[a]; ok {
			return acc
		}
		acc := &Account{}
		balances[a] = acc
		order = append(order, a)
		return acc
	}
	var supply uint64
	for _, a := range accts {
		get(a.Address).Balance += a.Balance
		supply += a.Balance
	}
	cands := addressList{}
	for _, gv := range vals {
		acc := get(gv.Address)
		acc.Bonded = gv.Stake
		acc.ConsKey = slices.Clone(gv.ConsensusKey)
		supply += gv.Stake
		cands.Addrs = append(cands.Addrs, gv.Address)
		ca, err := consAddress(gv.ConsensusKey)
		if err != nil {
			return err
		}
		v.set(consKeyKey(ca), gv.Address[:])
	}
	for _, a := range order {
		v.store(accountKey(a), balances[a])
	}
	v.store([]byte(pfxParams), &g.Params)
	v.store([]byte(pfxSupply), &Supply{Genesis: supply})
	v.store([]byte(pfxValCands), &cands)
	v.store([]byte(pfxChain), &chainState{NextRECID: 1, NextFlexID: 1})
	set, err := computeValidatorSet(v, &g.Params, 1, 0)
	if err != nil {
		return err
	}
	v.store([]byte(pfxValSet), set)
	return nil
}

// consAddress is the address of a consensus key, the key under which the
// ledger finds the operator account of a validator's key.
func consAddress(key []byte) (wallet.Address, error) {
	pub, err := wallet.ParsePublicKey(key)
	if err != nil {
		return wallet.Address{}, fmt.Errorf("%w: %v", ErrBadConsKey, err)
	}
	return pub.Address(), nil
}
