// Package node wires one gridmint node together: its configuration and data
// directory today; the mempool, block building, execution through the
// ledger, the consensus engine, the meter side of a site and the transport
// to other nodes as those parts land.
//
// Tests: the configuration template written by `gridmint init` is checked to
// name every option of Config and to parse back to the defaults; bad
// configuration files fail with the line and the option at fault.
package node
