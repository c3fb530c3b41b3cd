package ftpserver_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
)

// hashDigest runs HASH name and returns the hex digest.
func hashDigest(t *testing.T, c *ftpservertest.Client, name string) string {
	t.Helper()
	f := strings.Fields(c.Do(213, "HASH %s", name))
	if len(f) < 3 {
		t.Fatalf("HASH reply %q", f)
	}
	return f[2]
}

// storedContent reads name straight from the storage (not counted).
func storedContent(t *testing.T, fsys *openCounter, name string) string {
	t.Helper()
	rc, err := fsys.FS.Open(context.Background(), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHashAfterAnUploadIsAnsweredWithoutReadingTheFile(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 100_000) // several of the server's buffers
	cases := []struct {
		name      string
		upload    func(c *ftpservertest.Client)
		file      string // name the upload stored
		wantOpens int64  // opens by the HASH that follows
	}{
		{"STOR of a new file", func(c *ftpservertest.Client) { c.Stor("STOR", "new.bin", big) }, "new.bin", 0},
		{"STOR that replaces a file", func(c *ftpservertest.Client) { c.Stor("STOR", "f.bin", big+"x") }, "f.bin", 0},
		{"an empty STOR", func(c *ftpservertest.Client) { c.Stor("STOR", "empty.bin", "") }, "empty.bin", 0},
		{"APPE to a missing file", func(c *ftpservertest.Client) { c.Stor("APPE", "appe.bin", big) }, "appe.bin", 0},
		{"ASCII STOR (the stored bytes are hashed)", func(c *ftpservertest.Client) {
			c.Do(200, "TYPE A")
			c.Stor("STOR", "text.txt", "line one\r\nline two\r\n")
			c.Do(200, "TYPE I")
		}, "text.txt", 0},
		{"STOU", func(c *ftpservertest.Client) {
			d := c.EPSV()
			c.Do(150, "STOU unique.bin")
			io.WriteString(d, big)
			d.Close()
			c.Expect(226)
		}, "unique.bin", 0},
		{"APPE to a file with data is read again", func(c *ftpservertest.Client) { c.Stor("APPE", "f.bin", "more") }, "f.bin", 1},
		{"REST + STOR is read again", func(c *ftpservertest.Client) {
			c.Do(350, "REST 5")
			c.Stor("STOR", "f.bin", "-resumed")
		}, "f.bin", 1},
	}
	algos := []struct {
		name     string
		digest   func(string) string
		readBack bool // uploads are not hashed on receive: HASH reads the file once
	}{{"SHA-256", sha256Hex, false}, {"CRC32", crc32Hex, true}}
	for _, algo := range algos {
		for _, tc := range cases {
			t.Run(algo.name+", "+tc.name, func(t *testing.T) {
				c, fsys, _ := hashServer(t, 0)
				c.Do(200, "OPTS HASH %s", algo.name) // as ferry's client does before it uploads
				tc.upload(c)
				fsys.opens.Store(0)
				if algo.readBack {
					tc.wantOpens = 1
				}
				want := algo.digest(storedContent(t, fsys, tc.file))
				if got := hashDigest(t, c, tc.file); got != want {
					t.Fatalf("HASH %s, want %s (the stored bytes)", got, want)
				}
				if got := fsys.opens.Load(); got != tc.wantOpens {
					t.Fatalf("HASH opened the file %d times, want %d", got, tc.wantOpens)
				}
				if got := hashDigest(t, c, tc.file); got != want || fsys.opens.Load() != tc.wantOpens {
					t.Fatalf("second HASH: %s after %d opens", got, fsys.opens.Load())
				}
			})
		}
	}
}

func TestOnlySessionsThatUseHashHashTheirUploads(t *testing.T) {
	c, fsys, _ := hashServer(t, 0)
	c.Stor("STOR", "a.bin", "never asked")
	if got := hashDigest(t, c, "a.bin"); got != sha256Hex("never asked") || fsys.opens.Load() != 1 {
		t.Fatalf("HASH %s after %d opens, want 1: the upload before any HASH is not hashed", got, fsys.opens.Load())
	}
	c.Stor("STOR", "b.bin", "after a HASH") // the session has used HASH now
	if got := hashDigest(t, c, "b.bin"); got != sha256Hex("after a HASH") || fsys.opens.Load() != 1 {
		t.Fatalf("HASH %s after %d opens, want still 1", got, fsys.opens.Load())
	}
}

func TestAnUploadIsHashedWithTheSessionsAlgorithm(t *testing.T) {
	c, fsys, _ := hashServer(t, 0)
	c.Do(200, "OPTS HASH MD5")
	c.Stor("STOR", "m.bin", "hello")
	sum := md5.Sum([]byte("hello"))
	if got := hashDigest(t, c, "m.bin"); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("MD5 %s", got)
	}
	if fsys.opens.Load() != 0 {
		t.Fatalf("%d opens", fsys.opens.Load())
	}
	c.Do(200, "OPTS HASH SHA-256") // not what the upload computed: read
	if got := hashDigest(t, c, "m.bin"); got != sha256Hex("hello") || fsys.opens.Load() != 1 {
		t.Fatalf("SHA-256 %s after %d opens", got, fsys.opens.Load())
	}
}

