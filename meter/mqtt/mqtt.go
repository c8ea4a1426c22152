package mqtt

import (
	"github.com/gridmint/gridmint/meter"

	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// MQTT reads power and energy from an MQTT broker, as home-energy set-ups
// publish them, and acts on dispatches by publishing to command topics.
// Every value has its own topic, optional JSON path and unit; a value is
// good for MaxAge after its message arrived, and an error after that (a
// dead publisher must not be read as a steady meter).
//
// evcc (https://evcc.io) publishes its site and loadpoints, plain numbers,
// retained, every cycle (30 s by default):
//
//	evcc/site/gridPower            W, + import
//	evcc/site/pvPower              W
//	evcc/site/batteryPower         W, + DISCHARGING (evcc's sign: set invert = true)
//	evcc/site/batterySoc           %
//	evcc/loadpoints/1/chargePower  W
//	evcc/loadpoints/1/mode/set     command: "off" pauses charging, "pv" / "minpv" / "now" resume
//
// Home Assistant publishes entity states with the mqtt_statestream
// integration (homeassistant/sensor/<entity>/state, a plain value, or
// "unavailable"), and MQTT sensors often carry a JSON state with the
// attributes in it, read with a path:
//
//	homeassistant/sensor/smartmeter/state = {"power_w": 452, "energy": {"import_kwh": "12345.678"}, "phases": [{"w": 150}]}
//	path = "energy.import_kwh", unit = "kWh"   or   path = "phases[0].w"
//
// Tasmota-flashed smart plugs and IR heads publish tele/<name>/SENSOR =
// {"ENERGY": {"Total": 1234.567, "Power": 456}}: path "ENERGY.Power".
//
// The adapter subscribes on every (re)connect, with a clean session; the
// Paho client reconnects by itself. A retained message delivered on
// subscription counts as received then: its real age is unknown, so a value
// from a publisher that died is accepted for at most MaxAge after the
// subscription.
type Device struct {
	cfg    Config
	name   string
	client paho.Client
	now    func() time.Time
	values []*mqttValue // configured values, in config order
	caps   meter.Capability

	mu      sync.Mutex
	samples map[string]mqttSample // by topic
	closed  bool
}

var (
	_ meter.Device             = (*Device)(nil)
	_ meter.CapabilityReporter = (*Device)(nil)
	_ meter.GridMeter          = (*Device)(nil)
	_ meter.GridEnergyMeter    = (*Device)(nil)
	_ meter.PVMeter            = (*Device)(nil)
	_ meter.PVEnergyMeter      = (*Device)(nil)
	_ meter.Battery            = (*Device)(nil)
	_ meter.Charger            = (*Device)(nil)
	_ meter.Dispatchable       = (*Device)(nil)
)

func init() {
	meter.Register("mqtt", func(ctx context.Context, decode func(any) error) (meter.Device, error) {
		var cfg Config
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		return New(ctx, cfg)
	})
}

// Config configures an MQTT device: a broker and the topics to read.
// Only the values that are configured are capabilities of the device. In
// the node's TOML file, for evcc:
//
//	[[device]]
//	kind = "mqtt"
//	broker = "tcp://192.168.1.10:1883"
//	max_age = "90s"
//	grid_power    = { topic = "evcc/site/gridPower" }
//	pv_power      = { topic = "evcc/site/pvPower" }
//	battery_power = { topic = "evcc/site/batteryPower", invert = true }
//	battery_soc   = { topic = "evcc/site/batterySoc", unit = "%" }
//	charge_power  = { topic = "evcc/loadpoints/1/chargePower" }
//	[device.dispatch]
//	charger_pause = [{ topic = "evcc/loadpoints/1/mode/set", payload = "off" }]
//	resume        = [{ topic = "evcc/loadpoints/1/mode/set", payload = "pv" }]
//
// and for Home Assistant:
//
//	[[device]]
//	kind = "mqtt"
//	broker = "tcp://homeassistant.local:1883"
//	username = "gridmint"
//	password = "..."
//	grid_power         = { topic = "homeassistant/sensor/grid_power/state" }
//	grid_import_energy = { topic = "homeassistant/sensor/smartmeter/state", path = "energy.import_kwh", unit = "kWh" }
//	grid_export_energy = { topic = "homeassistant/sensor/smartmeter/state", path = "energy.export_kwh", unit = "kWh" }
//	pv_power           = { topic = "homeassistant/sensor/inverter/state", path = "ac.power", unit = "kW" }
//	[device.dispatch]
//	battery_discharge = [{ topic = "homeassistant/number/battery_discharge_w/set", payload = "{power_w}" }]
//	resume            = [{ topic = "homeassistant/number/battery_discharge_w/set", payload = "0" }]
type Config struct {
	// Broker is the broker URL: tcp://host:1883, ssl://host:8883, ws://host/mqtt.
	Broker string `toml:"broker"`
	// ClientID defaults to "gridmint-" and a random suffix.
	ClientID string `toml:"client_id"`
	// Username and Password authenticate at the broker; the password is never logged.
	Username string `toml:"username"`
	Password string `toml:"password"`
	// MaxAge is how long a received value is good; 60 s by default.
	MaxAge meter.Duration `toml:"max_age"`
	// Timeout bounds connecting and publishing; 5 s by default.
	Timeout meter.Duration `toml:"timeout"`
	// MaxBackoff caps the wait between reconnects; 30 s by default.
	MaxBackoff meter.Duration `toml:"max_backoff"`

	GridPower        Value `toml:"grid_power"`         // W, + import
	GridImportEnergy Value `toml:"grid_import_energy"` // Wh counter
	GridExportEnergy Value `toml:"grid_export_energy"` // Wh counter
	PVPower          Value `toml:"pv_power"`           // W
	PVEnergy         Value `toml:"pv_energy"`          // Wh counter
	BatteryPower     Value `toml:"battery_power"`      // W, + charging
	BatterySoC       Value `toml:"battery_soc"`        // % by default
	ChargePower      Value `toml:"charge_power"`       // W

	Dispatch Dispatch `toml:"dispatch"`
}

// Value says where one value is published.
type Value struct {
	// Topic is the topic to subscribe to; empty means not configured.
	Topic string `toml:"topic"`
	// Path selects a number in a JSON payload ("a.b[0].c"); empty means
	// the payload is the number.
	Path string `toml:"path"`
	// Unit of the published number: "W", "kW", "MW" for power (W by
	// default); "Wh", "kWh", "MWh" for energy (Wh); "%", "ppm", "fraction"
	// (0..1) for state of charge (%).
	Unit string `toml:"unit"`
	// Invert flips the sign: for a publisher whose sign convention is the
	// opposite of ours (evcc's battery power is + when discharging).
	Invert bool `toml:"invert"`
	// MaxAge overrides the device's MaxAge for this value.
	MaxAge meter.Duration `toml:"max_age"`
}

// Dispatch lists the messages to publish for each dispatch kind. A kind
// with no messages is not supported. Resume (DispatchNone) is required as
// soon as any other kind is configured: what the node starts, it must be
// able to end.
type Dispatch struct {
	BatteryDischarge []Command `toml:"battery_discharge"`
	BatteryCharge    []Command `toml:"battery_charge"`
	ChargerPause     []Command `toml:"charger_pause"`
	LoadCurtail      []Command `toml:"load_curtail"`
	Resume           []Command `toml:"resume"`
}

// Command is one message to publish. In Payload, {power_w} is replaced
// by the dispatch's power in W, {until_unix} by its end in Unix seconds and
// {duration_s} by the seconds left until then.
type Command struct {
	Topic   string `toml:"topic"`
	Payload string `toml:"payload"`
	QoS     byte   `toml:"qos"` // 1 (the default, also for 0) or 2: a command is never fire-and-forget
	Retain  bool   `toml:"retain"`
}

// ErrStale is a value older than its MaxAge.
var ErrStale = errors.New("mqtt: value is stale")

// mqttValue is a configured value, validated.
type mqttValue struct {
	what   string // config key, for errors
	cap    meter.Capability
	topic  string
	path   jsonPath
	exp10  int
	invert bool
	maxAge time.Duration
}

type mqttSample struct {
	payload []byte
	at      time.Time
}

// unit exponents by value kind.
var (
	powerUnits  = map[string]int{"": 0, "W": 0, "kW": 3, "MW": 6}
	energyUnits = map[string]int{"": 0, "Wh": 0, "kWh": 3, "MWh": 6}
	socUnits    = map[string]int{"": 4, "%": 4, "ppm": 0, "fraction": 6}
)

func (c *Config) validate() ([]*mqttValue, error) {
	if c.Broker == "" {
		return nil, errors.New("mqtt: broker is empty")
	}
	if !strings.Contains(c.Broker, "://") {
		c.Broker = "tcp://" + c.Broker
	}
	if c.ClientID == "" {
		var b [4]byte
		rand.Read(b[:])
		c.ClientID = "gridmint-" + hex.EncodeToString(b[:])
	}
	if c.MaxAge <= 0 {
		c.MaxAge = meter.Duration(60 * time.Second)
	}
	if c.Timeout <= 0 {
		c.Timeout = meter.Duration(5 * time.Second)
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = meter.Duration(30 * time.Second)
	}
	var vals []*mqttValue
	for _, f := range []struct {
		what  string
		v     Value
		cap   meter.Capability
		units map[string]int
	}{
		{"grid_power", c.GridPower, meter.CapGrid, powerUnits},
		{"grid_import_energy", c.GridImportEnergy, meter.CapGridEnergy, energyUnits},
		{"grid_export_energy", c.GridExportEnergy, meter.CapGridEnergy, energyUnits},
		{"pv_power", c.PVPower, meter.CapPV, powerUnits},
		{"pv_energy", c.PVEnergy, meter.CapPVEnergy, energyUnits},
		{"battery_power", c.BatteryPower, meter.CapBattery, powerUnits},
		{"battery_soc", c.BatterySoC, meter.CapBattery, socUnits},
		{"charge_power", c.ChargePower, meter.CapCharger, powerUnits},
	} {
		if f.v.Topic == "" {
			if f.v.Path != "" || f.v.Unit != "" || f.v.Invert {
				return nil, fmt.Errorf("mqtt: %s has no topic", f.what)
			}
			continue
		}
		if strings.ContainsAny(f.v.Topic, "+#") {
			return nil, fmt.Errorf("mqtt: %s topic %q has a wildcard", f.what, f.v.Topic)
		}
		exp, ok := f.units[f.v.Unit]
		if !ok {
			return nil, fmt.Errorf("mqtt: %s unit %q is not one of %v", f.what, f.v.Unit, unitNames(f.units))
		}
		p, err := parseJSONPath(f.v.Path)
		if err != nil {
			return nil, fmt.Errorf("mqtt: %s: %w", f.what, err)
		}
		maxAge := f.v.MaxAge.D()
		if maxAge <= 0 {
			maxAge = c.MaxAge.D()
		}
		vals = append(vals, &mqttValue{what: f.what, cap: f.cap, topic: f.v.Topic, path: p, exp10: exp, invert: f.v.Invert, maxAge: maxAge})
	}
	d := c.Dispatch
	hasCmd := false
	for _, l := range []struct {
		what string
		cmds []Command
	}{{"battery_discharge", d.BatteryDischarge}, {"battery_charge", d.BatteryCharge}, {"charger_pause", d.ChargerPause}, {"load_curtail", d.LoadCurtail}, {"resume", d.Resume}} {
		for _, cmd := range l.cmds {
			if cmd.Topic == "" || strings.ContainsAny(cmd.Topic, "+#") {
				return nil, fmt.Errorf("mqtt: dispatch %s: topic %q is empty or has a wildcard", l.what, cmd.Topic)
			}
			if cmd.QoS > 2 {
				return nil, fmt.Errorf("mqtt: dispatch %s: QoS %d", l.what, cmd.QoS)
			}
		}
		if l.what != "resume" && len(l.cmds) > 0 {
			hasCmd = true
		}
	}
	if hasCmd && len(d.Resume) == 0 {
		return nil, errors.New("mqtt: dispatch commands need dispatch.resume, to end what they start")
	}
	return vals, nil
}

func unitNames(m map[string]int) []string {
	var out []string
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// New validates cfg, connects to the broker and subscribes. It fails
// when the broker cannot be reached within Timeout; after that, the client
// reconnects by itself.
func New(ctx context.Context, cfg Config) (*Device, error) {
	vals, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	m := &Device{
		cfg:     cfg,
		name:    "mqtt " + redactURL(cfg.Broker),
		now:     time.Now,
		values:  vals,
		samples: map[string]mqttSample{},
	}
	var topics []string
	for _, v := range vals {
		m.caps |= v.cap
		if !slices.Contains(topics, v.topic) {
			topics = append(topics, v.topic)
		}
	}
	// Energy and battery need both of their values.
	if cfg.GridImportEnergy.Topic == "" || cfg.GridExportEnergy.Topic == "" {
		m.caps &^= meter.CapGridEnergy
	}
	if cfg.BatteryPower.Topic == "" || cfg.BatterySoC.Topic == "" {
		m.caps &^= meter.CapBattery
	}
	d := cfg.Dispatch
	if len(d.BatteryDischarge)+len(d.BatteryCharge)+len(d.ChargerPause)+len(d.LoadCurtail) > 0 {
		m.caps |= meter.CapDispatch
	}

	opts := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(false).
		SetConnectTimeout(cfg.Timeout.D()).
		SetWriteTimeout(cfg.Timeout.D()).
		SetMaxReconnectInterval(cfg.MaxBackoff.D()).
		SetKeepAlive(30 * time.Second).
		// In order: two messages on one topic must be stored oldest first.
		// receive never blocks, so ordered delivery costs nothing.
		SetOrderMatters(true)
	subscribed := make(chan error, 1)
	opts.SetOnConnectHandler(func(c paho.Client) {
		// A clean session forgets subscriptions: subscribe on every connect.
		filters := map[string]byte{}
		for _, t := range topics {
			filters[t] = 0
		}
		if len(filters) == 0 {
			subscribed <- nil
			return
		}
		tok := c.SubscribeMultiple(filters, m.receive)
		go func() {
			var err error
			if !tok.WaitTimeout(cfg.Timeout.D()) {
				err = fmt.Errorf("subscribe: no answer within %v", cfg.Timeout.D())
			} else if err = tok.Error(); err != nil {
				err = fmt.Errorf("subscribe: %w", err)
			}
			if err != nil {
				slog.Warn("mqtt: subscribe failed", "device", m.name, "err", err)
			}
			select { // the first subscription is waited for by New
			case subscribed <- err:
			default:
			}
		}()
	})
	opts.SetConnectionLostHandler(func(_ paho.Client, err error) {
		slog.Warn("mqtt: connection lost", "device", m.name, "err", err)
	})
	m.client = paho.NewClient(opts)
	if err := m.wait(ctx, m.client.Connect()); err != nil {
		m.client.Disconnect(0)
		return nil, fmt.Errorf("%s: connect: %w", m.name, err)
	}
	// Return subscribed, so that no message published after New is missed.
	t := time.NewTimer(cfg.Timeout.D())
	defer t.Stop()
	select {
	case err = <-subscribed:
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = fmt.Errorf("subscribe: no answer within %v", cfg.Timeout.D())
	}
	if err != nil {
		m.client.Disconnect(0)
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	return m, nil
}

// wait waits for a Paho token, for at most Timeout and while ctx lasts.
func (m *Device) wait(ctx context.Context, tok paho.Token) error {
	t := time.NewTimer(m.cfg.Timeout.D())
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no answer within %v", m.cfg.Timeout.D())
	}
}

func (m *Device) receive(_ paho.Client, msg paho.Message) {
	p := msg.Payload()
	if len(p) > maxPayload {
		p = p[:maxPayload+1] // kept too large: decoding reports it
	}
	s := mqttSample{payload: slices.Clone(p), at: m.now()}
	m.mu.Lock()
	m.samples[msg.Topic()] = s
	m.mu.Unlock()
}

// Name says which broker the device reads.
func (m *Device) Name() string { return m.name }

// Capabilities are the configured values and dispatch kinds.
func (m *Device) Capabilities() meter.Capability { return m.caps }

// Close disconnects. It is safe to call more than once.
func (m *Device) Close() error {
	m.mu.Lock()
	closed := m.closed
	m.closed = true
	m.mu.Unlock()
	if !closed {
		m.client.Disconnect(250)
	}
	return nil
}

// read returns the named value's latest number, scaled to W, Wh or ppm.
func (m *Device) read(ctx context.Context, what string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var v *mqttValue
	for _, x := range m.values {
		if x.what == what {
			v = x
		}
	}
	if v == nil {
		return 0, fmt.Errorf("%s: %s: %w", m.name, what, meter.ErrNotSupported)
	}
	m.mu.Lock()
	s, ok := m.samples[v.topic]
	closed := m.closed
	m.mu.Unlock()
	switch {
	case closed:
		return 0, meter.ErrDeviceClosed
	case !ok:
		return 0, fmt.Errorf("%s: %s: %w (no message on %s yet)", m.name, what, ErrNoValue, v.topic)
	}
	if age := m.now().Sub(s.at); age > v.maxAge {
		return 0, fmt.Errorf("%s: %s on %s: %w (%v old, max %v)", m.name, what, v.topic, ErrStale, age.Round(time.Second), v.maxAge)
	}
	n, err := payloadNumber(s.payload, v.path, v.exp10)
	if err != nil {
		return 0, fmt.Errorf("%s: %s on %s: %w", m.name, what, v.topic, err)
	}
	if v.invert {
		if n == -1<<63 {
			return 0, fmt.Errorf("%s: %s: %w", m.name, what, ErrBadNumber)
		}
		n = -n
	}
	return n, nil
}

func (m *Device) readCounter(ctx context.Context, what string) (uint64, error) {
	n, err := m.read(ctx, what)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("%s: %s: negative counter %d", m.name, what, n)
	}
	return uint64(n), nil
}

// GridPowerW is the grid power, + import.
func (m *Device) GridPowerW(ctx context.Context) (int64, error) { return m.read(ctx, "grid_power") }

// GridEnergyWh is the grid meter's import and export counters.
func (m *Device) GridEnergyWh(ctx context.Context) (importWh, exportWh uint64, err error) {
	if importWh, err = m.readCounter(ctx, "grid_import_energy"); err != nil {
		return 0, 0, err
	}
	if exportWh, err = m.readCounter(ctx, "grid_export_energy"); err != nil {
		return 0, 0, err
	}
	return importWh, exportWh, nil
}

// PVPowerW is the PV power.
func (m *Device) PVPowerW(ctx context.Context) (int64, error) { return m.read(ctx, "pv_power") }

// PVEnergyWh is the PV energy counter.
func (m *Device) PVEnergyWh(ctx context.Context) (uint64, error) {
	return m.readCounter(ctx, "pv_energy")
}

// BatteryPowerW is the battery power, + charging.
func (m *Device) BatteryPowerW(ctx context.Context) (int64, error) {
	return m.read(ctx, "battery_power")
}

// BatterySoCPpm is the battery's state of charge.
func (m *Device) BatterySoCPpm(ctx context.Context) (uint32, error) {
	n, err := m.read(ctx, "battery_soc")
	if err != nil {
		return 0, err
	}
	if n < 0 || n > meter.MaxSoCPpm {
		return 0, fmt.Errorf("%s: battery_soc: %w: %d ppm", m.name, meter.ErrBadSoC, n)
	}
	return uint32(n), nil
}

// ChargePowerW is the EV charger's power.
func (m *Device) ChargePowerW(ctx context.Context) (int64, error) {
	return m.read(ctx, "charge_power")
}

// Dispatch publishes the commands configured for d.Kind, in order, and
// waits for the broker to take each (QoS 1 by default).
func (m *Device) Dispatch(ctx context.Context, d meter.Dispatch) error {
	var cmds []Command
	switch dc := m.cfg.Dispatch; d.Kind {
	case meter.DispatchNone:
		cmds = dc.Resume
	case meter.DispatchBatteryDischarge:
		cmds = dc.BatteryDischarge
	case meter.DispatchBatteryCharge:
		cmds = dc.BatteryCharge
	case meter.DispatchChargerPause:
		cmds = dc.ChargerPause
	case meter.DispatchLoadCurtail:
		cmds = dc.LoadCurtail
	}
	if len(cmds) == 0 {
		return fmt.Errorf("%s: dispatch kind %d: %w", m.name, d.Kind, meter.ErrNotSupported)
	}
	left := int64(0)
	if !d.Until.IsZero() {
		left = max(0, int64((d.Until.Sub(m.now())+time.Second-1)/time.Second))
	}
	repl := strings.NewReplacer(
		"{power_w}", strconv.FormatInt(d.PowerW, 10),
		"{until_unix}", strconv.FormatInt(d.Until.Unix(), 10),
		"{duration_s}", strconv.FormatInt(left, 10),
	)
	// Paho keeps a publish made while reconnecting and sends it later: a
	// command must not arrive after its moment, so fail fast instead.
	if !m.client.IsConnectionOpen() {
		return fmt.Errorf("%s: dispatch: not connected to the broker", m.name)
	}
	for _, c := range cmds {
		qos := c.QoS
		if qos == 0 {
			qos = 1
		}
		if err := m.wait(ctx, m.client.Publish(c.Topic, qos, c.Retain, repl.Replace(c.Payload))); err != nil {
			return fmt.Errorf("%s: publish to %s: %w", m.name, c.Topic, err)
		}
	}
	slog.Info("mqtt: dispatch", "device", m.name, "kind", d.Kind, "power_w", d.PowerW, "until", d.Until)
	return nil
}

// redactURL drops a password from a broker URL, for names and logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparsable broker URL)"
		}
		return s
	}
	return u.Redacted()
}
