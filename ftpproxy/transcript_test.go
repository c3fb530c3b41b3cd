package ftpproxy

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// fakeDataListener opens a passive data port on the fake server.
func fakeDataListener(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Error(err)
		return nil, 0
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// sendData accepts one data connection and writes payload on it.
func sendData(t *testing.T, ln net.Listener, payload string) {
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(testTimeout))
	c, err := ln.Accept()
	if err != nil {
		t.Errorf("fake server: data accept: %v", err)
		return
	}
	io.WriteString(c, payload)
	c.Close()
}

// clientData connects to the address in the text of a 227 (pasv) or 229
// reply and reads all.
func clientData(t *testing.T, tc *ftpservertest.Client, pasv bool, rep string) chan string {
	t.Helper()
	var ap netip.AddrPort
	if pasv {
		var err error
		if ap, err = ftp.ParsePASVReply(rep); err != nil {
			t.Fatal(err)
		}
	} else {
		port, err := ftp.ParseEPSVReply(rep)
		if err != nil {
			t.Fatal(err)
		}
		ap = netip.AddrPortFrom(addrPortOf(tc.Conn().RemoteAddr()).Addr(), port)
	}
	if want := addrPortOf(tc.Conn().RemoteAddr()).Addr(); ap.Addr() != want {
		t.Fatalf("passive reply names %s, want the proxy's %s", ap, want)
	}
	out := make(chan string, 1)
	c, err := net.DialTimeout("tcp", ap.String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		b, _ := io.ReadAll(c)
		out <- string(b)
	}()
	return out
}

