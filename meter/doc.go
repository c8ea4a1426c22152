// Package meter is where the physical world enters gridmint: the reading
// type (what a site measured over one interval, in canonical bytes, signed by
// the site key), the device capability interfaces and the registry of device
// families, the integrator that turns power samples and energy counters into
// interval energies, and plausibility checks. Solar geometry lives in
// meter/solar, baselines in meter/baseline.
//
// The device adapters live in their own packages: meter/sunspec (SunSpec
// Modbus TCP), meter/mqtt (evcc, Home Assistant, Tasmota topics) and
// meter/sim (the simulator with ground truth); meter/adapters links them all.
// This package imports none of them, so the ledger, which needs only the
// reading model and plausibility, links no device protocol and runs no
// adapter's init (ledger's TestNoDeviceCodeInLedger checks it with go list).
//
// A Reading is a value with one canonical encoding (package codec) and a
// typed signature under ReadingTag and the chain id; readings of one site
// form a hash chain through Counter and PrevHash. The ledger decides whether
// a reading is accepted; this package only says whether it is well formed
// and validly signed.
//
// Tests: round trips, signature domain tests and a fuzz target that accepts
// only canonical encodings (testdata/fuzz).
package meter
