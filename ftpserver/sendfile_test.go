package ftpserver_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

// bigFileServer serves a 24 MiB random file (more than the socket buffers
// hold, and more than one sendfile chunk) from localfs, so RETR takes the
// zero-copy path.
func bigFileServer(t *testing.T, opts ftpserver.Options) (*ftpservertest.Server, []byte) {
	t.Helper()
	dir := t.TempDir()
	data := make([]byte, 24<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := localfs.New(dir, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	opts.Auth = ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})
	return ftpservertest.Start(t, "", opts), data
}

// sendModes are the ways a big download can go out; the tests below run
// each (on loopback, auto copies through a buffer).
var sendModes = []ftpserver.SendfileMode{ftpserver.SendfileAuto, ftpserver.SendfileAlways, ftpserver.SendfileNever}

func TestBigRETRIsIntact(t *testing.T) {
	for _, mode := range sendModes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, data := bigFileServer(t, ftpserver.Options{Sendfile: mode})
			c := ftpservertest.Dial(t, srv.Addr)
			c.Login("u", "p")
			c.Do(200, "TYPE I")
			for _, off := range []int{0, 5<<20 + 3} {
				if off > 0 {
					c.Do(350, "REST %d", off)
				}
				d := c.EPSV()
				c.Do(150, "RETR big.bin")
				got, err := io.ReadAll(d)
				d.Close()
				if err != nil {
					t.Fatal(err)
				}
				c.Expect(226)
				if !bytes.Equal(got, data[off:]) {
					t.Fatalf("from %d: got %d bytes, want the %d of the file", off, len(got), len(data)-off)
				}
			}
		})
	}
}

// ABOR ends a download whose client reads nothing, though the send is
// blocked in the kernel.
func TestABOREndsABlockedBigRETR(t *testing.T) {
	for _, mode := range sendModes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, _ := bigFileServer(t, ftpserver.Options{DataTimeout: time.Minute, Sendfile: mode})
			c := ftpservertest.Dial(t, srv.Addr)
			c.Login("u", "p")
			c.Do(200, "TYPE I")
			d := c.EPSV()
			defer d.Close()
			c.Do(150, "RETR big.bin")
			c.Send("ABOR")
			c.Expect(426)
			c.Expect(226)
			c.Do(257, "PWD")
		})
	}
}

// A client that stops reading is given up after DataTimeout.
func TestStalledBigRETRIsGivenUp(t *testing.T) {
	for _, mode := range sendModes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, _ := bigFileServer(t, ftpserver.Options{DataTimeout: 300 * time.Millisecond, Sendfile: mode})
			c := ftpservertest.Dial(t, srv.Addr)
			c.Login("u", "p")
			c.Do(200, "TYPE I")
			d := c.EPSV()
			defer d.Close()
			c.Do(150, "RETR big.bin")
			c.Expect(426)
			c.Do(257, "PWD")
		})
	}
}
