// Command triage reads JSON-line requests on standard input and writes
// triage suggestions on standard output (see triage.RunCLI). The project's
// `yici triage` command calls the same function.
package main

import (
	"fmt"
	"os"

	"yici/router/triage"
)

func main() {
	t, err := triage.Default()
	if err != nil {
		fmt.Fprintln(os.Stderr, "triage:", err)
		os.Exit(1)
	}
	if err := triage.RunCLI(os.Stdin, os.Stdout, t); err != nil {
		fmt.Fprintln(os.Stderr, "triage:", err)
		os.Exit(1)
	}
}
