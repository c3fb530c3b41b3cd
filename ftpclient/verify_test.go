package ftpclient

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/ferryftp/ferry/internal/ratelimit"
)

func testClient(t *testing.T, addr string) *Client {
	t.Helper()
	cl := NewClient(addr, Options{User: testUser, Password: testPass, Timeout: 10 * time.Second})
	cl.RetryDelay = 20 * time.Millisecond
	t.Cleanup(func() { cl.Close() })
	return cl
}

// unlinkOnFirst removes name from its folder on the first call, so that
// only an open descriptor still reaches the file: a verification that read
// the local file again by name would fail.
func unlinkOnFirst(t *testing.T, name string) func() {
	done := false
	return func() {
		if !done {
			done = true
			if err := os.Remove(name); err != nil {
				t.Error(err)
			}
		}
	}
}

type hookWriter struct {
	w  io.Writer
	fn func()
}

func (h hookWriter) Write(b []byte) (int, error) { h.fn(); return h.w.Write(b) }

type hookReader struct {
	r  io.Reader
	fn func()
}

func (h hookReader) Read(b []byte) (int, error) { h.fn(); return h.r.Read(b) }

func TestVerifyHashesTheBytesAsTheyPassWithoutReadingTheFileAgain(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	cl := testClient(t, addr)
	ctx := testCtx(t)
	data := randomBytes(3<<20 + 5)
	writeFile(t, filepath.Join(root, "d.bin"), data)
	var phases []string
	t.Run("download", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "d.bin")
		hook := unlinkOnFirst(t, local)
		_, err := cl.Download(ctx, "d.bin", local, TransferOptions{
			Verify:     true,
			WrapWriter: func(w io.Writer) io.Writer { return hookWriter{w, hook} },
			Phase:      func(l string) { phases = append(phases, l) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(phases) != 1 || phases[0] != "verifying CRC32" {
			t.Fatalf("phases %q", phases)
		}
	})
	t.Run("upload", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "u.bin")
		writeFile(t, local, data)
		hook := unlinkOnFirst(t, local)
		_, err := cl.Upload(ctx, local, "u.bin", TransferOptions{
			Verify:     true,
			WrapReader: func(r io.Reader) io.Reader { return hookReader{r, hook} },
		})
		if err != nil {
			t.Fatal(err)
		}
		mustEqualFile(t, filepath.Join(root, "u.bin"), data)
	})
	t.Run("a resumed download hashes the part it already had", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "r.bin")
		writeFile(t, local, data[:1<<20])
		if _, err := cl.Download(ctx, "d.bin", local, TransferOptions{Resume: true, Verify: true}); err != nil {
			t.Fatal(err)
		}
		mustEqualFile(t, local, data)
	})
	t.Run("a mismatch is reported as ErrVerify", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "bad.bin")
		bad := append([]byte{}, data[:1<<20]...)
		bad[10] ^= 0xff // a partial file that does not match the server's
		writeFile(t, local, bad)
		_, err := cl.Download(ctx, "d.bin", local, TransferOptions{Resume: true, Verify: true})
		if !errors.Is(err, ErrVerify) {
			t.Fatalf("err %v, want ErrVerify", err)
		}
	})
}

func TestSegmentedDownloadResumesFromItsStatusFile(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	cl := testClient(t, addr)
	cl.MaxConns = 4
	ctx := testCtx(t)
	data := randomBytes(4 << 20)
	writeFile(t, filepath.Join(root, "s.bin"), data)
	local := filepath.Join(t.TempDir(), "s.bin")
	// A download that stopped with two of four segments half done.
	part := make([]byte, len(data))
	q := int64(1 << 20)
	copy(part[0:q/2], data[0:q/2])
	copy(part[2*q:2*q+q/4], data[2*q:2*q+q/4])
	copy(part[3*q:4*q], data[3*q:4*q])
	writeFile(t, local, part)
	st := &segmentState{Remote: "s.bin", Size: int64(len(data)), Segments: split(0, int64(len(data)), 4)}
	st.Segments[0].done.Store(q / 2)
	st.Segments[2].done.Store(q / 4)
	st.Segments[3].done.Store(q)
	if err := st.save(local + SegmentStateSuffix); err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64 // progress is called from every segment's goroutine
	n, err := cl.DownloadSegmented(ctx, "s.bin", local, 4, TransferOptions{Resume: true, Verify: true}, func(k int64) { got.Add(k) })
	if err != nil {
		t.Fatal(err)
	}
	mustEqualFile(t, local, data)
	if want := int64(len(data)) - q/2 - q/4 - q; n != want {
		t.Fatalf("fetched %d bytes, want %d (only the missing ranges)", n, want)
	}
	if got.Load() != int64(len(data)) {
		t.Fatalf("progress counted %d, want %d", got.Load(), len(data))
	}
	if _, err := os.Stat(local + SegmentStateSuffix); !os.IsNotExist(err) {
		t.Fatalf("status file still there: %v", err)
	}
	t.Run("a status file for another file is ignored", func(t *testing.T) {
		bogus := &segmentState{Remote: "other.bin", Size: 1, Segments: split(0, 1, 1)}
		bogus.save(local + SegmentStateSuffix)
		if st := loadSegmentState(local+SegmentStateSuffix, "s.bin", int64(len(data))); st != nil {
			t.Fatal("loaded a status file for another remote")
		}
	})
}

