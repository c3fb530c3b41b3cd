package ftpproxy

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/proxyproto"
)

func TestModes(t *testing.T) {
	t.Run("explicit mode connects to the host named after the at sign and logs in with the rest", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			f.send("220 real server\n")
			if !f.expect("USER alice@corp") {
				return
			}
			f.send("331 pass\n")
			if !f.expect("PASS p") {
				return
			}
			f.send("230 in\n")
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Mode: ModeExplicit, AllowDestinations: []string{"127.0.0.1:*"}})
		tc := dialProxy(t, addr)
		tc.Expect(220)
		tc.Do(200, "NOOP")
		tc.Do(530, "PWD")
		tc.Do(331, "USER alice@corp@%s", fs.Addr)
		tc.Do(230, "PASS p")
		tc.Do(530, "USER bob@192.0.2.1")
		tc.Do(221, "QUIT")
	})

	t.Run("explicit mode refuses destinations outside the allow list without connecting", func(t *testing.T) {
		addr, logs := startProxy(t, "", Options{Mode: ModeExplicit, AllowDestinations: []string{"ftp.example.org:21"}})
		tc := dialProxy(t, addr)
		tc.Expect(220)
		tc.Do(530, "USER u@127.0.0.1:21")
		tc.Do(530, "USER u@127.0.0.1")
		tc.Do(530, "USER nohost")
		if !strings.Contains(logs.String(), "not allowed") {
			t.Errorf("no log:\n%s", logs)
		}
	})

	t.Run("reverse mode picks the backend by user name", func(t *testing.T) {
		mk := func(name string) *fakeServer {
			return startFake(t, "", func(f *fakeConn) {
				f.send("220 " + name + "\n")
				if !f.expect("USER " + name) {
					return
				}
				f.send("230 hello " + name + "\n")
				f.serveRest()
			})
		}
		a, b := mk("alice"), mk("bob")
		addr, _ := startProxy(t, "", Options{UserBackends: map[string]string{"alice": a.Addr, "bob": b.Addr}})
		for _, u := range []string{"alice", "bob"} {
			tc := dialProxy(t, addr)
			tc.Expect(220)
			if r := tc.Do(230, "USER %s", u); r != "hello "+u {
				t.Errorf("%s reached %q", u, r)
			}
		}
		tc := dialProxy(t, addr)
		tc.Expect(220)
		tc.Do(530, "USER mallory")
	})

	t.Run("PROXY protocol headers of version 1 and 2 precede the session", func(t *testing.T) {
		for _, v := range []int{1, 2} {
			got := make(chan []byte, 1)
			fs := startFake(t, "", func(f *fakeConn) {
				br := bufio.NewReader(f.c)
				var hdr []byte
				if v == 1 {
					hdr, _ = br.ReadBytes('\n')
				} else {
					hdr = make([]byte, 28)
					io.ReadFull(br, hdr)
				}
				got <- hdr
				// Stay connected: a server that closes right after its
				// greeting can make the proxy answer 421 instead.
				f.send("220 hi\n")
				f.serveRest()
			})
			addr, _ := startProxy(t, "", Options{Backend: fs.Addr, ProxyProtocol: v})
			tc := dialProxy(t, addr)
			tc.Expect(220)
			hdr := <-got
			want := proxyproto.Append(nil, v, addrPortOf(tc.Conn().LocalAddr()), addrPortOf(tc.Conn().RemoteAddr()))
			if !bytes.Equal(hdr, want) {
				t.Errorf("v%d header = %q, want %q", v, hdr, want)
			}
		}
	})

	t.Run("session caps refuse the connection over the per-IP limit", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) { f.send("220 hi\n"); f.serveRest() })
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr, MaxSessionsPerIP: 1})
		tc := dialProxy(t, addr)
		tc.Expect(220)
		tc2 := dialProxy(t, addr)
		tc2.Expect(421)
		tc2.ExpectClosed()
	})

	t.Run("an idle client is disconnected with 421", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) { f.login(); f.serveRest() })
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr, IdleTimeout: 200 * time.Millisecond})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Expect(421)
		tc.ExpectClosed()
	})

	t.Run("transparent mode refuses connections that were not redirected", func(t *testing.T) {
		addr, _ := startProxy(t, "", Options{Mode: ModeTransparent})
		tc := dialProxy(t, addr)
		tc.Expect(421)
		tc.ExpectClosed()
	})
}

func TestPolicy(t *testing.T) {
	rules := []Rule{
		{Action: "deny", Commands: []string{"SITE"}, Args: []string{"exec*"}},
		{Action: "allow", Commands: []string{"STOR", "DELE"}, Users: []string{"admin"}},
		{Action: "deny", Commands: []string{"STOR", "DELE", "RNFR", "RNTO", "MKD", "RMD", "APPE", "STOU"}},
		{Action: "deny", Commands: []string{"USER"}, Args: []string{"root"}},
		{Action: "deny", Commands: []string{"RETR"}, Sources: []string{"127.0.0.0/8"}, Args: []string{"*.key"}},
	}
	t.Run("rules match by command, argument, user and source, first match wins", func(t *testing.T) {
		rs := append([]Rule(nil), rules...)
		for i := range rs {
			if err := rs[i].compile(); err != nil {
				t.Fatal(err)
			}
		}
		lo, far := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1")
		for _, c := range []struct {
			verb, arg, user string
			src             netip.Addr
			want            bool
		}{
			{"SITE", "EXEC /bin/sh", "u", lo, false},
			{"SITE", "exec x", "u", lo, false},
			{"SITE", "CHMOD 644 f", "u", lo, true},
			{"STOR", "f", "u", lo, false},
			{"STOR", "f", "admin", lo, true},
			{"DELE", "f", "u", far, false},
			{"RETR", "f", "u", lo, true},
			{"RETR", "server.key", "u", lo, false},
			{"RETR", "server.key", "u", far, true},
			{"USER", "root", "root", far, false},
		} {
			if got := allowed(rs, c.verb, c.arg, c.user, c.src); got != c.want {
				t.Errorf("%s %q user %q from %s: allowed=%v, want %v", c.verb, c.arg, c.user, c.src, got, c.want)
			}
		}
	})

	t.Run("denied commands are answered by the proxy and never reach the server", func(t *testing.T) {
		fs := startFake(t, "", func(f *fakeConn) {
			f.send("220 hi\n")
			if !f.expect("USER u") {
				return
			}
			f.send("230 in\n")
			if !f.expect("NOOP") {
				return
			}
			f.send("200 only NOOP got here\n")
			f.serveRest()
		})
		addr, _ := startProxy(t, "", Options{Backend: fs.Addr, Rules: append([]Rule(nil), rules...)})
		tc := dialProxy(t, addr)
		tc.Expect(220)
		tc.Do(530, "USER root")
		tc.Do(230, "USER u")
		tc.Do(550, "SITE EXEC rm -rf /")
		tc.Do(550, "STOR f")
		tc.Do(550, "DELE f")
		tc.Do(200, "NOOP")
	})

	t.Run("bad rules are refused", func(t *testing.T) {
		for _, r := range []Rule{{Action: "drop"}, {Action: "deny", Sources: []string{"nonsense"}}} {
			if _, err := New(Options{Backend: "127.0.0.1:21", Rules: []Rule{r}}); err == nil {
				t.Errorf("rule %+v accepted", r)
			}
		}
	})
}
