// Package mqtt is the MQTT device family ("mqtt" in a [[device]] table):
// power, energy and state of charge from topics as evcc, Home Assistant or
// Tasmota publish them, and dispatch as configured publishes.
//
// It registers itself with meter.Register on import. Tests run against a
// real mosquitto broker started by the test (skipped where mosquitto is not
// installed; scripts/setup-test-deps installs it), and fuzz the payload
// decoders.
package mqtt
