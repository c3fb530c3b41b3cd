package ftpproxy

import (
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// runProxy runs a proxy in front of backend with the data port range
// lo-hi and returns it, its address, and a function that shuts it down
// (waiting for its sessions to end; also run at cleanup).
func runProxy(t *testing.T, backend string, lo, hi int) (*Proxy, string, func()) {
	t.Helper()
	p, addr, _, stop := serveProxy(t, "", Options{Backend: backend, Logger: slog.New(slog.DiscardHandler), DataPortMin: lo, DataPortMax: hi})
	return p, addr, stop
}

// dataRange returns a range of n ports above Linux's ephemeral range
// (32768-60999), so that other tests' connections do not take them.
func dataRange(n int) (int, int) {
	lo := 61000 + mathrand.IntN(4000)
	return lo, lo + n - 1
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// retrAt downloads f.bin over the data address the client announced.
func retrAt(t *testing.T, c *ftpservertest.Client, addr string) []byte {
	t.Helper()
	d := c.DialData(addr)
	defer d.Close()
	c.Do(ftp.CodeFileStatusOK, "RETR f.bin")
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("read data: %v", err)
	}
	c.Expect(ftp.CodeClosingData)
	return b
}

// firstTransfer logs a client in through the proxy at addr and downloads
// back's f.bin once over EPSV; it returns the client and the data address
// the proxy announced.
func firstTransfer(t *testing.T, back *ferryBackend, addr string) (*ftpservertest.Client, string) {
	t.Helper()
	c := ftpservertest.Dial(t, addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")
	first := c.EPSVAddr()
	back.check(t, retrAt(t, c, first))
	return c, first
}

func TestPassiveListenerKeptForTheNextTransfer(t *testing.T) {
	back := startFerry(t, "127.0.0.1:0", nil)
	lo, hi := dataRange(400)
	p, addr, stop := runProxy(t, back.Addr, lo, hi)
	c, first := firstTransfer(t, back, addr)
	if n := p.Stats().KeptListeners; n != 1 {
		t.Fatalf("after a transfer: %d kept listeners, want 1", n)
	}
	// PASV and EPSV both reuse it; the transfers are whole.
	second := c.EPSVAddr()
	if portOf(t, second) != portOf(t, first) {
		t.Errorf("second EPSV announced port %d, want the kept %d", portOf(t, second), portOf(t, first))
	}
	if n := p.Stats().KeptListeners; n != 0 {
		t.Errorf("while in use: %d kept listeners, want 0", n)
	}
	back.check(t, retrAt(t, c, second))
	msg := c.Do(ftp.CodePassive, "PASV")
	ap, err := ftp.ParsePASVReply(msg)
	if err != nil {
		t.Fatal(err)
	}
	if int(ap.Port()) != portOf(t, first) {
		t.Errorf("PASV announced port %d, want the kept %d", ap.Port(), portOf(t, first))
	}
	back.check(t, retrAt(t, c, ap.String()))

	// The session's end closes it.
	c.Do(221, "QUIT")
	stop()
	if n := p.Stats().KeptListeners; n != 0 {
		t.Errorf("after the session: %d kept listeners, want 0", n)
	}
	if d, err := net.DialTimeout("tcp", first, time.Second); err == nil {
		d.Close()
		t.Errorf("the kept port %s still accepts after the session ended", first)
	}
}

func TestStaleConnectionOnAKeptListenerIsClosed(t *testing.T) {
	back := startFerry(t, "127.0.0.1:0", nil)
	lo, hi := dataRange(400)
	_, addr, _ := runProxy(t, back.Addr, lo, hi)
	c, first := firstTransfer(t, back, addr)

	// A connection to the kept port before the next EPSV announces it: it
	// waits in the queue and must not become the next transfer's data
	// connection.
	stale := c.DialData(first)
	next := c.EPSVAddr()
	if next != first {
		t.Fatalf("EPSV announced %s, want the kept %s", next, first)
	}
	stale.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := stale.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("stale connection: read %d bytes, err %v; want it closed", n, err)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("stale connection was left open")
	}
	back.check(t, retrAt(t, c, next))
}

func TestKeptListenersHoldAtMostAQuarterOfTheRange(t *testing.T) {
	back := startFerry(t, "127.0.0.1:0", nil)
	for _, tc := range []struct{ ports, sessions, kept int }{
		{ports: 3, sessions: 1, kept: 0}, // a quarter of 3 is 0
		{ports: 8, sessions: 3, kept: 2},
	} {
		lo, hi := dataRange(tc.ports)
		p, addr, stop := runProxy(t, back.Addr, lo, hi)
		for range tc.sessions {
			firstTransfer(t, back, addr)
		}
		if n := p.Stats().KeptListeners; n != tc.kept {
			t.Errorf("%d ports, %d sessions: %d kept listeners, want %d", tc.ports, tc.sessions, n, tc.kept)
		}
		stop()
	}
}
