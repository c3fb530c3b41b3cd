package ftpserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

func TestLoginAndAccessControl(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"a.txt": "hello"})

	t.Run("commands before login are answered 530", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		for _, cmd := range []string{"PWD", "LIST", "RETR a.txt", "CWD /", "PASV", "STAT"} {
			c.Do(530, "%s", cmd)
		}
		c.Do(211, "FEAT")
		c.Do(200, "NOOP")
		c.Do(221, "QUIT")
	})
	t.Run("a wrong password is refused and a right one accepted", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Do(331, "USER u")
		c.Do(530, "PASS wrong")
		c.Do(503, "PASS p")
		c.Login("u", "p")
		if msg := c.Do(257, "PWD"); !strings.HasPrefix(msg, `"/"`) {
			t.Errorf("PWD = %q", msg)
		}
		c.Do(530, "USER other")
	})
	t.Run("REIN logs out", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(220, "REIN")
		c.Do(530, "PWD")
		c.Login("ro", "p")
	})
	t.Run("REIN and a new login right after a transfer work", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		for i := 0; i < 20; i++ { // the transfer's end races with the next commands (-race)
			c.Login("u", "p")
			if got := c.Retr("a.txt"); got != "hello" {
				t.Fatalf("got %q", got)
			}
			c.Do(220, "REIN")
		}
	})
	t.Run("unknown verbs get 502 and bad syntax 500 or 501", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(502, "XYZZ")
		c.Do(500, "12 34")
		c.Do(501, "TYPE Q")
		c.Do(501, "PWD extra")
		c.Do(501, "RETR")
		c.Do(503, "RNTO x")
	})
}

func TestTooManyUnknownCommandsBeforeLoginCloses(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{MaxUnknownCommands: 3}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Do(502, "BLAH")
	c.Do(530, "LIST")
	c.Do(502, "BLAH")
	c.Expect(421)
	if _, err := c.ReadLine(); err == nil {
		t.Fatal("connection still open")
	}
}

