package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gridmint/gridmint/node"
)

func newWALCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "wal",
		Short: "Inspect and repair the consensus write-ahead log",
		Long: `The consensus write-ahead log (DIR/data/consensus.wal) records what this
validator signed and heard at the current height, so that after a crash
it re-sends its votes instead of signing new ones.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(newWALRepairCmd(a))
	return c
}

func newWALRepairCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "repair",
		Short: "Keep the intact start of a corrupt consensus WAL and set the file aside",
		Long: `Repair the consensus WAL of the node at --home after the node refused to
start with "wal: ... is corrupt at byte N".

A crash can only damage what was written after the last sync (a torn last
record, a run of zeros), and the node cuts that by itself. Damage before a
record that was synced is something else (a failing disk, a bad copy): the
records after it may be votes this validator already sent, so the node
stops rather than forget them. This command:

  - saves the whole file as DIR/data/consensus.wal.corrupt-<N>;
  - keeps the intact records before byte N and drops everything from N on;
  - says what it kept and dropped.

The node's double-sign guard (DIR/data/sign_state), which is kept apart
from the WAL, still refuses to sign anything at or below the last height,
round and step this validator signed, so the records dropped here cannot
make it sign twice. The command refuses to run if that guard is missing or
unreadable. A WAL that is not corrupt is left alone. Stop the node first.`,
		Example: "  gridmint wal repair --home ~/.gridmint",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := node.RepairWAL(nil, a.home)
			if err != nil {
				return err
			}
			if !r.Corrupt {
				fmt.Fprintf(a.stdout, "%s is not corrupt (%d intact records, %d bytes): nothing to repair\n", r.File, r.Kept, r.KeptBytes)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s was corrupt at byte %d (%s)\n", r.File, r.Offset, r.Reason)
			fmt.Fprintf(a.stdout, "kept:    %d records (%d bytes) before byte %d\n", r.Kept, r.KeptBytes, r.Offset)
			fmt.Fprintf(a.stdout, "dropped: %d bytes from byte %d on (%d intact records after the damage)\n", r.DroppedBytes, r.Offset, r.DroppedRecords)
			fmt.Fprintf(a.stdout, "saved:   the original file as %s\n", r.Backup)
			fmt.Fprintf(a.stdout, "guard:   %s still refuses to sign at or below the last signed step (%s)\n", r.GuardFile, r.Guard.String())
			return nil
		},
	}
}
