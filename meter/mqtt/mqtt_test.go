package mqtt

import (
	"github.com/gridmint/gridmint/meter"

	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The MQTT tests run against a real mosquitto broker, started by the test
// on a free loopback port with a configuration of its own. Without
// mosquitto they skip, unless GRIDMINT_REQUIRE_EXTERNAL=1 (CI, make test),
// where they fail: run scripts/setup-test-deps.

// requireExternal finds an external program, or skips (or fails, when
// GRIDMINT_REQUIRE_EXTERNAL=1) the test.
func requireExternal(t *testing.T, name string, alsoIn ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range alsoIn { // sbin is not on every user's PATH
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found on PATH: run scripts/setup-test-deps (or apt-get install %s)", name, name)
	if os.Getenv("GRIDMINT_REQUIRE_EXTERNAL") == "1" {
		t.Fatal(msg + "; GRIDMINT_REQUIRE_EXTERNAL=1 makes this a failure")
	}
	t.Skip(msg)
	return ""
}

// testBroker is a mosquitto process on 127.0.0.1.
type testBroker struct {
	t    *testing.T
	bin  string
	dir  string
	addr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives the running process's exit status
}

func startMosquitto(t *testing.T) *testBroker {
	t.Helper()
	bin := requireExternal(t, "mosquitto", "/usr/sbin", "/usr/local/sbin")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b := &testBroker{t: t, bin: bin, dir: t.TempDir(), addr: addr}
	_, port, _ := net.SplitHostPort(addr)
	conf := "listener " + port + " 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n"
	// Started as root, mosquitto drops to the user "mosquitto" unless told
	// to stay who it is.
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		conf += "user root\n"
	}
	if err := os.WriteFile(filepath.Join(b.dir, "mosquitto.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *testBroker) url() string { return "tcp://" + b.addr }

// start runs mosquitto and waits until it accepts connections (polling the
// port, no fixed sleep), or fails with its output.
func (b *testBroker) start() {
	b.t.Helper()
	out := &bytes.Buffer{}
	cmd := exec.Command(b.bin, "-c", filepath.Join(b.dir, "mosquitto.conf"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.mu.Lock()
	b.cmd, b.exited = cmd, exited
	b.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			b.t.Fatalf("mosquitto exited (%v) before listening on %s:\n%s", err, b.addr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			b.t.Fatalf("mosquitto not listening on %s after 10 s:\n%s", b.addr, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop terminates mosquitto (SIGTERM, then SIGKILL) and waits for it.
func (b *testBroker) stop() {
	b.mu.Lock()
	cmd, ch := b.cmd, b.exited
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-ch
	}
}

// publisher is a plain Paho client standing in for evcc or Home Assistant.
func publisher(t *testing.T, b *testBroker) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.url()).SetClientID("test-publisher-" + t.Name()).
		SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(200 * time.Millisecond))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c paho.Client, topic, payload string, retain bool) {
	t.Helper()
	if tok := c.Publish(topic, 1, retain, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func openMQTT(t *testing.T, cfg Config) *Device {
	t.Helper()
	m, err := New(adapterCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// eventually polls read until it returns want.
func eventually(t *testing.T, what string, want int64, read func() (int64, error)) {
	t.Helper()
	var got int64
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got, err = read(); err == nil && got == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: got %d, %v; want %d", what, got, err, want)
}

func evccConfig(broker string) Config {
	return Config{
		Broker:       broker,
		MaxAge:       meter.Duration(time.Minute),
		MaxBackoff:   meter.Duration(200 * time.Millisecond),
		GridPower:    Value{Topic: "evcc/site/gridPower"},
		PVPower:      Value{Topic: "evcc/site/pvPower"},
		BatteryPower: Value{Topic: "evcc/site/batteryPower", Invert: true},
		BatterySoC:   Value{Topic: "evcc/site/batterySoc", Unit: "%"},
		ChargePower:  Value{Topic: "evcc/loadpoints/1/chargePower"},
		Dispatch: Dispatch{
			ChargerPause: []Command{{Topic: "evcc/loadpoints/1/mode/set", Payload: "off"}},
			Resume:       []Command{{Topic: "evcc/loadpoints/1/mode/set", Payload: "pv"}},
		},
	}
}

func TestMQTTEvcc(t *testing.T) {
	b := startMosquitto(t)
	pub := publisher(t, b)
	ctx := adapterCtx(t)
	// evcc publishes retained: these are there before the node subscribes.
	publish(t, pub, "evcc/site/gridPower", "1234.5", true)
	publish(t, pub, "evcc/site/pvPower", "4012", true)

	m := openMQTT(t, evccConfig(b.url()))
	if got, want := m.Capabilities(), meter.CapGrid|meter.CapPV|meter.CapBattery|meter.CapCharger|meter.CapDispatch; got != want {
		t.Errorf("capabilities %s, want %s", got, want)
	}
	if meter.Supports(m, meter.CapGridEnergy) || meter.Supports(m, meter.CapPVEnergy) {
		t.Error("energy capabilities without energy topics")
	}
	eventually(t, "retained grid power", 1234, func() (int64, error) { return m.GridPowerW(ctx) })
	eventually(t, "retained pv power", 4012, func() (int64, error) { return m.PVPowerW(ctx) })
	if _, err := m.BatterySoCPpm(ctx); !errors.Is(err, ErrNoValue) {
		t.Errorf("SoC before any message: %v", err)
	}

	publish(t, pub, "evcc/site/gridPower", "-2500.75", false) // exporting
	publish(t, pub, "evcc/site/batteryPower", "-1800", false) // evcc: - is charging
	publish(t, pub, "evcc/site/batterySoc", "57.3", false)
	publish(t, pub, "evcc/loadpoints/1/chargePower", "11040", false)
	eventually(t, "grid power", -2501, func() (int64, error) { return m.GridPowerW(ctx) })
	eventually(t, "battery power", 1800, func() (int64, error) { return m.BatteryPowerW(ctx) })
	eventually(t, "battery SoC", 573_000, func() (int64, error) { v, err := m.BatterySoCPpm(ctx); return int64(v), err })
	eventually(t, "charge power", 11040, func() (int64, error) { return m.ChargePowerW(ctx) })

	publish(t, pub, "evcc/site/batterySoc", "117", false)
	eventually(t, "SoC above 100 %", 0, func() (int64, error) {
		_, err := m.BatterySoCPpm(ctx)
		if errors.Is(err, meter.ErrBadSoC) {
			return 0, nil
		}
		return -1, err
	})

	// Dispatch: pausing the charger publishes evcc's mode command.
	got := make(chan string, 4)
	if tok := pub.Subscribe("evcc/loadpoints/1/mode/set", 1, func(_ paho.Client, msg paho.Message) {
		got <- string(msg.Payload())
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	until := time.Now().Add(15 * time.Minute)
	if err := m.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchChargerPause, Until: until}); err != nil {
		t.Fatal(err)
	}
	if err := m.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchNone}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"off", "pv"} {
		select {
		case p := <-got:
			if p != want {
				t.Errorf("command %q, want %q", p, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("command %q never arrived", want)
		}
	}
	if err := m.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchBatteryDischarge, PowerW: 1000, Until: until}); !errors.Is(err, meter.ErrNotSupported) {
		t.Errorf("battery dispatch without commands: %v", err)
	}
}

func TestMQTTHomeAssistant(t *testing.T) {
	b := startMosquitto(t)
	pub := publisher(t, b)
	ctx := adapterCtx(t)
	m := openMQTT(t, Config{
		Broker:           b.url(),
		GridPower:        Value{Topic: "homeassistant/sensor/grid_power/state"},
		GridImportEnergy: Value{Topic: "homeassistant/sensor/smartmeter/state", Path: "energy.import_kwh", Unit: "kWh"},
		GridExportEnergy: Value{Topic: "homeassistant/sensor/smartmeter/state", Path: "energy.export_kwh", Unit: "kWh"},
		PVPower:          Value{Topic: "homeassistant/sensor/inverter/state", Path: "ac.power", Unit: "kW"},
		PVEnergy:         Value{Topic: "homeassistant/sensor/inverter/state", Path: "$.counters[1].value", Unit: "MWh"},
		ChargePower:      Value{Topic: "tele/wallbox/SENSOR", Path: "ENERGY.Power"},
		Dispatch: Dispatch{
			BatteryDischarge: []Command{{Topic: "homeassistant/number/battery_discharge_w/set", Payload: "{power_w}"}},
			Resume:           []Command{{Topic: "homeassistant/number/battery_discharge_w/set", Payload: "0"}},
		},
	})
	if got, want := m.Capabilities(), meter.CapGrid|meter.CapGridEnergy|meter.CapPV|meter.CapPVEnergy|meter.CapCharger|meter.CapDispatch; got != want {
		t.Errorf("capabilities %s, want %s", got, want)
	}
	if meter.Supports(m, meter.CapBattery) {
		t.Error("battery capability without battery topics")
	}
	publish(t, pub, "homeassistant/sensor/grid_power/state", "452.3", false)
	publish(t, pub, "homeassistant/sensor/smartmeter/state",
		`{"energy": {"import_kwh": "12345.6789", "export_kwh": 2345.5}, "phases": [{"w": 150}, {"w": 151}], "friendly_name": "Smart meter"}`, false)
	publish(t, pub, "homeassistant/sensor/inverter/state", `{"ac": {"power": 3.2171}, "counters": [{"value": 1}, {"value": 12.345678}]}`, false)
	publish(t, pub, "tele/wallbox/SENSOR", `{"Time":"2026-06-01T12:00:00","ENERGY":{"Total":1234.567,"Power":7360,"Voltage":231}}`, false)

	eventually(t, "grid power", 452, func() (int64, error) { return m.GridPowerW(ctx) })
	eventually(t, "import", 12_345_678, func() (int64, error) { i, _, err := m.GridEnergyWh(ctx); return int64(i), err })
	eventually(t, "export", 2_345_500, func() (int64, error) { _, e, err := m.GridEnergyWh(ctx); return int64(e), err })
	eventually(t, "pv power", 3217, func() (int64, error) { return m.PVPowerW(ctx) })
	eventually(t, "pv energy", 12_345_678, func() (int64, error) { v, err := m.PVEnergyWh(ctx); return int64(v), err })
	eventually(t, "tasmota power", 7360, func() (int64, error) { return m.ChargePowerW(ctx) })

	// Home Assistant says "unavailable" when the sensor is gone.
	publish(t, pub, "homeassistant/sensor/grid_power/state", "unavailable", false)
	eventually(t, "unavailable", 0, func() (int64, error) {
		_, err := m.GridPowerW(ctx)
		if errors.Is(err, ErrNoValue) {
			return 0, nil
		}
		return -1, err
	})
	if _, err := m.BatteryPowerW(ctx); !errors.Is(err, meter.ErrNotSupported) {
		t.Errorf("battery power: %v", err)
	}

	got := make(chan string, 2)
	pub.Subscribe("homeassistant/number/battery_discharge_w/set", 1, func(_ paho.Client, msg paho.Message) { got <- string(msg.Payload()) }).Wait()
	if err := m.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchBatteryDischarge, PowerW: 2500, Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "2500" {
			t.Errorf("discharge command %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("discharge command never arrived")
	}
}

// TestMQTTStale: a value is good for max_age after it arrived, then an error.
func TestMQTTStale(t *testing.T) {
	b := startMosquitto(t)
	pub := publisher(t, b)
	ctx := adapterCtx(t)
	cfg := evccConfig(b.url())
	cfg.MaxAge = meter.Duration(30 * time.Second)
	cfg.PVPower.MaxAge = meter.Duration(2 * time.Minute)
	m := openMQTT(t, cfg)
	var mu sync.Mutex
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	m.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	publish(t, pub, "evcc/site/gridPower", "100", false)
	publish(t, pub, "evcc/site/pvPower", "200", false)
	eventually(t, "grid", 100, func() (int64, error) { return m.GridPowerW(ctx) })
	eventually(t, "pv", 200, func() (int64, error) { return m.PVPowerW(ctx) })
	advance(31 * time.Second)
	if _, err := m.GridPowerW(ctx); !errors.Is(err, ErrStale) {
		t.Errorf("31 s old grid power: %v", err)
	}
	if w, err := m.PVPowerW(ctx); err != nil || w != 200 {
		t.Errorf("pv power with its own max_age: %d, %v", w, err)
	}
	publish(t, pub, "evcc/site/gridPower", "101", false)
	eventually(t, "fresh grid", 101, func() (int64, error) { return m.GridPowerW(ctx) })
}

// TestMQTTReconnect stops the broker mid-test and starts it again on the
// same port: the adapter reconnects, subscribes again and reads new values;
// meanwhile the old value goes stale rather than being read for ever.
func TestMQTTReconnect(t *testing.T) {
	b := startMosquitto(t)
	pub := publisher(t, b)
	ctx := adapterCtx(t)
	cfg := evccConfig(b.url())
	cfg.MaxAge = meter.Duration(500 * time.Millisecond)
	m := openMQTT(t, cfg)
	publish(t, pub, "evcc/site/gridPower", "300", false)
	eventually(t, "before", 300, func() (int64, error) { return m.GridPowerW(ctx) })

	b.stop()
	eventually(t, "stale while the broker is down", 0, func() (int64, error) {
		_, err := m.GridPowerW(ctx)
		if errors.Is(err, ErrStale) {
			return 0, nil
		}
		return -1, err
	})
	if err := m.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchChargerPause, Until: time.Now().Add(time.Minute)}); err == nil {
		t.Error("dispatch with the broker down succeeded")
	}
	b.start()
	// Both clients reconnect by themselves; publish until the adapter,
	// subscribed again, has the new value.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pub.IsConnectionOpen() {
			pub.Publish("evcc/site/gridPower", 1, false, "301").WaitTimeout(time.Second)
		}
		if w, err := m.GridPowerW(ctx); err == nil && w == 301 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no value after the broker came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMQTTConfigRejects(t *testing.T) {
	ctx := adapterCtx(t)
	for name, cfg := range map[string]Config{
		"no broker":        {},
		"bad unit":         {Broker: "tcp://127.0.0.1:1", GridPower: Value{Topic: "a", Unit: "kWh"}},
		"soc in W":         {Broker: "tcp://127.0.0.1:1", BatterySoC: Value{Topic: "a", Unit: "W"}},
		"bad path":         {Broker: "tcp://127.0.0.1:1", GridPower: Value{Topic: "a", Path: "a..b"}},
		"path no topic":    {Broker: "tcp://127.0.0.1:1", GridPower: Value{Path: "a"}},
		"wildcard":         {Broker: "tcp://127.0.0.1:1", GridPower: Value{Topic: "a/+/b"}},
		"no resume":        {Broker: "tcp://127.0.0.1:1", Dispatch: Dispatch{ChargerPause: []Command{{Topic: "x", Payload: "off"}}}},
		"bad qos":          {Broker: "tcp://127.0.0.1:1", Dispatch: Dispatch{Resume: []Command{{Topic: "x", QoS: 3}}}},
		"command wildcard": {Broker: "tcp://127.0.0.1:1", Dispatch: Dispatch{Resume: []Command{{Topic: "#"}}}},
	} {
		if _, err := New(ctx, cfg); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A broker that is not there: an error within the timeout.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	if _, err := New(ctx, Config{Broker: addr, Timeout: meter.Duration(time.Second)}); err == nil {
		t.Error("connected to nothing")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("failed connect took %v", d)
	}
}

func TestMQTTRegistry(t *testing.T) {
	b := startMosquitto(t)
	d, err := meter.Open(adapterCtx(t), "mqtt", meter.ConfigValue(evccConfig(b.url())))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, ok := d.(meter.Charger); !ok || !meter.Supports(d, meter.CapCharger) {
		t.Errorf("opened %T without the charger capability", d)
	}
	if d.Close() != nil || d.Close() != nil {
		t.Error("Close twice")
	}
	if _, err := d.(meter.GridMeter).GridPowerW(adapterCtx(t)); !errors.Is(err, meter.ErrDeviceClosed) {
		t.Errorf("read after close: %v", err)
	}
}

func TestMQTTNameHidesPassword(t *testing.T) {
	if got := redactURL("tcp://gridmint:s3cret@10.0.0.2:1883"); strings.Contains(got, "s3cret") {
		t.Errorf("redacted URL %q shows the password", got)
	}
	if got := redactURL("tcp://127.0.0.1:1883"); got != "tcp://127.0.0.1:1883" {
		t.Errorf("plain URL changed to %q", got)
	}
}

// TestMQTTOrder: a burst of messages on one topic leaves the last one.
func TestMQTTOrder(t *testing.T) {
	b := startMosquitto(t)
	pub := publisher(t, b)
	ctx := adapterCtx(t)
	m := openMQTT(t, evccConfig(b.url()))
	var toks []paho.Token
	for i := 1; i <= 300; i++ {
		toks = append(toks, pub.Publish("evcc/site/gridPower", 1, false, fmt.Sprint(i)))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal("publish", tok.Error())
		}
	}
	eventually(t, "last of a burst", 300, func() (int64, error) { return m.GridPowerW(ctx) })
}
