package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

// passwordSource reads a password from --password-file or, failing that,
// from a prompt on the terminal without echo. A password is never taken from
// a plain flag: it would sit in the shell history and in ps output.
type passwordSource struct {
	file string
}

var errNoTerminal = errors.New("no terminal to ask for a password on: use --password-file FILE")

// read returns the password. With confirm, a prompted password is asked
// twice. From a file, the first line is the password (without its line end).
func (p passwordSource) read(a *app, prompt string, confirm bool) ([]byte, error) {
	if p.file != "" {
		data, err := os.ReadFile(p.file)
		if err != nil {
			return nil, fmt.Errorf("password file: %w", err)
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return nil, fmt.Errorf("password file %s: the first line is empty", p.file)
		}
		return line, nil
	}
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errNoTerminal
	}
	pw, err := promptOnce(f, a, prompt)
	if err != nil {
		return nil, err
	}
	if confirm {
		again, err := promptOnce(f, a, "Repeat the password: ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the passwords do not match")
		}
	}
	if len(pw) == 0 {
		return nil, errors.New("empty password")
	}
	return pw, nil
}

func promptOnce(f *os.File, a *app, prompt string) ([]byte, error) {
	fmt.Fprint(a.stderr, prompt)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	return pw, nil
}
