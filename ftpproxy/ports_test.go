package ftpproxy

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

func TestDataPorts(t *testing.T) {
	t.Run("active connections to the client come from port 20 when configured", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("binding port 20 needs root")
		}
		back := startFerry(t, "127.0.0.1:0", nil)
		// A loopback address of its own: port 20 on 127.0.0.1 may be
		// blocked by other servers' TIME_WAIT sockets.
		addr, _ := startProxy(t, "127.0.0.5:0", Options{Backend: back.Addr, ActiveSourcePort: 20})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(200, "TYPE I")
		cl, err := net.Listen("tcp", net.JoinHostPort(addrPortOf(tc.Conn().LocalAddr()).Addr().String(), "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		arg, _ := ftp.FormatPORT(addrPortOf(cl.Addr()))
		tc.Do(200, "PORT %s", arg)
		tc.Do(150, "RETR f.bin")
		cl.(*net.TCPListener).SetDeadline(time.Now().Add(testTimeout))
		c, err := cl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if p := addrPortOf(c.RemoteAddr()).Port(); p != 20 {
			t.Errorf("data connection from port %d, want 20", p)
		}
		b, _ := io.ReadAll(c)
		c.Close()
		tc.Expect(226)
		back.check(t, b)
	})
}
