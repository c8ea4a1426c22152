// Package adapters links every device family into a binary: importing it
// (for its side effect) registers "sunspec", "mqtt" and "sim" with
// meter.Register, so that meter.Open and meter.Kinds know them.
//
// The families live in their own packages (meter/sunspec, meter/mqtt,
// meter/sim) so that a program that needs only the reading model, such as
// the ledger, links no Modbus, MQTT or simulator code and runs none of
// their init functions. The node and the site agent import this package.
//
// Tests: TestKinds checks that every family is registered.
package adapters

import (
	_ "github.com/gridmint/gridmint/meter/mqtt"    // registers "mqtt"
	_ "github.com/gridmint/gridmint/meter/sim"     // registers "sim"
	_ "github.com/gridmint/gridmint/meter/sunspec" // registers "sunspec"
)