func TestTransfersRoundTrip(t *testing.T) {
	srv, fsys := newMemServer(t, ftpserver.Options{}, map[string]string{"dir/a.txt": "line1\nline2\n"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")

	t.Run("RETR in binary mode is byte exact", func(t *testing.T) {
		if got := c.Retr("dir/a.txt"); got != "line1\nline2\n" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("RETR in ASCII mode sends CRLF", func(t *testing.T) {
		c.Do(200, "TYPE A")
		defer c.Do(200, "TYPE I")
		if got := c.Retr("dir/a.txt"); got != "line1\r\nline2\r\n" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("STOR in ASCII mode stores LF", func(t *testing.T) {
		c.Do(200, "TYPE A")
		defer c.Do(200, "TYPE I")
		c.Stor("STOR", "ascii.txt", "a\r\nb\r\nc\rd\r\n")
		got, _ := fsys.ReadFile("ascii.txt")
		if string(got) != "a\nb\nc\rd\n" {
			t.Errorf("stored %q", got)
		}
	})
	t.Run("STOR then RETR returns the same bytes", func(t *testing.T) {
		data := strings.Repeat("0123456789\x00\xff\r\n", 10000)
		c.Stor("STOR", "up.bin", data)
		if got := c.Retr("up.bin"); got != data {
			t.Errorf("round trip differs: %d bytes back, want %d", len(got), len(data))
		}
	})
	t.Run("REST then RETR resumes a download", func(t *testing.T) {
		c.Do(350, "REST 6")
		if got := c.Retr("dir/a.txt"); got != "line2\n" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("REST then STOR resumes an upload", func(t *testing.T) {
		c.Stor("STOR", "resume.txt", "hello ")
		c.Do(350, "REST 6")
		c.Stor("STOR", "resume.txt", "world")
		if got, _ := fsys.ReadFile("resume.txt"); string(got) != "hello world" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("REST past the end of the file is refused with 554", func(t *testing.T) {
		c.Do(350, "REST 1000")
		d := c.EPSV()
		defer d.Close()
		c.Do(554, "STOR resume.txt")
		c.Do(350, "REST 1000")
		d2 := c.EPSV()
		defer d2.Close()
		c.Do(554, "RETR resume.txt")
	})
	t.Run("APPE appends and creates", func(t *testing.T) {
		c.Stor("APPE", "log.txt", "one\n")
		c.Stor("APPE", "log.txt", "two\n")
		if got, _ := fsys.ReadFile("log.txt"); string(got) != "one\ntwo\n" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("STOU never overwrites", func(t *testing.T) {
		d := c.EPSV()
		msg := c.Do(150, "STOU log.txt")
		io.WriteString(d, "unique")
		d.Close()
		c.Expect(226)
		name := strings.TrimPrefix(msg, "FILE: ")
		if name == "log.txt" || name == msg {
			t.Fatalf("STOU reply %q", msg)
		}
		if got, _ := fsys.ReadFile(name); string(got) != "unique" {
			t.Errorf("unique file holds %q", got)
		}
		if got, _ := fsys.ReadFile("log.txt"); string(got) != "one\ntwo\n" {
			t.Errorf("log.txt changed to %q", got)
		}
	})
	t.Run("PASV works as well as EPSV", func(t *testing.T) {
		d := c.PASV()
		c.Do(150, "RETR dir/a.txt")
		b, _ := io.ReadAll(d)
		d.Close()
		c.Expect(226)
		if string(b) != "line1\nline2\n" {
			t.Errorf("got %q", b)
		}
	})
	t.Run("a transfer without PASV or PORT gets 425", func(t *testing.T) {
		c.Do(425, "RETR dir/a.txt")
	})
	t.Run("RETR of a missing file gets 550", func(t *testing.T) {
		d := c.EPSV()
		defer d.Close()
		c.Do(550, "RETR nope")
	})
}

func TestActiveMode(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{AllowLowPORT: false}, map[string]string{"f": "active data"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")

	for _, tc := range []struct{ name, verb string }{
		{"PORT connects back to the client", "PORT"},
		{"EPRT connects back to the client", "EPRT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := activeListener(t, "127.0.0.1:0")
			ap := l.Addr().(*net.TCPAddr).AddrPort()
			arg := ftp.FormatEPRT(ap)
			if tc.verb == "PORT" {
				arg, _ = ftp.FormatPORT(ap)
			}
			c.Do(200, "%s %s", tc.verb, arg)
			if got, _ := c.ActiveRetr(l, "f"); got != "active data" {
				t.Errorf("got %q", got)
			}
		})
	}
	t.Run("PORT to another address is refused", func(t *testing.T) {
		c.Do(501, "PORT 127,0,0,2,200,10")
		c.Do(501, "EPRT |1|127.0.0.2|51210|")
	})
	t.Run("PORT to a port below 1024 is refused", func(t *testing.T) {
		c.Do(501, "PORT 127,0,0,1,0,21")
		c.Do(501, "EPRT |1|127.0.0.1|21|")
	})
	t.Run("malformed PORT and EPRT get 501 and unknown protocols 522", func(t *testing.T) {
		c.Do(501, "PORT 127,0,0,1,300,1")
		c.Do(501, "PORT 1,2,3")
		c.Do(522, "EPRT |3|x|1|")
	})
}

func TestEPSVAllRefusesOtherSetups(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"f": "x"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "EPSV ALL")
	c.Do(503, "PASV")
	c.Do(503, "PORT 127,0,0,1,200,10")
	c.Do(522, "EPSV 2")
	if got := c.Retr("f"); got != "x" {
		t.Errorf("got %q", got)
	}
}

func TestPassivePortFromAnotherAddressGetsNoData(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"secret": "only for the client"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	msg := c.Do(229, "EPSV")
	port, err := ftp.ParseEPSVReply(msg)
	if err != nil {
		t.Fatal(err)
	}
	// A thief on 127.0.0.2 races the client to the data port.
	thief, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}).
		Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("thief dial: %v", err)
	}
	defer thief.Close()
	c.Send("RETR secret")
	thief.SetReadDeadline(time.Now().Add(10 * time.Second))
	stolen, _ := io.ReadAll(thief)
	if len(stolen) > 0 {
		t.Fatalf("thief received %q", stolen)
	}
	d, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatalf("client dial: %v", err)
	}
	c.Expect(150)
	b, _ := io.ReadAll(d)
	d.Close()
	c.Expect(226)
	if string(b) != "only for the client" {
		t.Errorf("client got %q", b)
	}
}

func TestCommandsDuringTransfer(t *testing.T) {
	big := strings.Repeat("x", 8<<20)
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"big": big})

	t.Run("ABOR during a transfer answers 426 then 226", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(200, "TYPE I")
		d := c.EPSV()
		defer d.Close()
		c.Do(150, "RETR big")
		buf := make([]byte, 1024)
		io.ReadFull(d, buf) // the transfer is running; the client stops reading
		c.Do(211, "STAT")
		c.Do(200, "NOOP")
		c.Send("\xff\xf4\xff\xf2ABOR") // Telnet IP + DM first, as ftplib sends it
		c.Expect(426)
		c.Expect(226)
		c.Do(257, "PWD")
	})
	t.Run("ABOR with no transfer answers 225", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(225, "ABOR")
	})
	t.Run("QUIT during a transfer answers 221 after it finishes", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(200, "TYPE I")
		d := c.EPSV()
		c.Do(150, "RETR big")
		c.Send("QUIT")
		var wg sync.WaitGroup
		wg.Add(1)
		var n int64
		go func() { defer wg.Done(); n, _ = io.Copy(io.Discard, d); d.Close() }()
		c.Expect(226)
		c.Expect(221)
		wg.Wait()
		if n != int64(len(big)) {
			t.Errorf("received %d bytes, want %d", n, len(big))
		}
	})
}

func TestLongLineDoesNotHurt(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	line := bytes.Repeat([]byte("A"), 4<<20)
	go func() {
		c.Conn().Write(line)
		c.Conn().Write([]byte("\r\nNOOP\r\n"))
	}()
	c.Expect(500)
	c.Expect(200)
}
