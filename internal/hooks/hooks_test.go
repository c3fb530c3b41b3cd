package hooks_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/hooks"
	"github.com/ferryftp/ferry/storage/memfs"
)

// quiet is a logger for tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start starts hooks cfgs and a server on a memfs wired to them, with a
// logged-in client of user "u".
func start(t *testing.T, cfgs ...hooks.Config) (*ftpservertest.Client, *memfs.FS) {
	t.Helper()
	h, err := hooks.New(cfgs, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Shutdown(cancelled()) })
	fsys := memfs.New()
	srv := ftpservertest.Start(t, "", ftpserver.Options{
		Auth:        ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}),
		Observer:    h.Observer(),
		UploadCheck: h.UploadCheck(),
	})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	return c, fsys
}

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
	event  hooks.Event
}

// receiver is an httptest webhook receiver; answer decides each reply
// (nil: 204).
type receiver struct {
	*httptest.Server
	got    chan delivery
	answer func(n int, d delivery) int
	mu     sync.Mutex
	n      int
}

func newReceiver(t *testing.T, answer func(n int, d delivery) int) *receiver {
	r := &receiver{got: make(chan delivery, 100), answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{header: req.Header, body: body}
		if err := json.Unmarshal(body, &d.event); err != nil {
			t.Errorf("webhook body %q: %v", body, err)
		}
		r.mu.Lock()
		r.n++
		n := r.n
		r.mu.Unlock()
		code := http.StatusNoContent
		if r.answer != nil {
			code = r.answer(n, d)
		}
		w.WriteHeader(code)
		r.got <- d
	}))
	t.Cleanup(r.Close)
	return r
}

// next waits for the receiver's next request, for up to 10s.
func (r *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook request within 10s")
		return delivery{}
	}
}

func TestWebhookDeliversSignedEventsInOrder(t *testing.T) {
	r := newReceiver(t, nil)
	c, _ := start(t, hooks.Config{URL: r.URL, Secret: "s3cret", Events: []string{"upload", "delete", "mkdir", "rename", "logout"}})
	c.Stor("STOR", "a.txt", "hello")
	c.Do(257, "MKD d")
	c.Do(350, "RNFR a.txt")
	c.Do(250, "RNTO d/a.txt")
	c.Do(250, "DELE d/a.txt")
	c.Do(221, "QUIT")
	want := []struct{ event, path, from string }{
		{"upload", "/a.txt", ""}, {"mkdir", "/d", ""}, {"rename", "/d/a.txt", "/a.txt"}, {"delete", "/d/a.txt", ""}, {"logout", "", ""}}
	var session string
	for i, w := range want {
		d := r.next(t)
		e := d.event
		if e.Event != w.event || e.Path != w.path || e.From != w.from || e.User != "u" || e.Session == "" ||
			!strings.HasPrefix(e.Remote, "127.0.0.1:") || e.Time.IsZero() {
			t.Fatalf("event %d = %+v, want %+v", i, e, w)
		}
		if session != "" && e.Session != session {
			t.Fatalf("event %d has session %q, the first had %q", i, e.Session, session)
		}
		session = e.Session
		if d.header.Get(hooks.EventHeader) != w.event || d.header.Get("Content-Type") != "application/json" {
			t.Fatalf("event %d headers: %v", i, d.header)
		}
		sig := d.header.Get(hooks.SignatureHeader)
		if !hmac.Equal([]byte(sig), []byte(hooks.Sign([]byte("s3cret"), d.body))) || !strings.HasPrefix(sig, "sha256=") {
			t.Fatalf("event %d: signature %q does not match the body", i, sig)
		}
		if hooks.Sign([]byte("other"), d.body) == sig {
			t.Fatal("the signature does not depend on the secret")
		}
		if i == 0 && (e.Size != 5 || e.Result != "ok") {
			t.Fatalf("upload event = %+v", e)
		}
	}
}

