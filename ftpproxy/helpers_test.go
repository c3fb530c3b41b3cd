package ftpproxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/wire"
)

const testTimeout = 10 * time.Second

// logBuf collects the proxy's logs so tests can look for warnings.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProxy runs a proxy on addr ("127.0.0.1:0" when empty) until the test
// ends and returns its address and log.
func startProxy(t testing.TB, addr string, opts Options) (string, *logBuf) {
	t.Helper()
	_, laddr, logs, _ := serveProxy(t, addr, opts)
	return laddr, logs
}

// serveProxy runs a proxy with opts (connect and data timeouts of 5 s
// unless set; its log into logs unless opts.Logger is set) on addr
// ("127.0.0.1:0" when empty). stop shuts it down, waiting for its sessions
// to end; it also runs at the test's cleanup, and a second call does
// nothing.
func serveProxy(t testing.TB, addr string, opts Options) (p *Proxy, laddr string, logs *logBuf, stop func()) {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	logs = &logBuf{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.DataTimeout == 0 {
		opts.DataTimeout = 5 * time.Second
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); p.Serve(l) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p.Shutdown(ctx)
			<-done
		})
	}
	t.Cleanup(stop)
	return p, l.Addr().String(), logs, stop
}

// fakeServer is a scripted FTP server: each connection runs script.
type fakeServer struct {
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup
}

// fakeConn is one connection to a fake server.
type fakeConn struct {
	t *testing.T
	c net.Conn
	r *wire.Reader
}

func startFake(t *testing.T, addr string, script func(fc *fakeConn)) *fakeServer {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{Addr: ln.Addr().String(), ln: ln}
	fs.wg.Add(1)
	go func() {
		defer fs.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fs.wg.Add(1)
			go func() {
				defer fs.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(testTimeout))
				script(&fakeConn{t: t, c: c, r: wire.NewReader(c, 8192)})
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); fs.wg.Wait() })
	return fs
}

// send writes raw reply text; "\n" becomes CRLF.
func (f *fakeConn) send(s string) {
	io.WriteString(f.c, strings.ReplaceAll(s, "\n", "\r\n"))
}

// expect reads one command line and checks it.
func (f *fakeConn) expect(want string) bool {
	f.t.Helper()
	got, err := f.r.ReadLine()
	if err != nil {
		f.t.Errorf("fake server: want %q, read error %v", want, err)
		return false
	}
	if got != want {
		f.t.Errorf("fake server got %q, want %q", got, want)
		return false
	}
	return true
}

// login plays greeting, USER and PASS.
func (f *fakeConn) login() bool {
	f.send("220 fake ready\n")
	if !f.expect("USER u") {
		return false
	}
	f.send("331 pass\n")
	if !f.expect("PASS p") {
		return false
	}
	f.send("230 ok\n")
	return true
}

// serveRest answers every further line with 200, QUIT with 221.
func (f *fakeConn) serveRest() {
	for {
		l, err := f.r.ReadLine()
		if err != nil {
			return
		}
		if l == "QUIT" {
			f.send("221 bye\n")
			return
		}
		f.send("200 ok " + l + "\n")
	}
}

// dialProxy connects to the proxy without reading the greeting (the
// proxy may refuse with 421 instead).
func dialProxy(t *testing.T, addr string) *ftpservertest.Client {
	t.Helper()
	return ftpservertest.DialNoGreeting(t, addr)
}

// login reads the greeting and logs in as u/p.
func login(t testing.TB, tc *ftpservertest.Client) {
	t.Helper()
	tc.Expect(220)
	tc.Login("u", "p")
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
