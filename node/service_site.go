package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/site"
	"github.com/gridmint/gridmint/wallet"
)

// The site agent in `gridmint run`: with [meter] enabled, the node opens
// the [[device]] adapters, and a site.Agent (its journal in
// DIR/data/site) polls them every poll_seconds, signs one reading per
// closed interval with the site key and hands it to this node
// (P2PNet.SubmitLocal: the reading pool, then gossip). The agent starts
// with the node's loop and stops before it (Service.Run), so a reading it
// signed is in its journal's outbox until the node has admitted it, and a
// kill at any instant loses none and signs none twice (package site).

// SiteAgentDir is the agent's journal under a data directory.
func SiteAgentDir(home string) string { return filepath.Join(home, "data", "site") }

// siteSink hands the agent's readings to the node.
type siteSink struct{ net *P2PNet }

func (s siteSink) SubmitReading(_ context.Context, r *meter.Reading) error {
	_, err := s.net.SubmitLocal(TopicReading, r.Encode())
	return err
}

// openSiteAgent opens the devices and the agent of a node whose config
// enables [meter]; nil, nil when it does not.
func (s *Service) openSiteAgent(home string, g *ledger.Genesis, key *wallet.PrivateKey) error {
	if !s.Config.Meter.Enabled {
		return nil
	}
	if key == nil {
		return fmt.Errorf("%w: meter.enabled, but no site key was given (meter.site_key_file)", ErrConfig)
	}
	specs, err := s.Config.DeviceSpecs()
	if err != nil {
		return err
	}
	if len(specs) == 0 {
		return fmt.Errorf("%w: meter.enabled, but config.toml has no [[device]]", ErrConfig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ss := make([]site.DeviceSpec, len(specs))
	for i, sp := range specs {
		ss[i] = site.DeviceSpec(sp)
	}
	devs, err := site.OpenDevices(ctx, ss)
	if err != nil {
		return err
	}
	a, err := site.Open(ctx, site.Config{ChainID: g.ChainID, Key: key, Genesis: time.Unix(g.GenesisTime, 0),
		Interval: time.Duration(g.Params.IntervalSeconds) * time.Second, Devices: devs, Dir: SiteAgentDir(home),
		Sink: siteSink{s.Net}, Logger: s.Log.With("sys", "site")})
	if err != nil {
		for _, d := range devs {
			d.Close()
		}
		return err
	}
	s.agent, s.devices = a, devs
	return nil
}

// runSiteAgent polls until ctx ends; the returned channel closes when it
// has stopped.
func (s *Service) runSiteAgent(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if s.agent == nil {
		close(done)
		return done
	}
	s.Log.Info("site agent started", "site", s.agent.Site().Hex(), "devices", len(s.devices))
	go func() {
		defer close(done)
		if err := s.agent.Run(ctx, time.Duration(s.Config.Meter.PollSeconds)*time.Second); err != nil && !errors.Is(err, context.Canceled) {
			s.Log.Error("site agent stopped", "err", err)
		}
	}()
	return done
}

// closeSiteAgent closes the journal and the devices.
func (s *Service) closeSiteAgent() error {
	var errs []error
	if s.agent != nil {
		errs = append(errs, s.agent.Close())
		s.agent = nil
	}
	for _, d := range s.devices {
		errs = append(errs, d.Close())
	}
	s.devices = nil
	return errors.Join(errs...)
}
