package ftpserver_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/memfs"
)

// recorder keeps every event an Observer reports.
type recorder struct {
	mu     sync.Mutex
	events []any
	added  chan struct{} // closed and replaced at each event
}

func newRecorder() *recorder { return &recorder{added: make(chan struct{})} }

func (r *recorder) add(e any) {
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.added)
	r.added = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) observer() *ftpserver.Observer {
	return &ftpserver.Observer{
		SessionOpened: func(e ftpserver.SessionEvent) { r.add(opened(e)) },
		SessionClosed: func(e ftpserver.SessionEvent) { r.add(closed(e)) },
		StateChanged:  func(e ftpserver.StateEvent) { r.add(e) },
		Login:         func(e ftpserver.LoginEvent) { r.add(e) },
		TransferDone:  func(e ftpserver.TransferEvent) { r.add(e) },
		DataConn:      func(e ftpserver.DataConnEvent) { r.add(e) },
		TLSFailed:     func(e ftpserver.TLSEvent) { r.add(e) },
		StorageError:  func(e ftpserver.StorageEvent) { r.add(e) },
		BanAdded:      func(e ftpserver.BanEvent) { r.add(e) },
		BanExpired:    func(e ftpserver.BanEvent) { r.add(expired(e)) },
		Reload:        func(e ftpserver.ReloadEvent) { r.add(e) },
	}
}

type opened ftpserver.SessionEvent
type closed ftpserver.SessionEvent
type expired ftpserver.BanEvent

// find returns the events of type T recorded so far.
func find[T any](r *recorder) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []T
	for _, e := range r.events {
		if v, ok := e.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// awaitEvent waits until n events of type T are recorded, for up to 5s.
func awaitEvent[T any](t *testing.T, r *recorder, n int) []T {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		ch := r.added
		r.mu.Unlock()
		if got := find[T](r); len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			var zero T
			t.Fatalf("no %T event within 5s", zero)
		}
	}
}