func TestRateLimiterIsSharedByParallelTransfers(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	cl := testClient(t, addr)
	cl.Limiter = NewRateLimiter(1 << 20)
	ctx := testCtx(t)
	for _, n := range []string{"a", "b"} {
		writeFile(t, filepath.Join(root, n), randomBytes(512<<10))
	}
	start := time.Now()
	errs := make(chan error, 2)
	for _, n := range []string{"a", "b"} {
		go func() {
			_, err := cl.Download(ctx, n, filepath.Join(t.TempDir(), n), TransferOptions{})
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// 1 MiB in all at 1 MiB/s: about a second; per-transfer limits would
	// take half that. Only the lower bound is checked.
	if el := time.Since(start); el < 800*time.Millisecond {
		t.Fatalf("two 512 KiB downloads at 1 MiB/s shared took %v", el)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (ratelimit.Writer{Ctx: ctx2, W: io.Discard, Limits: []*rate.Limiter{NewRateLimiter(1024)}}).Write(make([]byte, 10)); err == nil {
		t.Fatal("a cancelled context did not stop the limiter")
	}
}

func TestResumeOfASegmentedPartialWithoutSegments(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	cl := testClient(t, addr)
	ctx := testCtx(t)
	data := randomBytes(3 << 20)
	writeFile(t, filepath.Join(root, "s.bin"), data)
	mk := func(t *testing.T, remote string) string {
		local := filepath.Join(t.TempDir(), "s.bin")
		part := make([]byte, len(data)) // full size, with holes
		copy(part[:1<<20], data[:1<<20])
		writeFile(t, local, part)
		st := &segmentState{Remote: remote, Size: int64(len(data)), Segments: split(0, int64(len(data)), 3)}
		st.Segments[0].done.Store(1 << 20)
		if err := st.save(local + SegmentStateSuffix); err != nil {
			t.Fatal(err)
		}
		return local
	}
	t.Run("Download -c continues the segments, not the full-size file", func(t *testing.T) {
		local := mk(t, "s.bin")
		// Without Verify, a resume of the full-size file would go unnoticed.
		if _, err := cl.Download(ctx, "s.bin", local, TransferOptions{Resume: true}); err != nil {
			t.Fatal(err)
		}
		mustEqualFile(t, local, data)
	})
	t.Run("a status file for another remote starts over", func(t *testing.T) {
		local := mk(t, "other.bin")
		if _, err := cl.DownloadSegmented(ctx, "s.bin", local, 3, TransferOptions{Resume: true}, nil); err != nil {
			t.Fatal(err)
		}
		mustEqualFile(t, local, data)
		if _, err := os.Stat(local + SegmentStateSuffix); !os.IsNotExist(err) {
			t.Fatalf("status file left: %v", err)
		}
	})
}

func TestSizeVerificationTrustsAMatchingListedSize(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	ctx := testCtx(t)
	data := randomBytes(70000)
	writeFile(t, filepath.Join(root, "s.bin"), data)
	var transcript syncBuf
	// No HASH algorithm the client accepts: verification is by size.
	cl := NewClient(addr, Options{User: testUser, Password: testPass, Timeout: 10 * time.Second, HashAlgos: []string{}, Debug: &transcript})
	t.Cleanup(func() { cl.Close() })
	sizes := func() int { return strings.Count(transcript.String(), "> SIZE ") }

	local := filepath.Join(t.TempDir(), "s.bin")
	if _, err := cl.Download(ctx, "s.bin", local, TransferOptions{Verify: true, ListedSize: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	if n := sizes(); n != 0 {
		t.Fatalf("%d SIZE commands for a download of the listed size\n%s", n, transcript.String())
	}
	// A file that changed since it was listed: the server is asked.
	if _, err := cl.Download(ctx, "s.bin", local, TransferOptions{Verify: true, ListedSize: int64(len(data)) + 1}); err != nil {
		t.Fatal(err)
	}
	if n := sizes(); n != 1 {
		t.Fatalf("%d SIZE commands after a listed size that differs, want 1\n%s", n, transcript.String())
	}
	// No listed size: the server is asked.
	if _, err := cl.Download(ctx, "s.bin", local, TransferOptions{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if n := sizes(); n != 2 {
		t.Fatalf("%d SIZE commands, want 2\n%s", n, transcript.String())
	}
	mustEqualFile(t, local, data)

	// A mirror passes the listed sizes: no SIZE per file.
	dst := t.TempDir()
	if _, err := cl.MirrorDown(ctx, "/", dst, MirrorOptions{Verify: true, Parallel: 2}); err != nil {
		t.Fatal(err)
	}
	if n := sizes(); n != 2 {
		t.Fatalf("the mirror sent %d SIZE commands\n%s", n-2, transcript.String())
	}
	mustEqualFile(t, filepath.Join(dst, "s.bin"), data)
}
