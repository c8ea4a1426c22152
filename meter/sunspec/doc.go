// Package sunspec is the SunSpec Modbus TCP device family ("sunspec" in a
// [[device]] table): inverters, meters and batteries that publish SunSpec
// models, read with scale factors applied in integer arithmetic, and a
// battery controlled through storage model 124 when control is enabled.
//
// It registers itself with meter.Register on import. Tests run against a
// real Modbus TCP server started by the test, serving a Fronius GEN24
// register dump (testdata/fronius_gen24.regs), and fuzz the decoders.
package sunspec