func TestObserverEvents(t *testing.T) {
	rec := newRecorder()
	srv, _ := newMemServer(t, ftpserver.Options{Observer: rec.observer(), MaxLoginFailures: 2, BanDuration: 300 * time.Millisecond},
		map[string]string{"f.txt": "hello"})
	c := ftpservertest.Dial(t, srv.Addr)

	t.Run("a failed login is reported with its method and result", func(t *testing.T) {
		c.Do(331, "USER u")
		c.Do(530, "PASS wrong")
		got := find[ftpserver.LoginEvent](rec)
		if len(got) != 1 || got[0].Result != ftpserver.LoginFailed || got[0].Method != ftpserver.LoginPassword || got[0].User != "u" {
			t.Fatalf("login events = %+v", got)
		}
		if got[0].SessionID == "" || !got[0].Remote.IsValid() || got[0].Time.IsZero() {
			t.Fatalf("login event lacks session info: %+v", got[0])
		}
	})
	t.Run("a good login is reported with the state change", func(t *testing.T) {
		c.Login("u", "p")
		got := find[ftpserver.LoginEvent](rec)
		if len(got) != 2 || got[1].Result != ftpserver.LoginOK {
			t.Fatalf("login events = %+v", got)
		}
		st := find[ftpserver.StateEvent](rec)
		if len(st) != 1 || st[0].From != ftpserver.StateUnauthenticated || st[0].To != ftpserver.StateLoggedIn {
			t.Fatalf("state events = %+v", st)
		}
	})
	t.Run("a download is reported with its bytes, and its data connection", func(t *testing.T) {
		if got := c.Retr("f.txt"); got != "hello" {
			t.Fatalf("RETR = %q", got)
		}
		x := find[ftpserver.TransferEvent](rec)
		if len(x) != 1 || x[0].Verb != "RETR" || x[0].Direction != ftpserver.DirDownload || x[0].Result != ftpserver.ResultOK ||
			x[0].Bytes != 5 || x[0].Path != "/f.txt" || x[0].User != "u" || x[0].Duration <= 0 {
			t.Fatalf("transfer events = %+v", x)
		}
		d := find[ftpserver.DataConnEvent](rec)
		if len(d) != 1 || !d[0].Passive || d[0].TLS || !d[0].OK {
			t.Fatalf("data connection events = %+v", d)
		}
	})
	t.Run("an upload is reported as such", func(t *testing.T) {
		c.Stor("STOR", "up.txt", "0123456789")
		x := find[ftpserver.TransferEvent](rec)
		if len(x) != 2 || x[1].Direction != ftpserver.DirUpload || x[1].Bytes != 10 || x[1].Result != ftpserver.ResultOK {
			t.Fatalf("transfer events = %+v", x)
		}
	})
	t.Run("a storage failure is reported with the command and reply code", func(t *testing.T) {
		c.Do(550, "DELE missing.txt")
		got := find[ftpserver.StorageEvent](rec)
		if len(got) != 1 || got[0].Op != "DELE" || got[0].Code != 550 || got[0].Err == nil {
			t.Fatalf("storage events = %+v", got)
		}
	})
	t.Run("a handler's own refusal is no storage error", func(t *testing.T) {
		c.Do(501, "RNTO")
		if got := find[ftpserver.StorageEvent](rec); len(got) != 1 {
			t.Fatalf("storage events = %+v", got)
		}
	})
	t.Run("the session's open and close are reported", func(t *testing.T) {
		c.Do(221, "QUIT")
		cl := awaitEvent[closed](t, rec, 1)
		op := find[opened](rec)
		if len(op) != 1 || len(cl) != 1 || cl[0].SessionID != op[0].SessionID || cl[0].Duration <= 0 || cl[0].User != "u" {
			t.Fatalf("opened %+v, closed %+v", op, cl)
		}
	})
	t.Run("a ban is reported", func(t *testing.T) {
		b := ftpservertest.Dial(t, srv.Addr)
		b.Do(331, "USER x")
		b.Do(530, "PASS x")
		b.Do(331, "USER x")
		b.Do(421, "PASS x")
		got := find[ftpserver.BanEvent](rec)
		if len(got) != 1 || !got[0].Addr.IsLoopback() || !got[0].Until.After(time.Now()) {
			t.Fatalf("ban events = %+v", got)
		}
		if st := srv.Stats(); st.BansActive != 1 {
			t.Fatalf("Stats().BansActive = %d, want 1", st.BansActive)
		}
		ex := awaitEvent[expired](t, rec, 1)
		if ex[0].Addr != got[0].Addr || time.Now().Before(got[0].Until) {
			t.Fatalf("ban expired %+v, before its time %v", ex[0], got[0].Until)
		}
		if st := srv.Stats(); st.BansActive != 0 {
			t.Fatalf("after the ban expired, Stats().BansActive = %d", st.BansActive)
		}
	})
}

func TestObserverTLSFailure(t *testing.T) {
	rec := newRecorder()
	srv := startTLS(t, ftpserver.Options{Observer: rec.observer()})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Do(234, "AUTH TLS")
	c.Raw("this is not a TLS ClientHello\r\n")
	got := awaitEvent[ftpserver.TLSEvent](t, rec, 1)
	if len(got) != 1 || got[0].Data || got[0].Err == nil {
		t.Fatalf("TLS events = %+v", got)
	}

	t.Run("a failed data-connection handshake is reported as data", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.StartTLS(clientTLS(0))
		c.Login("u", "p")
		c.Do(200, "PBSZ 0")
		c.Do(200, "PROT P")
		d := c.EPSV()
		c.Send("RETR f.txt")
		d.Write([]byte("not TLS either\r\n"))
		d.Close()
		// The server drops the bad connection and waits on for the
		// client's own; the event is what this test is about.
		data := awaitEvent[ftpserver.TLSEvent](t, rec, 2)
		if len(data) < 2 || !data[1].Data || data[1].User != "u" {
			t.Fatalf("TLS events = %+v", data)
		}
	})
}

