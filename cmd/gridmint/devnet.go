package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/node"
)

func newDevnetCmd(a *app) *cobra.Command {
	cfg := node.DevnetConfig{}
	var quiet, fsync bool
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a whole local network in one process (validators, simulated homes, a utility)",
		Long: `devnet runs a gridmint network on this machine with no set-up: validators
as libp2p hosts on 127.0.0.1 (gossipsub, block sync: the network a home
joins, nothing leaves the loopback) on a clock sped up --speed times,
simulated homes (PV, batteries, EV chargers,
flexible loads; some comply with dispatches, some do not, one games its
baseline) that sign a reading every 15 minutes, and a utility that posts
flexibility requests each day. Blocks settle the requests, certify solar
generation as RECs and pay rewards. It logs what happens and prints a
summary when it stops (at --blocks or --days, or on Ctrl-C).

With --deterministic the network is in-process instead, in virtual time as
fast as it can:
the same --seed gives the same chain, byte for byte. --home DIR keeps the
nodes' data directories (validator-0, ...) for 'gridmint mv --home
DIR/validator-0 --all' (which may run while the devnet does). Run again
with --home DIR and the options it was made with to go on from where it
stopped (cleanly or not): the homes continue their reading chains and
--days counts from there. A home made with other options is refused, and
nothing in it is changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("home") {
				cfg.Dir = a.home
			}
			// A deterministic devnet on a temporary directory (deleted at
			// exit, never resumed) skips fsync unless --fsync.
			cfg.UnsafeNoSync = cfg.Deterministic && cfg.Dir == "" && !fsync
			cfg.Log = a.stdout
			if quiet {
				cfg.Log = io.Discard
			}
			var bar *progressbar.ProgressBar
			if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && (cfg.Blocks > 0 || cfg.Days > 0) {
				bar = progressbar.NewOptions(1000, progressbar.OptionSetWriter(a.stderr),
					progressbar.OptionSetDescription("devnet"), progressbar.OptionThrottle(200*time.Millisecond),
					progressbar.OptionClearOnFinish())
				cfg.Progress = func(f float64) { _ = bar.Set(int(f * 1000)) }
			}
			d, err := node.NewDevnet(cfg)
			if err != nil {
				return err
			}
			defer d.Close()
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sig)
			go func() {
				if _, ok := <-sig; ok {
					d.Interrupt()
				}
			}()
			fmt.Fprintf(a.stderr, "devnet: %d validators, %d homes, seed %d, data in %s\n", cfg.Validators, cfg.Homes, cfg.Seed, d.Dir())
			start := time.Now()
			s, err := d.Run()
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return err
			}
			printDevnetSummary(a.stdout, s, time.Since(start))
			if !s.RootsAgree {
				return fmt.Errorf("validators disagree on the state root")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Validators, "validators", 4, "number of validators")
	f.IntVar(&cfg.Homes, "homes", 24, "number of simulated homes")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the homes, keys and network")
	f.Float64Var(&cfg.Speed, "speed", 600, "simulated seconds per wall-clock second (without --deterministic)")
	f.Uint64Var(&cfg.Blocks, "blocks", 0, "stop at this height")
	f.Float64Var(&cfg.Days, "days", 0, "stop after this many simulated days")
	f.BoolVar(&cfg.Deterministic, "deterministic", false, "virtual time, as fast as possible: the same seed gives the same chain")
	f.Int64Var(&cfg.BlockIntervalMs, "block-ms", 30_000, "pause between blocks, in (simulated) milliseconds")
	f.BoolVar(&quiet, "quiet", false, "no live log, only the summary")
	f.BoolVar(&fsync, "fsync", false, "fsync even with --deterministic and no --home (whose temporary data is deleted at exit, so by default it skips fsync)")
	return cmd
}

func printDevnetSummary(w io.Writer, s *node.DevnetStats, wall time.Duration) {
	fmt.Fprintf(w, "\nfinal height %d, state root %x (all validators agree: %v)\n", s.Height, s.StateRoot, s.RootsAgree)
	fmt.Fprintf(w, "%.2f simulated days in %s (%.3f days per second)\n\n", s.SimulatedDays, wall.Round(time.Millisecond),
		s.SimulatedDays/wall.Seconds())
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "supply\t%s (genesis %s + emission %s)\n", ledger.FormatFLX(s.Supply.Total()),
		ledger.FormatFLX(s.Supply.Genesis), ledger.FormatFLX(s.Supply.Emitted))
	roles := make([]string, 0, len(s.SupplySplit))
	for r := range s.SupplySplit {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	var held uint64
	for _, r := range roles {
		fmt.Fprintf(tw, "  held by %s\t%s\n", r, ledger.FormatFLX(s.SupplySplit[r]))
		held += s.SupplySplit[r]
	}
	fmt.Fprintf(tw, "  (sum of the above\t%s)\n", ledger.FormatFLX(held))
	var signed, accepted, pending uint64
	var lost int64
	rejected := map[ledger.RejectReason]uint64{}
	for k := range s.ReadingsSigned {
		signed += s.ReadingsSigned[k]
		accepted += s.ReadingsAccepted[k]
		pending += s.ReadingsPending[k]
		lost += s.ReadingsUnaccounted[k]
		for r, c := range s.ReadingsRejected[k] {
			rejected[r] += c
		}
	}
	var rej uint64
	var reasons []string
	for r, c := range rejected {
		rej += c
		reasons = append(reasons, fmt.Sprintf("%s: %d", r, c))
	}
	sort.Strings(reasons)
	fmt.Fprintf(tw, "readings\t%d signed = %d accepted + %d rejected + %d waiting in the pool + %d in flight\n", signed, accepted, rej, pending, lost)
	if len(reasons) > 0 {
		fmt.Fprintf(tw, "  rejected\t%s\n", strings.Join(reasons, "; "))
	}
	fmt.Fprintf(tw, "energy metered\timport %d Wh, export %d Wh, PV %d Wh\n", s.EnergyImportWh, s.EnergyExportWh, s.EnergyPVWh)
	fmt.Fprintf(tw, "flexibility requested\t%d requests, %d Wh\n", s.Requests, s.RequestedWh)
	fmt.Fprintf(tw, "  settled\t%d requests, %d commitments\n", s.Settled, s.Commitments)
	fmt.Fprintf(tw, "  delivered (chain's baseline)\t%d Wh\n", s.DeliveredWh)
	fmt.Fprintf(tw, "  truly delivered (simulator)\t%d Wh\n", s.TrueDeliveredWh)
	fmt.Fprintf(tw, "  paid out\t%s (bonds slashed %s)\n", ledger.FormatFLX(s.PaidBaseUnits), ledger.FormatFLX(s.SlashedBaseUnits))
	fmt.Fprintf(tw, "  gaming homes\t%d commitments settled: paid for %d Wh, truly delivered %d Wh, %d paid above the truth\n",
		s.GamingCommitments, s.GamingPaidWh, s.GamingTrueWh, s.GamingOverpaid)
	fmt.Fprintf(tw, "RECs issued\t%s\n", ledger.FormatREC(s.RECsWh))
	var bad uint64
	for _, c := range s.BadMessages {
		bad += c
	}
	fmt.Fprintf(tw, "bad input refused\t%d messages\n", bad)
	tw.Flush()
}
