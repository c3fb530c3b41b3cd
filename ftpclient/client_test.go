package ftpclient

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/memfs"
)

// cancelAfter is a writer that cancels a context once it has seen n bytes.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
	seen   int
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.seen += len(p)
	if w.seen >= w.n {
		w.cancel()
	}
	return len(p), nil
}

func TestCancellingATransferAbortsItAndKeepsTheConnectionUsable(t *testing.T) {
	for _, m := range modes[:3] {
		t.Run(m.name, func(t *testing.T) {
			addr, root := server(t, "")
			writeFile(t, filepath.Join(root, "big.bin"), randomBytes(64<<20))
			var transcript bytes.Buffer
			m.opts.Debug = &transcript
			c := dial(t, addr, m.opts)
			ctx, cancel := context.WithCancel(testCtx(t))
			_, err := c.Retr(ctx, "big.bin", 0, &cancelAfter{n: 1 << 20, cancel: cancel})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Retr after cancel = %v, want context.Canceled", err)
			}
			if err := c.Noop(testCtx(t)); err != nil {
				t.Fatalf("NOOP after abort: %v\n%s", err, transcript.String())
			}
			if !strings.Contains(transcript.String(), "> ABOR") {
				t.Fatalf("no ABOR sent:\n%s", transcript.String())
			}
			if _, err := c.Size(testCtx(t), "big.bin"); err != nil {
				t.Fatalf("SIZE after abort: %v\n%s", err, transcript.String())
			}
		})
	}
}

