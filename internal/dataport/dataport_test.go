package dataport

import (
	"net"
	"net/netip"
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
	const lo, hi = 47310, 47313
	var held []*net.TCPListener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range hi - lo + 1 { // take the whole range, one port at a time
		l, err := Listen(loopback, lo, hi)
		if err != nil {
			t.Fatalf("with %d of 4 ports taken: %v", len(held), err)
		}
		held = append(held, l)
	}
	if _, err := Listen(loopback, lo, hi); err == nil {
		t.Error("a listener was opened in a range with every port taken")
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
