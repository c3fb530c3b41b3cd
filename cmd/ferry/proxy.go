package main

import (
	"errors"
	"io"
)

// proxyMain runs the FTP proxy. It is not built yet (issue 5).
func proxyMain(args []string, stderr io.Writer) error {
	return errors.New("ferry proxy: the FTP proxy is not available in this build yet")
}
