// Command gridmint is the one binary of a gridmint node: it creates a data
// directory (init), runs a node (run) or a whole local network (devnet),
// manages keys (wallet), sends transactions (tx), reads chain state (query)
// and audits flexibility settlements (mv). Every command has --help.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit status other than 1 out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the exit status. Tests call it
// directly, in process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "error:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// app holds what every command shares.
type app struct {
	home   string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func defaultHome() string {
	if h := os.Getenv("GRIDMINT_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".gridmint")
	}
	return ".gridmint"
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "gridmint",
		Short: "gridmint: a proof-of-flexibility node for homes with solar, batteries and EV chargers",
		Long: `gridmint runs a node of a proof-of-flexibility chain. Homes sign meter
readings, utilities ask for flexibility, the chain pays what the meters
prove was delivered and issues renewable energy certificates for verified
solar generation.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.home, "home", defaultHome(),
		"data directory (also $GRIDMINT_HOME)")
	root.AddCommand(
		newVersionCmd(a),
		newInitCmd(a),
		newWalletCmd(a),
		newDevnetCmd(a),
		newMVCmd(a),
		newWALCmd(a),
		newRunCmd(a),
		newStatusCmd(a),
		newTestnetCmd(a),
	)
	return root
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = " " + s.Value
					}
				}
			}
			fmt.Fprintf(a.stdout, "gridmint %s%s %s %s/%s\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