func TestStatsPassivePorts(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{PassivePortMin: 40000, PassivePortMax: 40999}, map[string]string{"f.txt": "x"})
	if st := srv.Stats(); st.PassiveRange != 1000 || st.PassiveInUse != 0 {
		t.Fatalf("Stats() = %+v", st)
	}
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	if st := srv.Stats(); st.Sessions != 1 || st.Unauthenticated != 0 {
		t.Fatalf("after login: Stats() = %+v", st)
	}
	addr := c.EPSVAddr()
	if st := srv.Stats(); st.PassiveInUse != 1 {
		t.Fatalf("after EPSV: Stats() = %+v", st)
	}
	d := c.DialData(addr)
	c.Do(150, "RETR f.txt")
	d.Close()
	c.Expect(226)
	c.Do(257, "PWD") // waits for the transfer's end, which comes just after its 226
	// The listener stays open (and counted: it holds a port of the
	// range) for the session's next EPSV.
	if st := srv.Stats(); st.PassiveInUse != 1 || st.Transferring != 0 {
		t.Fatalf("after the transfer: Stats() = %+v", st)
	}
	if again := c.EPSVAddr(); again != addr {
		t.Fatalf("second EPSV announced %s, want the kept %s", again, addr)
	}
	if st := srv.Stats(); st.PassiveInUse != 1 {
		t.Fatalf("after the second EPSV: Stats() = %+v", st)
	}
	c.Do(200, "NOOP")
	c.Do(221, "QUIT")
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().PassiveInUse != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a passive listener stays counted after the session ended: %+v", srv.Stats())
		}
		c2 := ftpservertest.Dial(t, srv.Addr) // a round trip to the server, no sleep
		c2.Do(221, "QUIT")
	}
}

// sickAuth is an Authenticator whose health check fails.
type sickAuth struct{ ftpserver.Authenticator }

func (sickAuth) CheckHealth(context.Context) error { return errors.New("database down") }

// ready waits until srv serves its listener (Serve runs in a goroutine)
// and returns what Ready says then.
func ready(t *testing.T, srv *ftpservertest.Server) error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Server.Addr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the server does not serve its listener within 5s")
		}
		runtime.Gosched()
	}
	return srv.Ready(context.Background())
}

func TestReady(t *testing.T) {
	fsys := memfs.New()
	good := ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys})
	t.Run("a listening server with a healthy store is ready", func(t *testing.T) {
		srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: good})
		if err := ready(t, srv); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if err := srv.Ready(context.Background()); err == nil {
			t.Fatal("a closed server is ready")
		}
	})
	t.Run("a server whose user store fails is not ready", func(t *testing.T) {
		srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: sickAuth{good}})
		err := ready(t, srv)
		if err == nil || !strings.Contains(err.Error(), "database down") {
			t.Fatalf("Ready = %v", err)
		}
	})
	t.Run("a server not yet serving is not ready", func(t *testing.T) {
		srv, err := ftpserver.New(ftpserver.Options{Auth: good})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Ready(context.Background()); err == nil {
			t.Fatal("ready before Serve")
		}
	})
}

func TestObserverReload(t *testing.T) {
	rec := newRecorder()
	srv, _ := newMemServer(t, ftpserver.Options{Observer: rec.observer()}, nil)
	opts := ftpserver.Options{Auth: ftpservertest.Auth(), Observer: rec.observer(), Logger: slog.New(slog.DiscardHandler)}
	if err := srv.Reload(opts); err != nil {
		t.Fatal(err)
	}
	opts.PassivePortMin = 10
	if err := srv.Reload(opts); err == nil {
		t.Fatal("a bad passive range was accepted")
	}
	got := find[ftpserver.ReloadEvent](rec)
	if len(got) != 2 || !got[0].OK || got[1].OK || got[1].Err == nil {
		t.Fatalf("reload events = %+v", got)
	}
}
