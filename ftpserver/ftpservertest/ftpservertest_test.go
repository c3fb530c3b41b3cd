package ftpservertest_test

import (
	"net"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/memfs"
)

func TestClientAndClose(t *testing.T) {
	fsys := memfs.New()
	srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: ftpservertest.Auth(
		ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll},
	)})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Stor("STOR", "a.txt", "hello")
	if got := c.Retr("a.txt"); got != "hello" {
		t.Errorf("RETR got %q", got)
	}
	if got := c.Listing("NLST"); len(got) != 1 || got[0] != "a.txt" {
		t.Errorf("NLST got %q", got)
	}

	srv.Close()
	c.Expect(421) // an idle session is told the server is going away
	c.ExpectClosed()
	select {
	case <-srv.Done:
	default:
		t.Error("Close returned before Serve did")
	}
	if conn, err := net.DialTimeout("tcp", srv.Addr, time.Second); err == nil {
		conn.Close()
		t.Error("the server still accepts connections after Close")
	}
	srv.Close() // again, as the test's cleanup will: nothing happens
}
