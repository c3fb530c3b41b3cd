package ftpserver_test

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// findSession returns the snapshot of the session of user, failing the test
// when there is none.
func findSession(t *testing.T, srv *ftpservertest.Server, user string) ftpserver.SessionInfo {
	t.Helper()
	for _, si := range srv.Sessions() {
		if si.User == user {
			return si
		}
	}
	t.Fatalf("no session of %q in %+v", user, srv.Sessions())
	return ftpserver.SessionInfo{}
}

func TestAdminSessionsSnapshot(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"dir/f": "x"})
	before := time.Now()
	anon := ftpservertest.Dial(t, srv.Addr)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(ftp.CodeFileActionOK, "CWD /dir")
	c.Do(ftp.CodeOK, "NOOP") // the session publishes its state before reading NOOP
	anon.Do(ftp.CodeOK, "NOOP")

	all := srv.Sessions()
	if len(all) != 2 {
		t.Fatalf("Sessions() = %+v, want 2 sessions", all)
	}
	if all[0].User != "" || all[1].User != "u" {
		t.Errorf("sessions not oldest first, or users wrong: %+v", all)
	}
	si := all[1]
	if si.Dir != "/dir" || si.TLS || si.Transfer != nil || si.ID == "" || si.ID == all[0].ID {
		t.Errorf("session snapshot %+v", si)
	}
	if si.Remote.Addr() != netip.MustParseAddr("127.0.0.1") || si.Remote.Port() == 0 {
		t.Errorf("Remote = %v", si.Remote)
	}
	if si.Since.Before(before.Add(-time.Second)) || si.Since.After(time.Now()) {
		t.Errorf("Since = %v, test began %v", si.Since, before)
	}
	c.Do(ftp.CodeClosing, "QUIT")
	c.ExpectClosed()
}

// slowDownload starts a 2 MiB download at 256 KiB/s and returns the data
// connection after the 150 reply.
func slowDownload(t *testing.T) (*ftpservertest.Server, *ftpservertest.Client, io.Reader) {
	t.Helper()
	data := strings.Repeat("0123456789abcdef", 2<<20/16)
	srv, _ := newMemServer(t, ftpserver.Options{SessionRates: ftpserver.Rates{Download: 256 << 10}},
		map[string]string{"big": data})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(ftp.CodeOK, "TYPE I")
	d := c.EPSV()
	c.Do(ftp.CodeFileStatusOK, "RETR big")
	return srv, c, d
}

func TestAdminTransferProgressAndCancel(t *testing.T) {
	srv, c, d := slowDownload(t)
	// The server moves at most 32 KiB between two waits and counts a chunk
	// before it sends the next: once the client has read 64 KiB, at least
	// 32 KiB are counted.
	buf := make([]byte, 64<<10)
	if _, err := io.ReadFull(d, buf); err != nil {
		t.Fatal(err)
	}
	x := findSession(t, srv, "u").Transfer
	if x == nil {
		t.Fatal("no transfer in the snapshot")
	}
	if x.Verb != "RETR" || x.Path != "/big" || x.Direction != ftpserver.Download || x.Size != 2<<20 || x.Bytes < 32<<10 {
		t.Errorf("transfer snapshot %+v", x)
	}
	first := x.Bytes
	read := int64(64 << 10)
	for read <= first+64<<10 {
		n, err := d.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		read += int64(n)
	}
	x2 := findSession(t, srv, "u").Transfer
	if x2 == nil || x2.Bytes <= first {
		t.Fatalf("progress did not increase: first %d, then %+v", first, x2)
	}
	if r := x2.Rate(time.Now()); r <= 0 || r > 1<<20 {
		t.Errorf("rate %.0f B/s, want about 256 KiB/s", r)
	}

	id := findSession(t, srv, "u").ID
	if err := srv.CancelTransfer(id); err != nil {
		t.Fatal(err)
	}
	c.Expect(ftp.CodeTransferAborted)
	c.Do(ftp.CodeOK, "NOOP") // the session goes on
	if err := srv.CancelTransfer(id); !errors.Is(err, ftpserver.ErrNoTransfer) {
		t.Errorf("CancelTransfer with none running: %v", err)
	}
	if err := srv.CancelTransfer("nosuch"); !errors.Is(err, ftpserver.ErrNoSession) {
		t.Errorf("CancelTransfer of an unknown session: %v", err)
	}
}

func TestAdminCloseSessionDuringTransfer(t *testing.T) {
	srv, c, d := slowDownload(t)
	if _, err := io.ReadFull(d, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if err := srv.CloseSession(findSession(t, srv, "u").ID); err != nil {
		t.Fatal(err)
	}
	msg := c.Expect(ftp.CodeNotAvailable)
	if !strings.Contains(msg, "administrator") {
		t.Errorf("421 text %q", msg)
	}
	c.ExpectClosed()
	if n, _ := io.Copy(io.Discard, d); n >= 2<<20 {
		t.Errorf("the whole file was sent after the session was closed")
	}
	if err := srv.CloseSession("nosuch"); !errors.Is(err, ftpserver.ErrNoSession) {
		t.Errorf("CloseSession of an unknown session: %v", err)
	}
}

func TestAdminCloseIdleSession(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	if err := srv.CloseSession(findSession(t, srv, "u").ID); err != nil {
		t.Fatal(err)
	}
	c.Expect(ftp.CodeNotAvailable)
	c.ExpectClosed()
}

func TestAdminBan(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, nil)
	open := ftpservertest.Dial(t, srv.Addr)
	lo := netip.MustParseAddr("127.0.0.1")
	srv.Ban(lo, time.Hour)
	bans := srv.Bans()
	if len(bans) != 1 || bans[0].Addr != lo || time.Until(bans[0].Until) < 59*time.Minute {
		t.Fatalf("Bans() = %+v", bans)
	}
	c := ftpservertest.DialNoGreeting(t, srv.Addr)
	c.Expect(ftp.CodeNotAvailable)
	c.ExpectClosed()
	open.Do(ftp.CodeOK, "NOOP") // sessions already open go on

	if !srv.Unban(lo) {
		t.Error("Unban reported no ban")
	}
	if len(srv.Bans()) != 0 {
		t.Errorf("Bans() after Unban = %+v", srv.Bans())
	}
	ftpservertest.Dial(t, srv.Addr).Login("u", "p")
}