func TestWebhookRetriesAfter500(t *testing.T) {
	r := newReceiver(t, func(n int, d delivery) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	c, _ := start(t, hooks.Config{URL: r.URL, Events: []string{"download"}, Backoff: time.Millisecond})
	c.Stor("STOR", "f", "x")
	if got := c.Retr("f"); got != "x" {
		t.Fatalf("RETR = %q", got)
	}
	first, second := r.next(t), r.next(t)
	if first.event.Event != "download" || string(first.body) != string(second.body) {
		t.Fatalf("the retry is not the same event: %s, then %s", first.body, second.body)
	}
}

func TestWebhookGivesUpAfterRetriesAndOn4xx(t *testing.T) {
	r := newReceiver(t, func(n int, d delivery) int {
		if d.event.Path == "/gone" {
			return http.StatusGone
		}
		return http.StatusServiceUnavailable
	})
	c, _ := start(t, hooks.Config{URL: r.URL, Events: []string{"mkdir"}, Retries: 2, Backoff: time.Millisecond})
	c.Do(257, "MKD busy")
	c.Do(257, "MKD gone")
	var paths []string
	for range 4 {
		paths = append(paths, r.next(t).event.Path)
	}
	if strings.Join(paths, " ") != "/busy /busy /busy /gone" {
		t.Fatalf("requests for %v; want 3 tries of /busy, then one of /gone", paths)
	}
	select {
	case d := <-r.got:
		t.Fatalf("a 410 was retried: %s", d.body)
	default:
	}
}

// fifo makes a named pipe in dir and returns a func that reads what a
// command writes to it, for up to 10s.
func fifo(t *testing.T, dir string) (string, func() string) {
	p := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, func() string {
		t.Helper()
		ch := make(chan string, 1)
		go func() {
			b, _ := os.ReadFile(p)
			ch <- string(b)
		}()
		select {
		case s := <-ch:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("the command did not report within 10s")
			return ""
		}
	}
}

func script(t *testing.T, dir, body string) string {
	p := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommandGetsTheEventInEnvAndStdin(t *testing.T) {
	dir := t.TempDir()
	pipe, read := fifo(t, dir)
	sh := script(t, dir, `{ echo "$FERRY_EVENT|$FERRY_USER|$FERRY_PATH|$FERRY_SIZE|$FERRY_RESULT|$1"; cat; } > "$FIFO"`+"\n")
	t.Setenv("FIFO", pipe)
	c, _ := start(t, hooks.Config{Command: []string{sh, "arg one"}, Events: []string{"upload", "download_failed"}})
	c.Stor("STOR", "up.bin", "12345678")
	out := read()
	line, body, _ := strings.Cut(out, "\n")
	if line != "upload|u|/up.bin|8|ok|arg one" {
		t.Fatalf("environment and argv seen by the command: %q", line)
	}
	var e hooks.Event
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Event != "upload" || e.Path != "/up.bin" || e.Size != 8 {
		t.Fatalf("stdin %q: %+v, %v", body, e, err)
	}
	c.Do(550, "RETR missing") // fails before any transfer: no event
	c.EPSVAddr()              // never connected to: ABOR ends the download before it starts
	c.Send("RETR up.bin")
	c.Send("ABOR")
	c.Expect(426)
	c.Expect(226)
	if line, _, _ := strings.Cut(read(), "\n"); !strings.HasPrefix(line, "download_failed|u|/up.bin|") || !strings.Contains(line, "|aborted|") {
		t.Fatalf("failed download seen as %q", line)
	}
}

func TestVetoByWebhook(t *testing.T) {
	r := newReceiver(t, func(n int, d delivery) int {
		if strings.HasSuffix(d.event.Path, ".exe") {
			return http.StatusForbidden
		}
		return http.StatusOK
	})
	c, fsys := start(t, hooks.Config{URL: r.URL, Events: []string{"upload"}, Veto: true})
	c.Stor("STOR", "ok.txt", "fine")
	if d := r.next(t); d.event.Path != "/ok.txt" || d.event.Size != 4 {
		t.Fatalf("veto hook got %+v", d.event)
	}
	storRejected(t, c, "virus.exe", "MZ")
	if _, err := fsys.ReadFile("virus.exe"); err == nil {
		t.Fatal("the vetoed upload is still there")
	}
	if b, err := fsys.ReadFile("ok.txt"); err != nil || string(b) != "fine" {
		t.Fatalf("the accepted upload: %q, %v", b, err)
	}
}

// storRejected uploads data to name and expects 550 at the end.
func storRejected(t *testing.T, c *ftpservertest.Client, name, data string) {
	t.Helper()
	d := c.EPSV()
	c.Do(150, "STOR %s", name)
	io.WriteString(d, data)
	d.Close()
	c.Expect(550)
}

func TestVetoByCommand(t *testing.T) {
	dir := t.TempDir()
	sh := script(t, dir, `case "$FERRY_PATH" in */inbox/*) exit 0;; esac; echo "not in the inbox" >&2; exit 1`+"\n")
	c, fsys := start(t,
		hooks.Config{Command: []string{sh}, Events: []string{"upload"}, Veto: true},
		hooks.Config{Command: []string{"/bin/true"}, Events: []string{"upload"}, Veto: true})
	c.Do(257, "MKD inbox")
	c.Stor("STOR", "inbox/a", "A")
	storRejected(t, c, "b", "B")
	c.Stor("STOR", "inbox/c", "C")
	for name, want := range map[string]bool{"inbox/a": true, "b": false, "inbox/c": true} {
		if _, err := fsys.ReadFile(name); (err == nil) != want {
			t.Errorf("%s present: %v, want %v", name, err == nil, want)
		}
	}
	t.Run("a false veto hook refuses everything", func(t *testing.T) {
		c, fsys := start(t, hooks.Config{Command: []string{"/bin/false"}, Events: []string{"upload"}, Veto: true})
		storRejected(t, c, "x", "X")
		if _, err := fsys.ReadFile("x"); err == nil {
			t.Fatal("x is still there")
		}
	})
}

func TestQueueOverflowIsCountedNotBlocking(t *testing.T) {
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	h, err := hooks.New([]hooks.Config{{URL: srv.URL, Events: []string{"mkdir"}, Queue: 1, Retries: -1, Timeout: time.Minute}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(cancelled())
	obs := h.Observer()
	ev := func(i int) ftpserver.FileEvent {
		return ftpserver.FileEvent{EventInfo: ftpserver.EventInfo{SessionID: "s", Time: time.Now()}, Op: "MKD", Path: fmt.Sprint("/", i)}
	}
	obs.FileOp(ev(0))
	<-entered // the worker holds event 0 in a request that hangs
	before := hooks.Dropped()
	for i := 1; i <= 6; i++ {
		obs.FileOp(ev(i)) // 1 is queued, 2..6 are dropped
	}
	if got := hooks.Dropped() - before; got != 5 {
		t.Fatalf("dropped %d events, want 5", got)
	}
	obs.FileOp(ftpserver.FileEvent{Op: "DELE"}) // not wanted by the hook: not dropped either
	if got := hooks.Dropped() - before; got != 5 {
		t.Fatalf("an event no hook wants was counted as dropped (%d)", got)
	}
}

func TestHangingHooksNeverStallTransfers(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then a closed connection cancels r.Context()
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close) // after the hooks' Shutdown, which ends the request
	dir := t.TempDir()
	sleeper := script(t, dir, "exec sleep 600\n")
	c, fsys := start(t,
		hooks.Config{URL: hang.URL, Events: hooks.Names, Timeout: time.Hour, Queue: 2},
		hooks.Config{Command: []string{sleeper}, Events: hooks.Names, Timeout: time.Hour, Queue: 2, Concurrency: 1})
	// The client's session deadline (ftpservertest.SessionTimeout) bounds
	// the whole run: a transfer waiting for a hook would fail it.
	for i := range 20 {
		name := fmt.Sprintf("f%d", i)
		c.Stor("STOR", name, name)
		if got := c.Retr(name); got != name {
			t.Fatalf("RETR %s = %q", name, got)
		}
		c.Do(250, "DELE %s", name)
	}
	if _, err := fsys.ReadFile("f19"); err == nil {
		t.Fatal("f19 was not deleted")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  hooks.Config
		want string
	}{
		{hooks.Config{Events: []string{"upload"}}, "exactly one of url and command"},
		{hooks.Config{URL: "http://x", Command: []string{"/bin/true"}, Events: []string{"upload"}}, "exactly one"},
		{hooks.Config{URL: "ftp://x", Events: []string{"upload"}}, "http:// or https://"},
		{hooks.Config{URL: "http://x"}, "at least one event"},
		{hooks.Config{URL: "http://x", Events: []string{"uplaod"}}, `unknown event "uplaod"`},
		{hooks.Config{URL: "http://x", Events: []string{"upload", "delete"}, Veto: true}, `just ["upload"]`},
		{hooks.Config{Command: []string{"/bin/true"}, Events: []string{"upload"}, Batch: 10}, "only a webhook"},
		{hooks.Config{URL: "http://x", Events: []string{"upload"}, Veto: true, Batch: 10}, "only a webhook"},
		{hooks.Config{URL: "http://x", Events: []string{"upload"}, Batch: -1}, "cannot be negative"},
	} {
		if _, err := hooks.New([]hooks.Config{tc.cfg}, quiet); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestUploadEventCarriesTheDigestWhenComputed(t *testing.T) {
	r := newReceiver(t, nil)
	c, _ := start(t, hooks.Config{URL: r.URL, Events: []string{"upload"}})
	c.Stor("STOR", "plain", "abc")
	if e := r.next(t).event; e.SHA256 != "" {
		t.Fatalf("an upload the server did not hash has sha256 %q", e.SHA256)
	}
	c.Do(200, "OPTS HASH SHA-256")
	c.Stor("STOR", "hashed", "abc")
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // SHA-256("abc")
	if e := r.next(t).event; e.SHA256 != want || e.Path != "/hashed" {
		t.Fatalf("upload event %+v, want sha256 %s", e, want)
	}
}

// mkdirs emits n mkdir events of session "s" through obs, paths /0../n-1.
func mkdirs(obs *ftpserver.Observer, from, n int) {
	for i := from; i < from+n; i++ {
		obs.FileOp(ftpserver.FileEvent{EventInfo: ftpserver.EventInfo{SessionID: "s", Time: time.Now()}, Op: "MKD", Path: fmt.Sprint("/", i)})
	}
}

// rawReceiver records each request's headers and body.
func rawReceiver(t *testing.T, delay time.Duration) (*httptest.Server, chan delivery) {
	got := make(chan delivery, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		time.Sleep(delay)
		got <- delivery{header: req.Header, body: body}
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestBatchedWebhookPostsArraysInOrder(t *testing.T) {
	srv, got := rawReceiver(t, 0)
	h, err := hooks.New([]hooks.Config{{URL: srv.URL, Secret: "k", Events: []string{"mkdir"}, Batch: 3, BatchWait: time.Hour}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	obs := h.Observer()
	mkdirs(obs, 0, 7) // two full batches now; the seventh waits for more
	next := 0
	read := func(want int) {
		t.Helper()
		var d delivery
		select {
		case d = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no request within 10s")
		}
		var events []hooks.Event
		if err := json.Unmarshal(d.body, &events); err != nil {
			t.Fatalf("batch body %q: %v", d.body, err)
		}
		if len(events) != want {
			t.Fatalf("a batch of %d events, want %d", len(events), want)
		}
		for _, e := range events {
			if e.Path != fmt.Sprint("/", next) || e.Event != "mkdir" {
				t.Fatalf("event %+v, want path /%d", e, next)
			}
			next++
		}
		if d.header.Get(hooks.EventHeader) != hooks.BatchEvent || d.header.Get(hooks.SignatureHeader) != hooks.Sign([]byte("k"), d.body) {
			t.Fatalf("headers %v", d.header)
		}
	}
	read(3)
	read(3)
	select {
	case d := <-got:
		t.Fatalf("a batch of one was posted before its wait was over: %s", d.body)
	case <-time.After(100 * time.Millisecond):
	}
	mkdirs(obs, 7, 2) // fills the third batch
	read(3)
}

func TestBatchWaitBoundsTheDelay(t *testing.T) {
	srv, got := rawReceiver(t, 0)
	h, err := hooks.New([]hooks.Config{{URL: srv.URL, Events: []string{"mkdir"}, Batch: 100, BatchWait: 50 * time.Millisecond}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mkdirs(h.Observer(), 0, 1)
	select {
	case d := <-got:
		if string(d.body[:1]) != "[" {
			t.Fatalf("a batching hook posted %s, want an array", d.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone event was not posted after its batch wait")
	}
}

func TestCloseDeliversWhatIsQueued(t *testing.T) {
	for _, batch := range []int{0, 4} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			srv, got := rawReceiver(t, 20*time.Millisecond) // slow: events pile up in the queue
			h, err := hooks.New([]hooks.Config{{URL: srv.URL, Events: []string{"mkdir"}, Batch: batch, BatchWait: time.Hour}}, quiet)
			if err != nil {
				t.Fatal(err)
			}
			obs := h.Observer()
			mkdirs(obs, 0, 10)
			h.Close()
			mkdirs(obs, 10, 1) // after Close: dropped
			n := 0
			for len(got) > 0 {
				d := <-got
				var events []hooks.Event
				if batch == 0 {
					events = make([]hooks.Event, 1)
					json.Unmarshal(d.body, &events[0])
				} else if err := json.Unmarshal(d.body, &events); err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					if e.Path != fmt.Sprint("/", n) {
						t.Fatalf("event %+v, want path /%d", e, n)
					}
					n++
				}
			}
			if n != 10 {
				t.Fatalf("%d of the 10 events queued at Close were delivered by its return", n)
			}
		})
	}
}

// cancelled is a done context: Shutdown with it delivers nothing more.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