func TestTranscripts(t *testing.T) {
	t.Run("PASV from the client becomes EPSV toward the server and a 227 naming the proxy", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("EPSV") {
				return
			}
			ln, port := fakeDataListener(t)
			f.send(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)\n", port))
			if !f.expect("RETR f") {
				return
			}
			f.send("150 here it comes\n")
			sendData(t, ln, "hello through the proxy")
			f.send("226 done\n")
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		data := clientData(t, tc, true, tc.Do(227, "PASV"))
		tc.Do(150, "RETR f")
		tc.Expect(226)
		if got := <-data; got != "hello through the proxy" {
			t.Errorf("data = %q", got)
		}
		tc.Do(221, "QUIT")
	})

	t.Run("an IPv4 server that refuses EPSV is asked with PASV instead", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("EPSV") {
				return
			}
			f.send("500 EPSV not understood\n")
			if !f.expect("PASV") {
				return
			}
			ln, port := fakeDataListener(t)
			f.send(fmt.Sprintf("227 Entering Passive Mode (127,0,0,1,%d,%d).\n", port>>8, port&255))
			if !f.expect("LIST") {
				return
			}
			f.send("150 listing\n")
			sendData(t, ln, "a\r\nb\r\n")
			f.send("226 done\n")
			if !f.expect("PASV") { // remembered: no second EPSV
				return
			}
			f.send("502 no more\n")
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		data := clientData(t, tc, false, tc.Do(229, "EPSV"))
		tc.Do(150, "LIST")
		tc.Expect(226)
		if got := <-data; got != "a\r\nb\r\n" {
			t.Errorf("data = %q", got)
		}
		tc.Do(502, "PASV")
		tc.Do(200, "NOOP")
	})

	t.Run("a 227 naming a third host is refused", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("PASV") {
				return
			}
			f.send("227 Entering Passive Mode (192,0,2,9,200,10).\n")
			f.serveRest()
		})
		addr, logs := startProxy(t, "", Options{Backend: fs.Addr, NoEPSV: true})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(425, "PASV")
		tc.Do(200, "NOOP")
		if !strings.Contains(logs.String(), "227 names 192.0.2.9") {
			t.Errorf("no warning logged:\n%s", logs)
		}
	})

	t.Run("a 227 naming a third host is rewritten to the server when configured", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("PASV") {
				return
			}
			f.send("227 Entering Passive Mode (10,1,2,3,200,10).\n")
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr, NoEPSV: true, UseControlIPForPASV: true})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(227, "PASV")
	})

	t.Run("a passive reply naming a low port is refused", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("EPSV") {
				return
			}
			f.send("229 Entering Extended Passive Mode (|||25|)\n")
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(425, "EPSV")
		tc.Do(200, "NOOP")
	})

	t.Run("a fake 227 echoed inside a multi-line 550 is neither honoured nor shown at a line start", func(t *testing.T) {
		evil := "227 Entering Passive Mode (192,0,2,9,0,25)."
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("SIZE "+evil) {
				return
			}
			f.send("550-No such file:\n" + evil + "\n550 End\n")
			if !f.expect("NOOP") {
				return
			}
			f.send("200 ok\n")
			f.serveRest()
		})
		addr, logs := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Raw("SIZE " + evil + "\r\n")
		var raw strings.Builder
		for {
			tc.Conn().SetReadDeadline(time.Now().Add(testTimeout))
			l, err := tc.ReadLine()
			if err != nil {
				t.Fatal(err)
			}
			raw.WriteString(l + "\n")
			if strings.HasPrefix(l, "550 ") {
				break
			}
		}
		for _, l := range strings.Split(raw.String(), "\n") {
			if strings.HasPrefix(l, "227") {
				t.Errorf("client saw a line starting with 227: %q", l)
			}
		}
		tc.Do(200, "NOOP")
		if strings.Contains(logs.String(), "192.0.2.9") {
			t.Errorf("the echoed address reached the data logic:\n%s", logs)
		}
	})

	t.Run("an unsolicited 227 after a reply is dropped", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("NOOP") {
				return
			}
			f.send("200 ok\n227 Entering Passive Mode (127,0,0,1,200,10).\n")
			f.serveRest()
		})
		addr, logs := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(200, "NOOP")
		tc.Do(200, "TYPE I")
		if !strings.Contains(logs.String(), "unsolicited") {
			t.Errorf("no warning logged:\n%s", logs)
		}
	})

	t.Run("a passive reply to a command that is not PASV or EPSV never reaches the client", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("TYPE I") {
				return
			}
			f.send("227 Entering Passive Mode (127,0,0,1,200,10).\n200 Type set to I.\n")
			f.serveRest()
		})
		addr, logs := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		if r := tc.Do(200, "TYPE I"); r != "Type set to I." {
			t.Errorf("TYPE I got %q", r)
		}
		if !strings.Contains(logs.String(), "unsolicited") {
			t.Errorf("no warning logged:\n%s", logs)
		}
	})

	t.Run("PORT and EPRT naming another host or a low port are refused and never reach the server", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("NOOP") {
				return
			}
			f.send("200 only NOOP got here\n")
			f.serveRest()
		})
		addr, logs := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(501, "PORT 192,0,2,9,200,10")
		tc.Do(501, "PORT 127,0,0,1,0,25")
		tc.Do(501, "EPRT |1|192.0.2.9|5000|")
		tc.Do(501, "EPRT |2|::1|5000|")
		tc.Do(501, "PORT 127,0,0,1,300,1")
		tc.Do(502, "LPRT 4,4,127,0,0,1,2,200,10")
		if r := tc.Do(200, "NOOP"); r != "only NOOP got here" {
			t.Errorf("NOOP reply = %q", r)
		}
		if !strings.Contains(logs.String(), "PORT refused") {
			t.Errorf("no warning logged:\n%s", logs)
		}
	})

	t.Run("overlong lines, NUL and bare CR are refused and the session goes on", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("NOOP") {
				return
			}
			f.send("200 only NOOP got here\n")
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr, MaxLineLength: 512})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(500, "%s", "SITE "+strings.Repeat("A", 5000))
		tc.Do(500, "DELE a\x00b")
		tc.Do(500, "DELE a\rRMD b")
		tc.Do(200, "NOOP")
	})

	t.Run("a bare LF ends the session", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if f.login() {
				f.serveRest()
			}
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Raw("NOOP\nDELE x\r\n")
		tc.Expect(500)
		tc.ExpectClosed()
	})

	t.Run("an overlong or NUL reply line from the server ends the session with 421", func(t *testing.T) {
		for _, bad := range []string{"200 " + strings.Repeat("x", 5000), "200 a\x00b"} {
			fs := startFake(t, "", func(f *fakeConn) {
				if !f.login() || !f.expect("NOOP") {
					return
				}
				f.send(bad + "\n")
				f.serveRest()
			})
			addr, _ := startProxy(t, "", Options{Backend: fs.Addr, MaxLineLength: 1024})
			tc := dialProxy(t, addr)
			login(t, tc)
			tc.Do(421, "NOOP")
			tc.ExpectClosed()
		}
	})

	t.Run("client PORT becomes server EPSV when the server side is passive", func(t *testing.T) {
		cl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("EPSV") {
				return
			}
			ln, port := fakeDataListener(t)
			f.send(fmt.Sprintf("229 ok (|||%d|)\n", port))
			if !f.expect("RETR f") {
				return
			}
			f.send("150 go\n")
			sendData(t, ln, "converted")
			f.send("226 done\n")
			f.serveRest()
		})
		addr, logs := startProxy(t, "", Options{Backend: fs.Addr, ServerData: DataPassive})
		tc := dialProxy(t, addr)
		login(t, tc)
		arg, _ := ftp.FormatPORT(addrPortOf(cl.Addr()))
		tc.Do(200, "PORT %s", arg)
		tc.Do(150, "RETR f")
		cl.(*net.TCPListener).SetDeadline(time.Now().Add(testTimeout))
		c, err := cl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(c)
		c.Close()
		tc.Expect(226)
		if string(b) != "converted" {
			t.Errorf("data = %q", b)
		}
		tc.Do(221, "QUIT")
		waitLog(t, logs, "client_mode=active server_mode=passive")
	})

	t.Run("client PASV becomes server PORT naming the proxy when the server side is active", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() {
				return
			}
			l, err := f.r.ReadLine()
			if err != nil || !strings.HasPrefix(l, "PORT ") {
				t.Errorf("fake server got %q, want PORT", l)
				return
			}
			ap, err := ftp.ParsePORT(l[5:])
			if err != nil || ap.Addr() != netip.MustParseAddr("127.0.0.1") {
				t.Errorf("PORT names %v (%v)", ap, err)
				return
			}
			f.send("200 PORT ok\n")
			if !f.expect("STOR up") {
				return
			}
			f.send("150 send it\n")
			c, err := net.DialTimeout("tcp", ap.String(), testTimeout)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(c)
			c.Close()
			f.send(fmt.Sprintf("226 got %d bytes: %s\n", len(b), b))
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr, ServerData: DataActive})
		tc := dialProxy(t, addr)
		login(t, tc)
		rep := tc.Do(227, "PASV")
		ap, _ := ftp.ParsePASVReply(rep)
		c, err := net.DialTimeout("tcp", ap.String(), testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		tc.Do(150, "STOR up")
		io.WriteString(c, "uploaded")
		c.Close()
		if r := tc.Expect(226); r != "got 8 bytes: uploaded" {
			t.Errorf("226 = %q", r)
		}
	})

	t.Run("EPSV ALL is answered by the proxy and PASV and PORT are refused afterwards", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("EPSV") {
				return
			}
			_, port := fakeDataListener(t)
			f.send(fmt.Sprintf("229 ok (|||%d|)\n", port))
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(200, "EPSV ALL")
		tc.Do(503, "PASV")
		tc.Do(503, "PORT 127,0,0,1,200,1")
		tc.Do(522, "EPSV 2")
		tc.Do(229, "EPSV")
	})

	t.Run("a transfer without a data setup is refused by the proxy", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if f.login() {
				f.serveRest()
			}
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(425, "RETR f")
	})

	t.Run("FEAT loses the server's TLS features and gains EPSV and EPRT", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			if !f.login() || !f.expect("FEAT") {
				return
			}
			f.send("211-Features:\n AUTH TLS\n PBSZ\n PROT\n SIZE\n MDTM\n211 End\n")
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		got := tc.Do(211, "FEAT")
		for _, want := range []string{"SIZE", "MDTM", "EPSV", "EPRT"} {
			if !strings.Contains(got, want) {
				t.Errorf("FEAT lacks %s:\n%s", want, got)
			}
		}
		if strings.Contains(got, "AUTH") || strings.Contains(got, "PROT") {
			t.Errorf("FEAT still offers TLS:\n%s", got)
		}
	})

	t.Run("a backend that never greets gets 421 after the connect timeout", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) { f.r.ReadLine() })
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr, ConnectTimeout: 200 * time.Millisecond})
		tc := dialProxy(t, addr)
		start := time.Now()
		tc.Expect(421)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})

	t.Run("unreachable backends get 421", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		dead := ln.Addr().String()
		ln.Close()
		addr, _ := startProxy(t, "", Options{Backend: dead})
		tc := dialProxy(t, addr)
		tc.Expect(421)
		tc.ExpectClosed()
	})
}

// waitLog waits until the proxy log contains s.
func waitLog(t *testing.T, logs *logBuf, s string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !strings.Contains(logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", s, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
