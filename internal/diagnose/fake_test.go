package diagnose

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// fakeServer is a scripted FTP server on loopback for the cases a real
// server cannot be talked into: a PASV reply naming an unreachable
// address, a PORT reply echoing a rewritten address.
type fakeServer struct {
	pasvAddr  netip.Addr // address announced in PASV replies
	portReply string     // text of the 200 reply to PORT; {arg} is the PORT argument
}

func (f *fakeServer) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return ln.Addr().String()
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	say := func(format string, args ...any) { fmt.Fprintf(c, format+"\r\n", args...) }
	say("220 fake")
	var pasv net.Listener
	var active string
	defer func() {
		if pasv != nil {
			pasv.Close()
		}
	}()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch strings.ToUpper(verb) {
		case "USER":
			say("331 password")
		case "PASS":
			say("230 in")
		case "FEAT":
			say("211-Features:\r\n EPSV\r\n211 End")
		case "SYST":
			say("215 UNIX Type: L8")
		case "PWD":
			say(`257 "/"`)
		case "TYPE":
			say("200 ok")
		case "PASV", "EPSV":
			if pasv != nil {
				pasv.Close()
			}
			pasv, _ = net.Listen("tcp", "127.0.0.1:0")
			active = ""
			port := uint16(pasv.Addr().(*net.TCPAddr).Port)
			if verb == "EPSV" {
				say("229 %s", ftp.FormatEPSVReply(port))
			} else {
				text, _ := ftp.FormatPASVReply(netip.AddrPortFrom(f.pasvAddr, port))
				say("227 %s", text)
			}
		case "PORT":
			ap, _ := ftp.ParsePORT(arg)
			active = ap.String()
			say("%s", "200 "+strings.ReplaceAll(f.portReply, "{arg}", arg))
		case "LIST":
			var dc net.Conn
			if active != "" {
				dc, err = net.Dial("tcp", active)
			} else if pasv != nil {
				pasv.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
				dc, err = pasv.Accept()
			}
			if dc == nil || err != nil {
				say("425 no data connection")
				continue
			}
			say("150 here")
			fmt.Fprint(dc, "-rw-r--r-- 1 u g 5 Jan 01 2024 a.txt\r\n")
			dc.Close()
			say("226 done")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

func TestFakeServerFaults(t *testing.T) {
	t.Run("a PASV address that cannot be reached fails, and the control address is tried", func(t *testing.T) {
		// 192.0.2.1 is TEST-NET-1: nothing answers there.
		addr := (&fakeServer{pasvAddr: netip.MustParseAddr("192.0.2.1"), portReply: "PORT ok"}).start(t)
		rep := Run(context.Background(), Options{Addr: addr, DataTimeout: time.Second, ActiveTimeout: 5 * time.Second})
		s := rep.Step("passive.pasv")
		if s == nil || s.Status != Failed || s.Fault != "pasv-wrong-address" {
			t.Fatalf("passive.pasv = %+v", s)
		}
		if !strings.Contains(s.Summary, "the same port on the control address 127.0.0.1 works") {
			t.Errorf("summary does not say the control address works: %s", s.Summary)
		}
		if e := rep.Step("passive.epsv"); e == nil || e.Status != OK {
			t.Errorf("passive.epsv = %+v", e)
		}
		if rep.ExitCode(false) != 1 {
			t.Error("exit code 0 with a failure")
		}
	})
	t.Run("a PORT reply naming another address reveals a rewriting middlebox", func(t *testing.T) {
		addr := (&fakeServer{pasvAddr: netip.MustParseAddr("127.0.0.1"), portReply: "PORT command successful (198,51,100,7,4,1)."}).start(t)
		rep := Run(context.Background(), Options{Addr: addr, DataTimeout: 5 * time.Second, ActiveTimeout: 5 * time.Second})
		s := rep.Step("active.port")
		if s == nil || s.Status != Warning || s.Fault != "alg-port-rewrite" || !strings.Contains(s.Summary, "198.51.100.7:1025") {
			t.Fatalf("active.port = %+v", s)
		}
		if p := rep.Step("passive.pasv"); p == nil || p.Status != OK {
			t.Errorf("passive.pasv = %+v", p)
		}
	})
	t.Run("a PORT reply echoing the same address is fine", func(t *testing.T) {
		addr := (&fakeServer{pasvAddr: netip.MustParseAddr("127.0.0.1"), portReply: "PORT {arg} ok"}).start(t)
		rep := Run(context.Background(), Options{Addr: addr, DataTimeout: 5 * time.Second, ActiveTimeout: 5 * time.Second})
		if s := rep.Step("active.port"); s == nil || s.Status != OK {
			t.Fatalf("active.port = %+v", s)
		}
	})
}
