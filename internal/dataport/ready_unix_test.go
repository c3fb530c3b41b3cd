//go:build unix

package dataport

import (
	"net"
	"testing"
)

func TestReadySeesAQueuedConnection(t *testing.T) {
	l, err := Listen(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if Ready(l) {
		t.Fatal("Ready on an empty accept queue")
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The handshake is complete once Dial returns on loopback, but the
	// listener's readiness is what is tested: poll until it shows, bounded.
	ok := false
	for range 1000 {
		if ok = Ready(l); ok {
			break
		}
	}
	if !ok {
		t.Fatal("Ready missed a queued connection")
	}
	a, err := l.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if Ready(l) {
		t.Fatal("Ready after the queue was drained")
	}
}
