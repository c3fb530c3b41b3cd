//go:build unix

package interop

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// sendUrgent writes b to the control connection with MSG_OOB, so that its
// last byte is TCP urgent data, as clients do to interrupt a transfer.
func sendUrgent(t testing.TB, c *ftpservertest.Client, b []byte) {
	t.Helper()
	rc, err := c.Conn().(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		serr = syscall.Sendto(int(fd), b, syscall.MSG_OOB, nil)
		return serr != syscall.EAGAIN
	})
	if err != nil || serr != nil {
		t.Fatalf("send urgent %q: %v %v", b, err, serr)
	}
}

// TestAbortDuringDownload aborts a running download in the three ways
// clients send ABOR and checks that the server answers 426 then 226 and
// that the session goes on. Python's ftplib sends "ABOR\r\n" with MSG_OOB
// (the LF is the urgent byte); BSD ftp and tnftp send IAC IP, then IAC as
// urgent data, then "DM ABOR\r\n" (RFC 959 section 4.1.3). A server that
// does not set SO_OOBINLINE never reads the urgent byte.
func TestAbortDuringDownload(t *testing.T) {
	big := bytes.Repeat(sampleData(1<<20, 9), 48)
	const iac, ip, dm = 255, 244, 242
	cases := []struct {
		name string
		send func(t testing.TB, c *ftpservertest.Client)
	}{
		{"is answered when ABOR is sent in-band", func(t testing.TB, c *ftpservertest.Client) { c.Send("ABOR") }},
		{"is answered when ABOR is sent as urgent data like Python's ftplib does", func(t testing.TB, c *ftpservertest.Client) {
			sendUrgent(t, c, []byte("ABOR\r\n"))
		}},
		{"is answered when ABOR follows Telnet IP and Synch like BSD ftp sends it", func(t testing.TB, c *ftpservertest.Client) {
			sendUrgent(t, c, []byte{iac, ip, iac})
			if _, err := c.Conn().Write(append([]byte{dm}, "ABOR\r\n"...)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, ipv4.listen)
			writeFile(t, filepath.Join(s.Root, "big.bin"), big)
			c := dialCtrl(t, s.Addr, 30*time.Second)
			c.Login(testUser, testPass)
			c.Do(200, "TYPE I")
			data := c.EPSV()
			c.Do(150, "RETR big.bin")
			if _, err := io.CopyN(io.Discard, data, 1<<20); err != nil {
				t.Fatalf("reading the first MiB: %v", err)
			}
			tc.send(t, c)
			c.Conn().SetReadDeadline(time.Now().Add(5 * time.Second))
			code, msg, err := c.ReadResponse()
			if err != nil {
				t.Fatalf("no reply to ABOR within 5s: %v", err)
			}
			if code == 426 {
				code, msg, err = c.ReadResponse()
				if err != nil {
					t.Fatalf("no 226 after 426: %v", err)
				}
			}
			if code != 226 && code != 225 {
				t.Fatalf("reply to ABOR: %d %s, want 426 then 226", code, msg)
			}
			c.Conn().SetDeadline(time.Now().Add(10 * time.Second))
			c.Do(257, "PWD")
			c.Do(221, "QUIT")
		})
	}
}
