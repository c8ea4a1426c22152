package node

import "path/filepath"

// Paths is the layout of a node's data directory.
type Paths struct {
	Home     string
	Config   string // config.toml
	Genesis  string // genesis.json: the chain's first state
	Ledger   string // data/ledger: the pebble store
	WAL      string // data/consensus.wal: the consensus write-ahead log
	Guard    string // data/sign_state: the double-sign guard (consensus/privval)
	Keystore string // keystore/: encrypted keys, one file each
	NodeKey  string // node_key
}

// PathsOf returns the layout under home.
func PathsOf(home string) Paths {
	return Paths{
		Home:     home,
		Config:   filepath.Join(home, "config.toml"),
		Genesis:  filepath.Join(home, "genesis.json"),
		Ledger:   filepath.Join(home, "data", "ledger"),
		WAL:      filepath.Join(home, "data", "consensus.wal"),
		Guard:    filepath.Join(home, "data", "sign_state"),
		Keystore: filepath.Join(home, "keystore"),
		NodeKey:  filepath.Join(home, "node_key"),
	}
}
