package ftpclient

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptedServer is a minimal FTP server for the pipelining tests: it
// serves one control connection, answers EPSV (or refuses it once the
// first has worked, when refuseEPSVAfterFirst), PASV and RETR, and records
// for each EPSV whether the next command arrived before its 229 was sent.
type scriptedServer struct {
	refuseEPSVAfterFirst bool

	mu        sync.Mutex
	pipelined []bool // per EPSV: the next command was already there
	mdtmAhead int    // MDTMs that had the next command already behind them
	log       []string
}

func (s *scriptedServer) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s.serve(c)
	}()
	return ln.Addr().String()
}

func (s *scriptedServer) serve(c net.Conn) {
	r := bufio.NewReader(c)
	say := func(format string, args ...any) { fmt.Fprintf(c, format+"\r\n", args...) }
	var data net.Listener
	epsvs := 0
	say("220 scripted")
	for {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		s.mu.Lock()
		s.log = append(s.log, line)
		s.mu.Unlock()
		switch strings.ToUpper(verb) {
		case "USER":
			say("331 password")
		case "PASS":
			say("230 in")
		case "FEAT":
			say("211-Features:\r\n EPSV\r\n211 End")
		case "TYPE", "NOOP":
			say("200 OK")
		case "ABOR":
			say("225 no transfer")
		case "QUIT":
			say("221 bye")
			return
		case "EPSV":
			epsvs++
			if s.refuseEPSVAfterFirst && epsvs > 1 {
				say("500 EPSV not understood")
				continue
			}
			// Did the client send its next command without waiting for
			// this reply?
			c.SetReadDeadline(time.Now().Add(time.Second))
			_, perr := r.Peek(1)
			s.mu.Lock()
			s.pipelined = append(s.pipelined, perr == nil)
			s.mu.Unlock()
			data, _ = net.Listen("tcp", "127.0.0.1:0")
			say("229 Entering Extended Passive Mode (|||%d|)", data.Addr().(*net.TCPAddr).Port)
		case "MDTM":
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := r.Peek(1); err == nil {
				s.mu.Lock()
				s.mdtmAhead++
				s.mu.Unlock()
			}
			if strings.HasPrefix(arg, "missing") {
				say("550 no such file")
			} else {
				say("213 20260102030405")
			}
		case "PASV":
			data, _ = net.Listen("tcp", "127.0.0.1:0")
			p := data.Addr().(*net.TCPAddr).Port
			say("227 Entering Passive Mode (127,0,0,1,%d,%d)", p>>8, p&255)
		case "RETR":
			if data == nil {
				say("425 Use PASV or EPSV first")
				continue
			}
			d, err := data.Accept()
			data.Close()
			data = nil
			if err != nil {
				say("425 no data connection")
				continue
			}
			say("150 sending")
			io.WriteString(d, "contents of "+arg)
			d.Close()
			say("226 done")
		default:
			say("502 not here")
		}
	}
}

func TestTransfersPipelineEPSVOnceItHasWorked(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoPipelining=%v", off), func(t *testing.T) {
			s := &scriptedServer{}
			c := dial(t, s.start(t), Options{NoPipelining: off})
			for _, name := range []string{"a", "b", "c"} {
				var b strings.Builder
				if _, err := c.Retr(testCtx(t), name, 0, &b); err != nil {
					t.Fatal(err)
				}
				if b.String() != "contents of "+name {
					t.Fatalf("RETR %s gave %q", name, b.String())
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			// The first EPSV is always alone: it shows that EPSV works.
			want := []bool{false, !off, !off}
			if fmt.Sprint(s.pipelined) != fmt.Sprint(want) {
				t.Fatalf("EPSV followed at once by RETR: %v, want %v", s.pipelined, want)
			}
		})
	}
}

// A server that refuses a pipelined EPSV answers the RETR sent with it
// (425); the client reads both replies and sets the transfer up again with
// PASV, and pipelines no more.
func TestRefusedPipelinedEPSVFallsBackToPASV(t *testing.T) {
	s := &scriptedServer{refuseEPSVAfterFirst: true}
	c := dial(t, s.start(t), Options{})
	for _, name := range []string{"a", "b", "c"} {
		var b strings.Builder
		if _, err := c.Retr(testCtx(t), name, 0, &b); err != nil {
			t.Fatalf("RETR %s: %v", name, err)
		}
		if b.String() != "contents of "+name {
			t.Fatalf("RETR %s gave %q", name, b.String())
		}
	}
	if err := c.Noop(testCtx(t)); err != nil {
		t.Fatalf("NOOP after the transfers: %v (replies out of step?)", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	got := strings.Join(s.log, "|")
	want := "EPSV|RETR a|EPSV|RETR b|PASV|RETR b|PASV|RETR c|NOOP"
	if !strings.HasSuffix(got, want) {
		t.Fatalf("commands: %s\nwant them to end with %s", got, want)
	}
}

// modTimes sends its MDTMs in batches and matches each reply to its path,
// a refused one included; with NoPipelining it sends one at a time.
func TestModTimesPipelinesMDTM(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoPipelining=%v", off), func(t *testing.T) {
			s := &scriptedServer{}
			c := dial(t, s.start(t), Options{NoPipelining: off})
			var paths []string
			for i := range 40 {
				name := fmt.Sprintf("f%d", i)
				if i == 3 || i == 33 {
					name = "missing" + name
				}
				paths = append(paths, name)
			}
			times, err := c.modTimes(testCtx(t), paths)
			if err != nil {
				t.Fatal(err)
			}
			want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			for i, tm := range times {
				missing := strings.HasPrefix(paths[i], "missing")
				if missing != tm.IsZero() || (!missing && !tm.Equal(want)) {
					t.Errorf("%s: %v", paths[i], tm)
				}
			}
			if err := c.Noop(testCtx(t)); err != nil {
				t.Fatalf("NOOP after the MDTMs: %v (replies out of step?)", err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			// Batches of 32 and 8: every MDTM but the last of each batch
			// had the next one behind it.
			want2 := 38
			if off {
				want2 = 0
			}
			if s.mdtmAhead != want2 {
				t.Fatalf("MDTMs with the next already sent: %d, want %d", s.mdtmAhead, want2)
			}
		})
	}
}
