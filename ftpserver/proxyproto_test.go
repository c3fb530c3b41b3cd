package ftpserver_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/proxyproto"
)

// dialVia connects as a load balancer would: a PROXY header naming src first.
func dialVia(t *testing.T, addr string, version int, src string) *ftpservertest.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	dst := netip.MustParseAddrPort(addr)
	conn.Write(proxyproto.Append(nil, version, netip.MustParseAddrPort(src), dst))
	c := ftpservertest.NewClient(t, conn)
	c.Expect(220)
	return c
}

func TestPROXYProtocol(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{
		ProxyProtocolFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxLoginFailures:  2,
	}, map[string]string{"f": "via the balancer"})

	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprintf("version %d headers give the session the client's address", v), func(t *testing.T) {
			c := dialVia(t, srv.Addr, v, "192.0.2.9:40000")
			c.Login("u", "p")
			if msg := c.Do(211, "STAT"); !strings.Contains(msg, "Connected from 192.0.2.9") {
				t.Errorf("STAT = %q", msg)
			}
		})
	}
	t.Run("PORT must name the real client, not the balancer", func(t *testing.T) {
		c := dialVia(t, srv.Addr, 1, "192.0.2.9:40000")
		c.Login("u", "p")
		c.Do(501, "PORT 127,0,0,1,200,10")
		c.Do(200, "PORT 192,0,2,9,200,10")
	})
	t.Run("a passive connection through the balancer needs its header", func(t *testing.T) {
		c := dialVia(t, srv.Addr, 2, "192.0.2.9:40000")
		c.Login("u", "p")
		port, err := ftp.ParseEPSVReply(c.Do(229, "EPSV"))
		if err != nil {
			t.Fatal(err)
		}
		data := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
		// Without a header, and with another client's address: dropped.
		bare, _ := net.Dial("tcp", data)
		defer bare.Close()
		other, _ := net.Dial("tcp", data)
		defer other.Close()
		other.Write(proxyproto.Append(nil, 1, netip.MustParseAddrPort("192.0.2.66:1"), netip.MustParseAddrPort(data)))
		good, err := net.Dial("tcp", data)
		if err != nil {
			t.Fatal(err)
		}
		good.Write(proxyproto.Append(nil, 1, netip.MustParseAddrPort("192.0.2.9:2"), netip.MustParseAddrPort(data)))
		c.Do(150, "RETR f")
		good.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(good)
		good.Close()
		c.Expect(226)
		if string(b) != "via the balancer" {
			t.Errorf("got %q", b)
		}
		other.SetReadDeadline(time.Now().Add(time.Second))
		if n, _ := io.ReadAll(other); len(n) > 0 {
			t.Errorf("another client's connection received %q", n)
		}
	})
	t.Run("bans apply to the client behind the balancer, not to the balancer", func(t *testing.T) {
		c := dialVia(t, srv.Addr, 1, "192.0.2.50:1")
		c.Do(331, "USER u")
		c.Do(530, "PASS bad")
		c.Do(331, "USER u")
		c.Do(421, "PASS bad")
		other := dialVia(t, srv.Addr, 1, "192.0.2.51:1")
		other.Login("u", "p")
	})
	t.Run("a health check with a LOCAL header is greeted", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		if !strings.HasPrefix(line, "220 ") {
			t.Errorf("got %q", line)
		}
	})
	t.Run("a connection from the balancer without a valid header is closed", func(t *testing.T) {
		conn, _ := net.Dial("tcp", srv.Addr)
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte("USER u\r\n"))
		if b, _ := io.ReadAll(conn); len(b) > 0 {
			t.Errorf("got %q", b)
		}
	})
}