func TestAFileChangedAfterItsUploadIsReadAgain(t *testing.T) {
	cases := []struct {
		name   string
		change func(fsys *openCounter)
		want   string
	}{
		{"new size", func(fsys *openCounter) { fsys.WriteFile("f.bin", []byte("other, longer data")) }, "other, longer data"},
		{"same size, new modification time", func(fsys *openCounter) {
			fsys.WriteFile("f.bin", []byte("UPLOADED"))
			fsys.Chtimes(context.Background(), "f.bin", time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
		}, "UPLOADED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, fsys, _ := hashServer(t, 0)
			c.Do(200, "OPTS HASH SHA-256")
			c.Stor("STOR", "f.bin", "uploaded")
			tc.change(fsys)
			fsys.opens.Store(0)
			if got := hashDigest(t, c, "f.bin"); got != sha256Hex(tc.want) {
				t.Fatalf("HASH %s, want the digest of %q", got, tc.want)
			}
			if fsys.opens.Load() != 1 {
				t.Fatalf("%d opens, want 1", fsys.opens.Load())
			}
		})
	}
}

func TestNoDigestIsKeptWithTheCacheOff(t *testing.T) {
	c, fsys, _ := hashServer(t, -1)
	c.Do(200, "OPTS HASH SHA-256")
	c.Stor("STOR", "f.bin", "data")
	if got := hashDigest(t, c, "f.bin"); got != sha256Hex("data") || fsys.opens.Load() != 1 {
		t.Fatalf("HASH %s after %d opens", got, fsys.opens.Load())
	}
}

// failingFS makes uploads fail: their writers keep what they are given
// (no Discard, so the data stays for HASH to read) but fail a Write after
// failAfter bytes, or fail Close.
type failingFS struct {
	*openCounter
	failAfter int // -1: fail Close instead
	written   chan struct{}
}

func (f *failingFS) Create(ctx context.Context, name string, opts storage.CreateOptions) (io.WriteCloser, error) {
	wc, err := f.openCounter.Create(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	return &failingWriter{wc: wc, fs: f}, nil
}

type failingWriter struct {
	wc       io.WriteCloser
	fs       *failingFS
	n        int
	signaled bool
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.fs.failAfter >= 0 && w.n+len(p) > w.fs.failAfter {
		k := w.fs.failAfter - w.n
		w.wc.Write(p[:k])
		w.n += k
		return k, errors.New("disk on fire")
	}
	n, err := w.wc.Write(p)
	w.n += n
	if !w.signaled && w.fs.written != nil {
		w.signaled = true
		close(w.fs.written)
	}
	return n, err
}

func (w *failingWriter) Close() error {
	err := w.wc.Close()
	if w.fs.failAfter < 0 {
		return errors.New("close failed")
	}
	return err
}

func failingServer(t *testing.T, failAfter int) (*ftpservertest.Client, *failingFS) {
	t.Helper()
	fsys := &failingFS{openCounter: &openCounter{FS: memfs.New()}, failAfter: failAfter, written: make(chan struct{})}
	srv := ftpservertest.Start(t, "", ftpserver.Options{
		Auth: ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}),
	})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "OPTS HASH SHA-256")
	return c, fsys
}

func TestAFailedOrAbortedUploadStoresNoDigest(t *testing.T) {
	data := strings.Repeat("x", 3000)
	t.Run("a write fails", func(t *testing.T) {
		c, fsys := failingServer(t, 1000)
		d := c.EPSV()
		c.Do(150, "STOR f.bin")
		io.WriteString(d, data)
		d.Close()
		if code, msg := c.Read(); code < 400 {
			t.Fatalf("upload answered %d %s", code, msg)
		}
		want := sha256Hex(storedContent(t, fsys.openCounter, "f.bin"))
		if got := hashDigest(t, c, "f.bin"); got != want || fsys.opens.Load() != 1 {
			t.Fatalf("HASH %s after %d opens, want %s read from the file", got, fsys.opens.Load(), want)
		}
	})
	t.Run("close fails", func(t *testing.T) {
		c, fsys := failingServer(t, -1)
		d := c.EPSV()
		c.Do(150, "STOR f.bin")
		io.WriteString(d, data)
		d.Close()
		if code, msg := c.Read(); code < 400 {
			t.Fatalf("upload answered %d %s", code, msg)
		}
		if got := hashDigest(t, c, "f.bin"); got != sha256Hex(data) || fsys.opens.Load() != 1 {
			t.Fatalf("HASH %s after %d opens, want 1", got, fsys.opens.Load())
		}
	})
	t.Run("the client aborts", func(t *testing.T) {
		c, fsys := failingServer(t, 1<<30)
		d := c.EPSV()
		defer d.Close()
		c.Do(150, "STOR f.bin")
		io.WriteString(d, strings.Repeat("y", 600<<10)) // more than one of the server's buffers
		select {
		case <-fsys.written:
		case <-time.After(10 * time.Second):
			t.Fatal("the server wrote nothing")
		}
		c.Send("ABOR")
		c.Expect(426)
		c.Expect(226)
		want := sha256Hex(storedContent(t, fsys.openCounter, "f.bin"))
		if got := hashDigest(t, c, "f.bin"); got != want || fsys.opens.Load() != 1 {
			t.Fatalf("HASH %s after %d opens, want %s read from the file", got, fsys.opens.Load(), want)
		}
	})
}
