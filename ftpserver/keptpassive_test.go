package ftpserver_test

import (
	"io"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// retrOver downloads name over a data connection to addr made before RETR.
func retrOver(t *testing.T, c *ftpservertest.Client, addr, name string) string {
	t.Helper()
	d := c.DialData(addr)
	c.Do(150, "RETR %s", name)
	b, err := io.ReadAll(d)
	d.Close()
	if err != nil {
		t.Fatalf("RETR %s: %v", name, err)
	}
	c.Expect(226)
	return string(b)
}

// A session's next EPSV reuses the listener of its last passive transfer;
// a connection that waited on it from before that EPSV is closed, not
// taken for the data connection.
func TestPassiveListenerKeptAndDrained(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"a.txt": "first file", "b.txt": "second file"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	addr := c.EPSVAddr()
	if got := retrOver(t, c, addr, "a.txt"); got != "first file" {
		t.Fatalf("first RETR = %q", got)
	}
	stale := c.DialData(addr) // queued on the kept listener, before the next EPSV
	again := c.EPSVAddr()
	if again != addr {
		t.Fatalf("second EPSV announced %s, want the kept %s", again, addr)
	}
	stale.SetReadDeadline(time.Now().Add(ftpservertest.Timeout))
	if b, err := io.ReadAll(stale); len(b) != 0 {
		t.Fatalf("stale connection got %q (%v), want it closed", b, err)
	}
	if got := retrOver(t, c, again, "b.txt"); got != "second file" {
		t.Fatalf("second RETR = %q", got)
	}
	c.Do(200, "NOOP")
	c.Do(221, "QUIT")
}

// With foreign data connections allowed, knowing a port would let any
// host take the next transfer: each EPSV opens a fresh listener.
func TestPassiveListenerNotKeptWhenForeignAllowed(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{AllowForeignPassive: true, PassivePortMin: 41000, PassivePortMax: 41999},
		map[string]string{"a.txt": "x"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	retrOver(t, c, c.EPSVAddr(), "a.txt")
	c.Do(257, "PWD")
	if st := srv.Stats(); st.PassiveInUse != 0 {
		t.Fatalf("after the transfer: Stats() = %+v, want no listener kept", st)
	}
}

// Kept listeners hold at most a quarter of the passive range.
func TestPassiveListenersKeptWithinQuarterOfRange(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{PassivePortMin: 42000, PassivePortMax: 42007},
		map[string]string{"a.txt": "x"})
	for range 4 {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		retrOver(t, c, c.EPSVAddr(), "a.txt")
		c.Do(257, "PWD")
	}
	if st := srv.Stats(); st.PassiveInUse != 2 {
		t.Fatalf("after 4 sessions' transfers: Stats() = %+v, want 2 kept (8 ports / 4)", st)
	}
}
