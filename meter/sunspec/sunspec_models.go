package sunspec

import (
	"github.com/gridmint/gridmint/meter"

	"errors"
	"fmt"
	"strings"
	"time"
)

// Per-model decoders: a model's data registers in, a value out. Offsets are
// those of the SunSpec information model (relative to the register after
// the model's L); every decoder checks lengths, so a short or vendor-mangled
// model gives an error, never a panic.

// Model 1, common block.
const (
	commonMn  = 0  // string, 16 registers
	commonMd  = 16 // string, 16
	commonOpt = 32 // string, 8
	commonVr  = 40 // string, 8
	commonSN  = 48 // string, 16
)

// Models 101-103 (int + scale factor).
const (
	invW    = 12 // int16
	invWSF  = 13
	invWH   = 22 // acc32
	invWHSF = 24
	invSt   = 36 // enum16
)

// Models 111-113 (float32).
const (
	invFW  = 20
	invFWH = 30
	invFSt = 46
)

// Inverter operating states (St) in which no AC power is produced, so that
// a "not implemented" W reads as 0 W rather than an error at night.
const (
	invStOff      = 1
	invStSleeping = 2
	invStStandby  = 8
)

// Models 201-204 (int + scale factor).
const (
	mtrW       = 16 // int16
	mtrWSF     = 20
	mtrTotWhEx = 36 // acc32
	mtrTotWhIm = 44 // acc32
	mtrTotWhSF = 52
)

// Models 211-214 (float32).
const (
	mtrFW       = 26
	mtrFTotWhEx = 58
	mtrFTotWhIm = 66
)

// Model 124, basic storage controls.
const (
	stoWChaMax    = 0  // uint16, W, WChaMax_SF
	stoStorCtlMod = 3  // bitfield16: bit 0 charge limit, bit 1 discharge limit
	stoChaState   = 6  // uint16, % of capacity, ChaState_SF
	stoOutWRte    = 10 // int16, % of max discharge rate, InOutWRte_SF
	stoInWRte     = 11 // int16, % of max charge rate, InOutWRte_SF
	stoRvrtTms    = 13 // uint16, s: the device reverts the rates after this
	stoChaGriSet  = 15 // enum16: 0 PV only, 1 grid charging allowed
	stoWChaMaxSF  = 16
	stoChaStateSF = 20
	stoInOutWRSF  = 23
	stoLen        = 24
)

// Model 160, multiple MPPT: a fixed block and N repeating modules.
const (
	mpptDCWSF     = 2
	mpptN         = 6
	mpptModules   = 8
	mpptModLen    = 20
	mpptModIDStr  = 1 // string, 8 registers
	mpptModDCW    = 11
	mpptMaxModule = 32
)

func isInverterModel(id uint16) bool {
	return id >= modelInverter1P && id <= modelInverter3P || id >= modelInverterF1P && id <= modelInverterF3P
}

func isMeterModel(id uint16) bool {
	return id >= modelMeter1P && id <= modelMeter3PDelta || id >= modelMeterF1P && id <= modelMeterF3PDelta
}

func isFloatModel(id uint16) bool {
	return id >= modelInverterF1P && id <= modelInverterF3P || id >= modelMeterF1P && id <= modelMeterF3PDelta
}

// Info is what the common model says about a device.
type Info struct {
	Manufacturer string
	Model        string
	Options      string
	Version      string
	Serial       string
	Base         uint16   // register of the SunS marker
	Models       []uint16 // model IDs in map order
}

func (i Info) String() string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s (fw %s, models %v)", i.Manufacturer, i.Model, i.Serial, i.Version, i.Models))
}

func decodeCommon(d []uint16) Info {
	return Info{
		Manufacturer: decodeString(d, commonMn, 16),
		Model:        decodeString(d, commonMd, 16),
		Options:      decodeString(d, commonOpt, 8),
		Version:      decodeString(d, commonVr, 8),
		Serial:       decodeString(d, commonSN, 16),
	}
}

