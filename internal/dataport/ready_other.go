//go:build !unix

package dataport

import (
	"net"
	"time"
)

// Ready reports false where poll(2) is missing: callers then accept with
// a deadline, and cannot tell a stale queued connection from a new one.
func Ready(l *net.TCPListener) bool { return false }

// ReadyWithin reports false where poll(2) is missing.
func ReadyWithin(l *net.TCPListener, d time.Duration) bool { return false }
