package ledger

import (
	"fmt"
	"slices"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

func validZone(z string) bool {
	if len(z) == 0 || len(z) > maxZoneLen {
		return false
	}
	for i := 0; i < len(z); i++ {
		c := z[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validDevices checks a device list: at least one device, within the
// limit, every nameplate positive, storage only on batteries (and required
// there).
func (x *executor) validDevices(devs []Device) error {
	if len(devs) == 0 || len(devs) > int(x.params.MaxDevicesPerSite) {
		return fmt.Errorf("%w: %d devices (1..%d)", ErrBadDevices, len(devs), x.params.MaxDevicesPerSite)
	}
	for i, d := range devs {
		if d.NameplateW == 0 {
			return fmt.Errorf("%w: device %d (%s) has no nameplate power", ErrBadDevices, i, d.Kind)
		}
		if (d.Kind == DeviceBattery) != (d.StorageWh > 0) {
			return fmt.Errorf("%w: device %d (%s): storage is for batteries only, and batteries need it", ErrBadDevices, i, d.Kind)
		}
	}
	return nil
}

func (x *executor) registerSite(v *view, from wallet.Address, p *RegisterSite, rc *Receipt) error {
	pub, err := wallet.ParsePublicKey(p.SiteKey)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSiteKey, err)
	}
	if err := x.l.sigs.c.VerifyTyped(pub, SitePoPTag, x.l.genesis.ChainID, SitePoPBody(from), p.PoP); err != nil {
		return fmt.Errorf("%w: %v", ErrBadPoP, err)
	}
	if !validZone(p.Zone) {
		return fmt.Errorf("%w: %q", ErrBadZone, p.Zone)
	}
	if err := x.validDevices(p.Devices); err != nil {
		return err
	}
	id := pub.Address()
	if _, ok, err := v.get(siteKey(id)); err != nil {
		return fmt.Errorf("%w: %v", errInternal, err)
	} else if ok {
		return fmt.Errorf("%w: %s", ErrSiteExists, id)
	}
	if err := x.debit(v, from, x.params.SiteDeposit); err != nil {
		return fmt.Errorf("site deposit: %w", err)
	}
	s := Site{
		Owner: from, SiteKey: slices.Clone(p.SiteKey), Zone: p.Zone, LatE6: p.LatE6, LonE6: p.LonE6,
		Devices: slices.Clone(p.Devices), Deposit: x.params.SiteDeposit, RegisteredHeight: x.header.Height,
		RegisteredInterval: uint64(max(x.currentInterval(), 0)),
	}
	v.store(siteKey(id), &s)
	rc.sites = append(rc.sites, id)
	return nil
}

func (x *executor) updateSite(v *view, from wallet.Address, p *UpdateSite, rc *Receipt) error {
	var s Site
	ok, err := v.load(siteKey(p.Site), &s)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownSite, p.Site)
	}
	if s.Owner != from {
		return fmt.Errorf("%w: %s is owned by %s", ErrNotSiteOwner, p.Site, s.Owner)
	}
	if !validZone(p.Zone) {
		return fmt.Errorf("%w: %q", ErrBadZone, p.Zone)
	}
	if err := x.validDevices(p.Devices); err != nil {
		return err
	}
	s.Zone, s.LatE6, s.LonE6, s.Devices = p.Zone, p.LatE6, p.LonE6, slices.Clone(p.Devices)
	v.store(siteKey(p.Site), &s)
	rc.sites = append(rc.sites, p.Site)
	return nil
}

// capabilities turns a site's device list into what the plausibility rules
// need.
func (s *Site) capabilities() meter.Capabilities {
	pvW, _ := s.capacity(DevicePV)
	batW, batWh := s.capacity(DeviceBattery)
	evW, _ := s.capacity(DeviceEVCharger)
	return meter.Capabilities{PVW: pvW, BatteryW: batW, BatteryWh: batWh, ChargerW: evW,
		LatE6: int64(s.LatE6), LonE6: int64(s.LonE6)}
}
