package ftpserver_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

func TestAtomicUploadsOverFTP(t *testing.T) {
	root := t.TempDir()
	fsys, err := localfs.New(root, localfs.Options{Atomic: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: ftpservertest.Auth(
		ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")
	first := strings.Repeat("a", 100000)

	t.Run("an interrupted upload leaves nothing under the final name", func(t *testing.T) {
		d := c.EPSV()
		c.Do(150, "STOR report.csv")
		d.Write([]byte(first))
		d.(*net.TCPConn).SetLinger(0)
		d.Close() // RST: the transfer breaks
		c.Expect(426)
		if _, err := os.Stat(filepath.Join(root, "report.csv")); err == nil {
			t.Fatal("a partial file appeared under the final name")
		}
		for _, l := range c.Listing("NLST -a") {
			if strings.Contains(l, "report") {
				t.Errorf("the partial upload is listed: %q", l)
			}
		}
	})
	t.Run("REST and STOR resume it and publish the whole file", func(t *testing.T) {
		part, err := os.ReadFile(filepath.Join(root, ".ferry-part.report.csv"))
		if err != nil {
			t.Fatalf("the partial data was not kept: %v", err)
		}
		c.Do(350, "REST %d", len(part))
		c.Stor("STOR", "report.csv", strings.Repeat("b", 5000))
		got, err := os.ReadFile(filepath.Join(root, "report.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if want := first[:len(part)] + strings.Repeat("b", 5000); string(got) != want {
			t.Errorf("published %d bytes, want %d", len(got), len(want))
		}
	})
}

func TestActivePortInUseFallsBackToAnEphemeralPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	srv, _ := newMemServer(t, ftpserver.Options{ActivePort: port}, map[string]string{"f": "x"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	l := activeListener(t, "127.0.0.1:0")
	c.Do(200, "EPRT |1|127.0.0.1|%d|", l.Addr().(*net.TCPAddr).Port)
	if got, from := c.ActiveRetr(l, "f"); got != "x" || from.Port == port {
		t.Errorf("got %q from port %d (the busy port is %d)", got, from.Port, port)
	}
}
