package peers

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver/ftpservertest"

	"github.com/ferryftp/ferry/internal/wire"
)

func TestEveryKindStartsAndAcceptsTheTestUser(t *testing.T) {
	for _, kind := range Kinds {
		for _, v6 := range []bool{false, true} {
			name := kind + " on IPv4"
			if v6 {
				name = kind + " on IPv6"
			}
			t.Run(name, func(t *testing.T) {
				s := Start(t, kind, Options{IPv6: v6})
				if err := os.WriteFile(filepath.Join(s.Root, "hello.txt"), []byte("hi\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				r := wire.NewReader(c, 4096)
				expect := func(cmd string, code int) string {
					t.Helper()
					if cmd != "" {
						if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
							t.Fatal(err)
						}
					}
					rep, err := r.ReadReply()
					if err != nil {
						t.Fatalf("%s: %v\nserver output: %s", cmd, err, s.Output())
					}
					if rep.Code != code {
						t.Fatalf("%s: got %d %s, want %d\nserver output: %s", cmd, rep.Code, rep.Message(), code, s.Output())
					}
					return rep.Message()
				}
				expect("", 220)
				expect("USER "+s.User, 331)
				expect("PASS "+s.Password, 230)
				expect("TYPE I", 200)
				if msg := expect("SIZE hello.txt", 213); strings.TrimSpace(msg) != "3" {
					t.Errorf("SIZE hello.txt = %q, want 3", msg)
				}
				expect("QUIT", 221)
			})
		}
	}
}

func TestTLSPeersStartWithAGeneratedCertificate(t *testing.T) {
	for _, kind := range []string{Vsftpd, PureFTPd} {
		t.Run(kind+" offers AUTH TLS", func(t *testing.T) {
			cert := SelfSignedCert(t)
			s := Start(t, kind, Options{CertFile: cert.CertFile, KeyFile: cert.KeyFile})
			c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := wire.NewReader(c, 4096)
			if rep, err := r.ReadReply(); err != nil || rep.Code != 220 {
				t.Fatalf("greeting %v %v", rep, err)
			}
			c.Write([]byte("AUTH TLS\r\n"))
			if rep, err := r.ReadReply(); err != nil || rep.Code != 234 {
				t.Fatalf("AUTH TLS: %v %v\n%s", rep, err, s.Output())
			}
		})
	}
}

func TestFTPProxyRelaysPASVDownloadsFromVsftpd(t *testing.T) {
	s := Start(t, Vsftpd, Options{})
	want := strings.Repeat("ftp-proxy relays this line\n", 4000)
	if err := os.WriteFile(filepath.Join(s.Root, "f.txt"), []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	p := StartFTPProxy(t, s.Addr, ProxyOptions{})
	c := ftpservertest.Dial(t, p.Addr)
	c.Login(s.User, s.Password)
	c.Do(200, "TYPE I")
	dc := c.PASV()
	defer dc.Close()
	dc.SetDeadline(time.Now().Add(20 * time.Second))
	c.Do(150, "RETR f.txt")
	got, err := io.ReadAll(dc)
	if err != nil {
		t.Fatalf("%v\nproxy output: %s", err, p.Output())
	}
	c.Expect(226)
	if string(got) != want {
		t.Errorf("downloaded %d bytes through ftp-proxy, want %d", len(got), len(want))
	}
	c.Do(221, "QUIT")
}
