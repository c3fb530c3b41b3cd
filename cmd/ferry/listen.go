package main

import (
	"errors"
	"fmt"
	"io/fs"
)

// listenError explains a failure to listen, including how to fix the
// common case of a privileged port.
func listenError(addr string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("cannot listen on %s: %w (ports below 1024 need root or CAP_NET_BIND_SERVICE: "+
			"run `setcap cap_net_bind_service=+ep $(which ferry)`, or listen on a port >= 1024 such as --listen :2121)", addr, err)
	}
	return fmt.Errorf("cannot listen on %s: %w", addr, err)
}