// inverterPowerW is the inverter's AC power. A "not implemented" W while
// the inverter is off, sleeping or in standby is 0 W.
func inverterPowerW(id uint16, d []uint16) (int64, error) {
	var w int64
	var err error
	st := invSt
	if isFloatModel(id) {
		w, err = pointFloat32(d, invFW, 0)
		st = invFSt
	} else {
		w, err = scaled(d, invW, pointInt16, invWSF, 0)
	}
	if errors.Is(err, ErrNotImplemented) {
		if s, serr := pointUint16(d, st); serr == nil && (s == invStOff || s == invStSleeping || s == invStStandby) {
			return 0, nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("inverter model %d W: %w", id, err)
	}
	return w, nil
}

// inverterEnergyWh is the inverter's lifetime AC energy.
func inverterEnergyWh(id uint16, d []uint16) (uint64, error) {
	var wh int64
	var err error
	if isFloatModel(id) {
		wh, err = pointFloat32(d, invFWH, 0)
	} else {
		wh, err = scaled(d, invWH, pointAcc32, invWHSF, 0)
	}
	if err != nil {
		return 0, fmt.Errorf("inverter model %d WH: %w", id, err)
	}
	if wh < 0 {
		return 0, fmt.Errorf("inverter model %d WH: negative counter %d", id, wh)
	}
	return uint64(wh), nil
}

// meterPowerW is the total real power at the meter, + import.
func meterPowerW(id uint16, d []uint16) (int64, error) {
	var w int64
	var err error
	if isFloatModel(id) {
		w, err = pointFloat32(d, mtrFW, 0)
	} else {
		w, err = scaled(d, mtrW, pointInt16, mtrWSF, 0)
	}
	if err != nil {
		return 0, fmt.Errorf("meter model %d W: %w", id, err)
	}
	return w, nil
}

// meterEnergyWh is the meter's lifetime import and export counters.
func meterEnergyWh(id uint16, d []uint16) (importWh, exportWh uint64, err error) {
	var imp, exp int64
	if isFloatModel(id) {
		if imp, err = pointFloat32(d, mtrFTotWhIm, 0); err == nil {
			exp, err = pointFloat32(d, mtrFTotWhEx, 0)
		}
	} else {
		if imp, err = scaled(d, mtrTotWhIm, pointAcc32, mtrTotWhSF, 0); err == nil {
			exp, err = scaled(d, mtrTotWhEx, pointAcc32, mtrTotWhSF, 0)
		}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("meter model %d TotWh: %w", id, err)
	}
	if imp < 0 || exp < 0 {
		return 0, 0, fmt.Errorf("meter model %d TotWh: negative counter", id)
	}
	return uint64(imp), uint64(exp), nil
}

// storageSoCPpm is the battery's state of charge (ChaState, % → ppm).
func storageSoCPpm(d []uint16) (uint32, error) {
	ppm, err := scaled(d, stoChaState, pointUint16, stoChaStateSF, 4)
	if err != nil {
		return 0, fmt.Errorf("storage model ChaState: %w", err)
	}
	if ppm < 0 || ppm > meter.MaxSoCPpm {
		return 0, fmt.Errorf("storage model ChaState: %w: %d ppm", meter.ErrBadSoC, ppm)
	}
	return uint32(ppm), nil
}

// mpptBatteryPowerW is the battery power (+ charging) from a model 160
// whose modules include the storage ports as Fronius GEN24 lays them out:
// a module labelled "StCha ..." carries the charging DC power and one
// labelled "StDisCha ..." the discharging power. ErrNotSupported when the
// model has no such module.
func mpptBatteryPowerW(d []uint16) (int64, error) {
	n, err := pointUint16(d, mpptN)
	if err != nil {
		return 0, fmt.Errorf("mppt model N: %w", err)
	}
	sf, err := pointSF(d, mpptDCWSF)
	if err != nil {
		return 0, fmt.Errorf("mppt model DCW_SF: %w", err)
	}
	found := false
	var powerW int64
	for i := 0; i < int(n) && i < mpptMaxModule; i++ {
		base := mpptModules + i*mpptModLen
		if base+mpptModLen > len(d) {
			break
		}
		label := strings.ToLower(decodeString(d, base+mpptModIDStr, 8))
		var sign int64
		switch {
		case strings.HasPrefix(label, "stdischa"):
			sign = -1
		case strings.HasPrefix(label, "stcha"):
			sign = 1
		default:
			continue
		}
		w, err := pointUint16(d, base+mpptModDCW)
		if err != nil {
			return 0, fmt.Errorf("mppt module %q DCW: %w", label, err)
		}
		w, err = scaleInt(w, sf)
		if err != nil {
			return 0, err
		}
		powerW += sign * w
		found = true
	}
	if !found {
		return 0, meter.ErrNotSupported
	}
	return powerW, nil
}

// regWrite is one block of registers to write, at an offset into a model.
type regWrite struct {
	Off  int
	Vals []uint16
}

// storageDispatch turns a dispatch into model 124 writes, in the order they
// must be sent: rates and revert timer first, the mode register that
// activates them last. The device reverts to its own control after
// InOutWRte_RvrtTms seconds, which is set to the time left until d.Until:
// a node that dies mid-window cannot leave the battery forced.
//
// Forcing is done with both limits active (StorCtl_Mod = 3): the allowed
// battery power is the window [-OutWRte, +InWRte] of the rated power, so
// InWRte = -x, OutWRte = x forces a discharge at x % and InWRte = x,
// OutWRte = -x a charge at x % (the convention of Fronius GEN24 and SMA).
func storageDispatch(d []uint16, disp meter.Dispatch, now time.Time, gridCharge uint16) ([]regWrite, error) {
	if len(d) < stoLen {
		return nil, fmt.Errorf("%w: storage model of length %d", ErrBadModelMap, len(d))
	}
	sf, err := pointSF(d, stoInOutWRSF)
	if err != nil {
		return nil, fmt.Errorf("storage InOutWRte_SF: %w", err)
	}
	full, err := scaleInt(100, -sf) // 100 % in register units
	if err != nil || full > 32767 || full < 1 {
		return nil, fmt.Errorf("storage InOutWRte_SF %d: 100 %% does not fit the register", sf)
	}
	if disp.Kind == meter.DispatchNone {
		return []regWrite{
			{stoOutWRte, []uint16{uint16(full), uint16(full)}},
			{stoRvrtTms, []uint16{0}},
			{stoChaGriSet, []uint16{gridCharge}},
			{stoStorCtlMod, []uint16{0}},
		}, nil
	}
	if disp.Kind != meter.DispatchBatteryDischarge && disp.Kind != meter.DispatchBatteryCharge {
		return nil, fmt.Errorf("storage: dispatch kind %d: %w", disp.Kind, meter.ErrNotSupported)
	}
	if disp.PowerW <= 0 {
		return nil, fmt.Errorf("storage: dispatch power %d W must be positive", disp.PowerW)
	}
	maxW, err := scaled(d, stoWChaMax, pointUint16, stoWChaMaxSF, 0)
	if err != nil {
		return nil, fmt.Errorf("storage WChaMax: %w", err)
	}
	if maxW <= 0 || maxW > 1<<40 {
		return nil, fmt.Errorf("storage WChaMax is %d W", maxW)
	}
	left := disp.Until.Sub(now)
	if left <= 0 {
		return nil, fmt.Errorf("storage: dispatch until %s is not in the future", disp.Until.UTC().Format(time.RFC3339))
	}
	revertS := (left + time.Second - 1) / time.Second
	if revertS > 0xFFFE {
		revertS = 0xFFFE
	}
	// rate = PowerW / maxW in % with the register's scale, floored, at most 100 %.
	rate := full
	if disp.PowerW < maxW {
		rate = disp.PowerW * full / maxW // PowerW < maxW <= 65535 * 10^10, full <= 32767: no overflow
		if rate == 0 {
			rate = 1
		}
	}
	in, out := uint16(rate), uint16(-rate)
	grid := gridCharge
	if disp.Kind == meter.DispatchBatteryDischarge {
		in, out = uint16(-rate), uint16(rate)
	} else {
		grid = 1
	}
	return []regWrite{
		{stoOutWRte, []uint16{out, in}},
		{stoRvrtTms, []uint16{uint16(revertS)}},
		{stoChaGriSet, []uint16{grid}},
		{stoStorCtlMod, []uint16{3}},
	}, nil
}
