package dataport

import (
	mathrand "math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"
)

var loopback = netip.MustParseAddr("127.0.0.1")

func TestListenDrawsFromTheRange(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		l, err := Listen(loopback, 47400, 47599)
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p < 47400 || p > 47599 {
			t.Fatalf("port %d is outside 47400-47599", p)
		}
		seen[p] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 draws gave only %d distinct ports: not random", len(seen))
	}
}

func TestListenSkipsPortsInUse(t *testing.T) {
	// Hold a run of four ports ourselves, outside Linux's ephemeral range
	// (32768-60999) so that other tests' connections do not take them.
	var lo int
	var held []net.Listener
	for try := 0; try < 50 && held == nil; try++ {
		lo = 61000 + mathrand.IntN(4400)
		for p := lo; p < lo+4; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				for _, h := range held {
					h.Close()
				}
				held = nil
				break
			}
			held = append(held, l)
		}
	}
	if held == nil {
		t.Skip("found no four free ports in a row above 61000")
	}
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	if l, err := Listen(loopback, lo, lo+3); err == nil {
		l.Close()
		t.Fatal("a listener was opened in a range with every port taken")
	}
	held[2].Close() // one port free again: Listen must find it, wherever it starts
	l, err := Listen(loopback, lo, lo+3)
	if err != nil {
		t.Fatalf("with 3 of 4 ports taken: %v", err)
	}
	held[2] = l
	if p := l.Addr().(*net.TCPAddr).Port; p != lo+2 {
		t.Errorf("got port %d, want the free one, %d", p, lo+2)
	}
}

func TestListenDefaultAndInvalidRanges(t *testing.T) {
	l, err := Listen(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p := l.Addr().(*net.TCPAddr).Port; p < DefaultMin {
		t.Errorf("default range gave port %d", p)
	}
	l.Close()
	for _, r := range [][2]int{{2000, 1000}, {0, 70000}, {-1, 10}} {
		if l, err := Listen(loopback, r[0], r[1]); err == nil {
			l.Close()
			t.Errorf("range %d-%d was accepted", r[0], r[1])
		}
	}
}
