//go:build unix

package interop

import (
	"bytes"
	"io"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// sendUrgent writes b to the control connection with MSG_OOB, so that its
// last byte is TCP urgent data, as clients do to interrupt a transfer.
func (c *ctrl) sendUrgent(b []byte) {
	c.t.Helper()
	rc, err := c.conn.SyscallConn()
	if err != nil {
		c.t.Fatal(err)
	}
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		serr = syscall.Sendto(int(fd), b, syscall.MSG_OOB, nil)
		return serr != syscall.EAGAIN
	})
	if err != nil || serr != nil {
		c.t.Fatalf("send urgent %q: %v %v", b, err, serr)
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
		send func(c *ctrl)
	}{
		{"is answered when ABOR is sent in-band", func(c *ctrl) { c.send("ABOR") }},
		{"is answered when ABOR is sent as urgent data like Python's ftplib does", func(c *ctrl) {
			c.sendUrgent([]byte("ABOR\r\n"))
		}},
		{"is answered when ABOR follows Telnet IP and Synch like BSD ftp sends it", func(c *ctrl) {
			c.sendUrgent([]byte{iac, ip, iac})
			if _, err := c.conn.Write(append([]byte{dm}, "ABOR\r\n"...)); err != nil {
				c.t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, ipv4.listen)
			writeFile(t, filepath.Join(s.Root, "big.bin"), big)
			c := dialCtrl(t, s.Addr, 30*time.Second)
			c.login(testUser, testPass)
			c.do(200, "TYPE I")
			data := c.epsv()
			c.do(150, "RETR big.bin")
			if _, err := io.CopyN(io.Discard, data, 1<<20); err != nil {
				t.Fatalf("reading the first MiB: %v", err)
			}
			tc.send(c)
			c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			code, msg, err := c.r.ReadResponse(0)
			if err != nil {
				t.Fatalf("no reply to ABOR within 5s: %v", err)
			}
			if code == 426 {
				code, msg, err = c.r.ReadResponse(0)
				if err != nil {
					t.Fatalf("no 226 after 426: %v", err)
				}
			}
			if code != 226 && code != 225 {
				t.Fatalf("reply to ABOR: %d %s, want 426 then 226", code, msg)
			}
			c.conn.SetDeadline(time.Now().Add(10 * time.Second))
			c.do(257, "PWD")
			c.do(221, "QUIT")
		})
	}
}