func TestRetrRangeReadsExactlyTheRangeAndStaysInStep(t *testing.T) {
	addr, root := server(t, "")
	data := randomBytes(4 << 20)
	writeFile(t, filepath.Join(root, "r.bin"), data)
	c := dial(t, addr, Options{})
	ctx := testCtx(t)
	for _, r := range []struct {
		name        string
		off, length int64
	}{
		{"a range at the start", 0, 1000},
		{"a range in the middle", 1 << 20, 1 << 20},
		{"a range running past the end stops at the end", 4<<20 - 10, 100},
	} {
		t.Run(r.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := c.RetrRange(ctx, "r.bin", r.off, r.length, &buf)
			end := min(r.off+r.length, int64(len(data)))
			if err != nil || n != end-r.off || !bytes.Equal(buf.Bytes(), data[r.off:end]) {
				t.Fatalf("RetrRange = %d, %v", n, err)
			}
			if err := c.Noop(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPASVAddressPolicy(t *testing.T) {
	ctrl := netip.MustParseAddr("203.0.113.7")
	c := &Conn{remoteIP: ctrl}
	for _, tc := range []struct {
		name   string
		policy PASVAddrPolicy
		in     string
		want   string
	}{
		{"a private address is replaced by the control address", PASVAddrFixPrivate, "10.0.0.5:4000", "203.0.113.7:4000"},
		{"a loopback address is replaced", PASVAddrFixPrivate, "127.0.0.1:4000", "203.0.113.7:4000"},
		{"a CGNAT address is replaced", PASVAddrFixPrivate, "100.64.1.2:4000", "203.0.113.7:4000"},
		{"a public address is kept", PASVAddrFixPrivate, "198.51.100.9:4000", "198.51.100.9:4000"},
		{"use-control replaces even a public address", PASVAddrUseControl, "198.51.100.9:4000", "203.0.113.7:4000"},
		{"trust keeps a private address", PASVAddrTrust, "10.0.0.5:4000", "10.0.0.5:4000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.opts.PASVAddr = tc.policy
			if got := c.fixPASV(netip.MustParseAddrPort(tc.in)); got.String() != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// flakyDialer makes the first data connection die after limit bytes.
// beforeDeath, when set, runs once just before it dies.
type flakyDialer struct {
	ctrl        string
	limit       int64
	beforeDeath func()
	used        atomic.Bool
}

func (f *flakyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil || addr == f.ctrl || f.used.Swap(true) {
		return c, err
	}
	return &dyingConn{Conn: c, left: f.limit, beforeDeath: f.beforeDeath}, nil
}

type dyingConn struct {
	net.Conn
	left        int64
	beforeDeath func()
}

// die runs the beforeDeath hook (once) and closes the connection.
func (d *dyingConn) die() {
	if d.beforeDeath != nil {
		d.beforeDeath()
		d.beforeDeath = nil
	}
	d.Conn.Close()
}

func (d *dyingConn) Read(p []byte) (int, error) {
	if d.left <= 0 {
		d.die()
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset (injected)")}
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.Conn.Read(p)
	d.left -= int64(n)
	return n, err
}

func (d *dyingConn) Write(p []byte) (int, error) {
	if d.left <= 0 {
		d.die()
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: errors.New("connection reset (injected)")}
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.Conn.Write(p)
	d.left -= int64(n)
	return n, err
}

func TestClientResumesADownloadAfterTheConnectionDrops(t *testing.T) {
	addr, root := server(t, "")
	data := randomBytes(3 << 20)
	writeFile(t, filepath.Join(root, "f.bin"), data)
	var transcript syncBuf
	fd := &flakyDialer{ctrl: addr, limit: 1 << 20}
	cl := NewClient(addr, Options{User: testUser, Password: testPass, DialContext: fd.DialContext, Debug: &transcript, Timeout: 5 * time.Second})
	cl.RetryDelay = time.Millisecond
	defer cl.Close()
	local := filepath.Join(t.TempDir(), "f.bin")
	if _, err := cl.Download(testCtx(t), "f.bin", local, TransferOptions{Verify: true}); err != nil {
		t.Fatalf("Download: %v\n%s", err, transcript.String())
	}
	mustEqualFile(t, local, data)
	if !strings.Contains(transcript.String(), "> REST ") {
		t.Fatalf("the retry did not resume with REST:\n%s", transcript.String())
	}
}

func TestClientResumesAnUploadAfterTheConnectionDrops(t *testing.T) {
	addr, root := server(t, "")
	data := randomBytes(3 << 20)
	local := filepath.Join(t.TempDir(), "u.bin")
	writeFile(t, local, data)
	var transcript syncBuf
	// The server creates the file only once it has taken the data
	// connection (an ABOR before that changes nothing, and leaves nothing
	// to resume), so the connection dies only once bytes are stored.
	stored := func() {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if fi, err := os.Stat(filepath.Join(root, "u.bin")); err == nil && fi.Size() > 0 {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	fd := &flakyDialer{ctrl: addr, limit: 1 << 20, beforeDeath: stored}
	cl := NewClient(addr, Options{User: testUser, Password: testPass, DialContext: fd.DialContext, Debug: &transcript, Timeout: 5 * time.Second})
	cl.RetryDelay = 50 * time.Millisecond
	defer cl.Close()
	if _, err := cl.Upload(testCtx(t), local, "u.bin", TransferOptions{Verify: true}); err != nil {
		t.Fatalf("Upload: %v\n%s", err, transcript.String())
	}
	mustEqualFile(t, filepath.Join(root, "u.bin"), data)
	if !strings.Contains(transcript.String(), "> REST ") && !strings.Contains(transcript.String(), "> APPE ") {
		t.Fatalf("the retry did not resume:\n%s", transcript.String())
	}
}

func TestClientRetriesWhenTheServerAnswers421(t *testing.T) {
	fsys := memfs.New()
	s := ftpservertest.Start(t, "", ftpserver.Options{
		MaxSessionsPerIP: 1,
		Auth:             ftpservertest.Auth(ftpservertest.User{Name: testUser, Password: testPass, FS: fsys, Perms: ftpserver.PermAll}),
	})
	hog := dial(t, s.Addr, Options{})
	var dials atomic.Int32
	countDials := func(ctx context.Context, network, addr string) (net.Conn, error) {
		// The first dial meets the hog's session and gets 421; before the
		// retry, the hog leaves.
		if addr == s.Addr && dials.Add(1) == 2 {
			hog.Quit(ctx)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	cl := NewClient(s.Addr, Options{User: testUser, Password: testPass, Timeout: 5 * time.Second, DialContext: countDials})
	cl.RetryDelay = 100 * time.Millisecond
	cl.Retries = 5
	defer cl.Close()
	err := cl.Do(testCtx(t), func(c *Conn) error { return c.Mkdir(testCtx(t), "made") })
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if dials.Load() < 2 {
		t.Fatalf("%d dials: the 421 was not retried", dials.Load())
	}
	if _, err := fsys.Stat(context.Background(), "made"); err != nil {
		t.Fatalf("directory not made: %v", err)
	}
}

func TestClientRunsOperationsInParallel(t *testing.T) {
	addr, root := server(t, "")
	cl := NewClient(addr, Options{User: testUser, Password: testPass})
	cl.MaxConns = 4
	defer cl.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- cl.Do(testCtx(t), func(c *Conn) error {
				_, err := c.Stor(testCtx(t), "p"+string(rune('a'+i)), 0, strings.NewReader(strings.Repeat("x", i)))
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	names, _ := os.ReadDir(root)
	if len(names) != 16 {
		t.Fatalf("%d files uploaded, want 16", len(names))
	}
}

func TestSegmentedDownloadProducesIdenticalBytes(t *testing.T) {
	for _, segs := range []int{1, 3, 4} {
		t.Run(itoa(segs)+" segments give an identical file", func(t *testing.T) {
			addr, root := server(t, "")
			data := randomBytes(8<<20 + 12345)
			writeFile(t, filepath.Join(root, "seg.bin"), data)
			var transcript syncBuf
			cl := NewClient(addr, Options{User: testUser, Password: testPass, Debug: &transcript})
			cl.MaxConns = segs
			defer cl.Close()
			local := filepath.Join(t.TempDir(), "seg.bin")
			var progressed atomic.Int64
			n, err := cl.DownloadSegmented(testCtx(t), "seg.bin", local, segs, TransferOptions{Verify: true}, func(n int64) { progressed.Add(n) })
			if err != nil || n != int64(len(data)) || progressed.Load() != n {
				t.Fatalf("DownloadSegmented = %d (progress %d), %v\n%s", n, progressed.Load(), err, transcript.String())
			}
			mustEqualFile(t, local, data)
			if got := strings.Count(transcript.String(), "> RETR "); got != segs {
				t.Fatalf("%d RETR commands, want %d", got, segs)
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMirrorCopiesTreesBothWays(t *testing.T) {
	addr, root := server(t, "")
	cl := NewClient(addr, Options{User: testUser, Password: testPass})
	defer cl.Close()
	ctx := testCtx(t)
	local := t.TempDir()
	files := map[string][]byte{
		"a.txt":         []byte("alpha"),
		"sub/b.bin":     randomBytes(200_000),
		"sub/deep/c":    randomBytes(10),
		"empty/":        nil,
		"sub/.hidden":   []byte("h"),
		"skip/ignored":  []byte("x"),
		"sub/x.tmp":     []byte("excluded"),
		"space dir/f g": []byte("spaces"),
	}
	for name, data := range files {
		if strings.HasSuffix(name, "/") {
			os.MkdirAll(filepath.Join(local, name), 0o755)
			continue
		}
		writeFile(t, filepath.Join(local, name), data)
	}
	var actions []string
	var mu sync.Mutex
	logf := func(a MirrorAction) { mu.Lock(); actions = append(actions, a.Op+" "+a.Path); mu.Unlock() }
	excl := []string{"skip", "*.tmp"}

	t.Run("a dry run changes nothing", func(t *testing.T) {
		st, err := cl.MirrorUp(ctx, local, "/up", MirrorOptions{DryRun: true, Exclude: excl})
		if err != nil || st.Files != 5 {
			t.Fatalf("dry run = %+v, %v", st, err)
		}
		if _, err := os.Stat(filepath.Join(root, "up")); err == nil {
			t.Fatal("dry run created the remote folder")
		}
	})
	t.Run("mirror up copies every file with identical bytes", func(t *testing.T) {
		st, err := cl.MirrorUp(ctx, local, "/up", MirrorOptions{Parallel: 3, Verify: true, Exclude: excl, Log: logf})
		if err != nil || st.Files != 5 {
			t.Fatalf("MirrorUp = %+v, %v (%v)", st, err, actions)
		}
		for name, data := range files {
			if strings.HasSuffix(name, "/") || strings.HasPrefix(name, "skip") || strings.HasSuffix(name, ".tmp") {
				continue
			}
			mustEqualFile(t, filepath.Join(root, "up", name), data)
		}
		if fi, err := os.Stat(filepath.Join(root, "up", "empty")); err != nil || !fi.IsDir() {
			t.Fatal("empty directory not mirrored")
		}
		if _, err := os.Stat(filepath.Join(root, "up", "skip")); err == nil {
			t.Fatal("excluded directory mirrored")
		}
	})
	t.Run("a second mirror up with only-newer transfers nothing", func(t *testing.T) {
		st, err := cl.MirrorUp(ctx, local, "/up", MirrorOptions{OnlyNewer: true, Exclude: excl})
		if err != nil || st.Files != 0 {
			t.Fatalf("MirrorUp again = %+v, %v", st, err)
		}
	})
	down := t.TempDir()
	t.Run("mirror down copies the tree back with identical bytes and times", func(t *testing.T) {
		st, err := cl.MirrorDown(ctx, "/up", down, MirrorOptions{Parallel: 2, Verify: true})
		if err != nil || st.Files != 5 {
			t.Fatalf("MirrorDown = %+v, %v", st, err)
		}
		for name, data := range files {
			if strings.HasSuffix(name, "/") || strings.HasPrefix(name, "skip") || strings.HasSuffix(name, ".tmp") {
				continue
			}
			mustEqualFile(t, filepath.Join(down, name), data)
		}
		a, _ := os.Stat(filepath.Join(root, "up", "a.txt"))
		b, _ := os.Stat(filepath.Join(down, "a.txt"))
		if !a.ModTime().Truncate(time.Second).Equal(b.ModTime().Truncate(time.Second)) {
			t.Fatalf("mtime not kept: %v vs %v", a.ModTime(), b.ModTime())
		}
	})
	t.Run("mirror down with delete removes what the source lacks", func(t *testing.T) {
		os.Remove(filepath.Join(root, "up", "sub", "deep", "c"))
		os.Remove(filepath.Join(root, "up", "sub", "deep"))
		writeFile(t, filepath.Join(down, "extra", "e.txt"), []byte("e"))
		actions = nil
		st, err := cl.MirrorDown(ctx, "/up", down, MirrorOptions{Delete: true, OnlyNewer: true, Log: logf})
		if err != nil || st.Deleted != 4 || st.Files != 0 {
			t.Fatalf("MirrorDown --delete = %+v, %v (%v)", st, err, actions)
		}
		for _, gone := range []string{"sub/deep/c", "sub/deep", "extra/e.txt", "extra"} {
			if _, err := os.Stat(filepath.Join(down, gone)); err == nil {
				t.Errorf("%s still exists", gone)
			}
		}
		slices.Sort(actions)
		if want := "delete extra/e.txt,delete sub/deep/c,rmdir extra,rmdir sub/deep"; strings.Join(actions, ",") != want {
			t.Errorf("actions %v, want %s", actions, want)
		}
	})
	t.Run("a changed source file is transferred again", func(t *testing.T) {
		writeFile(t, filepath.Join(root, "up", "a.txt"), []byte("alpha, longer"))
		st, err := cl.MirrorDown(ctx, "/up", down, MirrorOptions{})
		if err != nil || st.Files != 1 {
			t.Fatalf("MirrorDown = %+v, %v", st, err)
		}
		mustEqualFile(t, filepath.Join(down, "a.txt"), []byte("alpha, longer"))
	})
}
