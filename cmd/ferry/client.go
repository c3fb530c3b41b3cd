package main

import (
	"fmt"
	"io"
)

// clientMain runs a client subcommand and returns its exit code.
// The client is not built yet (issue 4).
func clientMain(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "ferry %s: the FTP client is not available in this build yet\n", cmd)
	return 2
}
