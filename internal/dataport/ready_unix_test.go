//go:build unix

package dataport

import (
	"net"
	"testing"
	"time"
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

func TestDrainClosesStaleConnectionsAndGivesUpOnAnEndlessQueue(t *testing.T) {
	for _, n := range []int{0, 3, MaxStale + 1} {
		l, err := Listen(loopback, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
		for range 1000 { // queued once Dial returns on loopback; bounded wait for the listener to show it
			if n == 0 || Ready(l) {
				break
			}
		}
		closed := 0
		ok := Drain(l, func(net.Conn) { closed++ })
		if want := n <= MaxStale; ok != want {
			t.Errorf("%d queued: Drain = %v, want %v", n, ok, want)
		}
		if want := min(n, MaxStale); closed != want {
			t.Errorf("%d queued: %d closed as stale, want %d", n, closed, want)
		}
		if ok && Ready(l) {
			t.Errorf("%d queued: a connection still waits after Drain", n)
		}
		l.Close()
	}
}

func TestReadyWithinWaitsForAConnectionOnItsWay(t *testing.T) {
	l, err := Listen(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	if ReadyWithin(l, 20*time.Millisecond) {
		t.Fatal("ReadyWithin on an empty accept queue")
	}
	if waited := time.Since(start); waited < 15*time.Millisecond {
		t.Fatalf("ReadyWithin gave up after %v, not the 20ms asked", waited)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	if !ReadyWithin(l, 10*time.Second) {
		t.Fatal("ReadyWithin missed a connection that arrived while it waited")
	}
}
