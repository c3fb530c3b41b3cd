package s3fs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/s3fs"
	"github.com/ferryftp/ferry/storage/storagetest"
)

const part = s3fs.MinPartSize

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// keys lists every object key under the file system's prefix on the server.
func keys(t *testing.T, prefix string) []string {
	t.Helper()
	c, err := server.Client()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for oi := range c.ListObjectsIter(t.Context(), server.Bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		out = append(out, strings.TrimPrefix(oi.Key, prefix+"/"))
	}
	return out
}

// incomplete counts the multipart uploads in progress under prefix.
func incomplete(t *testing.T, prefix string) int {
	t.Helper()
	c, err := server.Client()
	if err != nil {
		t.Fatal(err)
	}
	res, err := minio.Core{Client: c}.ListMultipartUploads(t.Context(), server.Bucket, prefix+"/", "", "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Uploads)
}

func setupFS(t *testing.T) (*s3fs.FS, string) {
	opts := options(t)
	f, err := s3fs.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, opts.Prefix
}

func mustWrite(t *testing.T, f storage.FS, name string, data []byte, opts storage.CreateOptions) {
	t.Helper()
	if err := storagetest.WriteFile(t.Context(), f, name, data, opts); err != nil {
		t.Fatalf("writing %s: %v", name, err)
	}
}

func mustRead(t *testing.T, f storage.FS, name string, offset int64) []byte {
	t.Helper()
	got, err := storagetest.ReadFile(t.Context(), f, name, offset)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return got
}

func TestMultipart(t *testing.T) {
	t.Run("a file of many parts goes up through one bounded buffer", func(t *testing.T) {
		f, prefix := setupFS(t)
		data := randomBytes(4*part+12345, 1)
		w, err := f.Create(t.Context(), "big", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		maxCap := 0
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 777777) // not a divisor of the part size
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
			maxCap = max(maxCap, s3fs.BufCap(w))
		}
		if parts := s3fs.PartsSent(w); parts != 4 {
			t.Errorf("parts sent before Close = %d, want 4", parts)
		}
		if _, err := f.Stat(t.Context(), "big"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat before Close = %v, want fs.ErrNotExist (nothing published yet)", err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if maxCap > part {
			t.Errorf("part buffer grew to %d bytes, want at most the part size %d", maxCap, part)
		}
		if got := mustRead(t, f, "big", 0); !bytes.Equal(got, data) {
			t.Errorf("read back %d bytes, not the %d written", len(got), len(data))
		}
		if n := incomplete(t, prefix); n != 0 {
			t.Errorf("%d multipart uploads left open", n)
		}
	})
	t.Run("ReadFrom fills the buffer without growing it past a part", func(t *testing.T) {
		f, _ := setupFS(t)
		data := randomBytes(2*part+1, 2)
		w, err := f.Create(t.Context(), "rf", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.(io.ReaderFrom).ReadFrom(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if c := s3fs.BufCap(w); c > part {
			t.Errorf("buffer capacity %d, want at most %d", c, part)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := mustRead(t, f, "rf", 0); !bytes.Equal(got, data) {
			t.Error("content differs")
		}
	})
}

func TestRangedReads(t *testing.T) {
	f, _ := setupFS(t)
	data := randomBytes(2*part+100, 3)
	mustWrite(t, f, "f", data, storage.CreateOptions{})
	for _, off := range []int64{0, 1, part - 1, part, part + 1, 2 * part, int64(len(data)) - 1, int64(len(data)), int64(len(data)) + 10} {
		got := mustRead(t, f, "f", off)
		want := data[min(off, int64(len(data))):]
		if !bytes.Equal(got, want) {
			t.Errorf("read from %d: %d bytes, want %d", off, len(got), len(want))
		}
	}
}

func TestAbort(t *testing.T) {
	for _, size := range []int{1000, part + 1000} {
		t.Run("an aborted upload publishes nothing and a resume completes it", func(t *testing.T) {
			f, prefix := setupFS(t)
			data := randomBytes(size+5000, 4)
			w, err := f.Create(t.Context(), "f", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data[:size]); err != nil {
				t.Fatal(err)
			}
			if err := w.(storage.Aborter).Abort(); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Stat(t.Context(), "f"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat after Abort = %v, want fs.ErrNotExist", err)
			}
			if infos, err := f.ReadDir(t.Context(), "."); err != nil || len(infos) != 0 {
				t.Errorf("ReadDir after Abort = %d entries, %v; want none", len(infos), err)
			}
			mustWrite(t, f, "f", data[size:], storage.CreateOptions{Offset: int64(size)})
			if got := mustRead(t, f, "f", 0); !bytes.Equal(got, data) {
				t.Errorf("resumed file has %d bytes, differs from the %d written", len(got), len(data))
			}
			if k := keys(t, prefix); len(k) != 1 || k[0] != "f" {
				t.Errorf("keys after resume = %q, want only f", k)
			}
			if n := incomplete(t, prefix); n != 0 {
				t.Errorf("%d multipart uploads left open", n)
			}
		})
	}
	t.Run("a fresh upload after an abort discards the partial data", func(t *testing.T) {
		f, prefix := setupFS(t)
		w, err := f.Create(t.Context(), "f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(randomBytes(part+10, 5)); err != nil {
			t.Fatal(err)
		}
		w.(storage.Aborter).Abort()
		mustWrite(t, f, "f", []byte("new"), storage.CreateOptions{})
		if got := mustRead(t, f, "f", 0); string(got) != "new" {
			t.Errorf("content %q, want %q", got, "new")
		}
		if k := keys(t, prefix); len(k) != 1 {
			t.Errorf("keys = %q, want only f", k)
		}
		if n := incomplete(t, prefix); n != 0 {
			t.Errorf("%d multipart uploads left open", n)
		}
	})
	t.Run("a cancelled upload publishes nothing", func(t *testing.T) {
		f, _ := setupFS(t)
		ctx, cancel := context.WithCancel(t.Context())
		w, err := f.Create(ctx, "f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("data"))
		cancel()
		if err := w.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("Close after cancel = %v, want context.Canceled", err)
		}
		if _, err := f.Stat(t.Context(), "f"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat = %v, want fs.ErrNotExist", err)
		}
	})
}

func TestAppendAndRestart(t *testing.T) {
	old := randomBytes(2*part+300, 6)
	tail := []byte("appended tail")
	tests := []struct {
		desc string
		opts storage.CreateOptions
		want []byte
	}{
		{"append copies whole parts on the server and adds the data", storage.CreateOptions{Append: true}, append(bytes.Clone(old), tail...)},
		{"an offset past one part keeps that many bytes", storage.CreateOptions{Offset: part + 7}, append(bytes.Clone(old[:part+7]), tail...)},
		{"an offset below one part keeps that many bytes", storage.CreateOptions{Offset: 10}, append(bytes.Clone(old[:10]), tail...)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			f, prefix := setupFS(t)
			mustWrite(t, f, "f", old, storage.CreateOptions{})
			mustWrite(t, f, "f", tail, tt.opts)
			if got := mustRead(t, f, "f", 0); !bytes.Equal(got, tt.want) {
				t.Errorf("content has %d bytes, want %d", len(got), len(tt.want))
			}
			if n := incomplete(t, prefix); n != 0 {
				t.Errorf("%d multipart uploads left open", n)
			}
		})
	}
}

func TestDirectories(t *testing.T) {
	t.Run("Mkdir writes a marker and RemoveDir deletes it", func(t *testing.T) {
		f, prefix := setupFS(t)
		if err := f.Mkdir(t.Context(), "d"); err != nil {
			t.Fatal(err)
		}
		if k := keys(t, prefix); len(k) != 1 || k[0] != "d/" {
			t.Errorf("keys = %q, want the marker d/", k)
		}
		if err := f.RemoveDir(t.Context(), "d"); err != nil {
			t.Fatal(err)
		}
		if k := keys(t, prefix); len(k) != 0 {
			t.Errorf("keys after RemoveDir = %q, want none", k)
		}
	})
	t.Run("a prefix without a marker is a directory", func(t *testing.T) {
		f, prefix := setupFS(t)
		c, err := server.Client()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(t.Context(), server.Bucket, prefix+"/imp/x", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat(t.Context(), "imp")
		if err != nil || !fi.IsDir() {
			t.Fatalf("Stat(imp) = %v, %v; want a directory", fi, err)
		}
		infos, err := f.ReadDir(t.Context(), ".")
		if err != nil || len(infos) != 1 || !infos[0].IsDir() || infos[0].Name() != "imp" {
			t.Errorf("ReadDir(.) = %v, %v; want the directory imp", infos, err)
		}
		if err := f.RemoveDir(t.Context(), "imp"); !errors.Is(err, storage.ErrNotEmpty) {
			t.Errorf("RemoveDir(imp) = %v, want storage.ErrNotEmpty", err)
		}
	})
	t.Run("a directory rename moves every object", func(t *testing.T) {
		f, prefix := setupFS(t)
		for _, d := range []string{"a", "a/b", "a/b/c", "a/empty"} {
			if err := f.Mkdir(t.Context(), d); err != nil {
				t.Fatal(err)
			}
		}
		big := randomBytes(part+1, 7)
		mustWrite(t, f, "a/big", big, storage.CreateOptions{})
		mustWrite(t, f, "a/b/c/deep", []byte("deep"), storage.CreateOptions{})
		if err := f.Rename(t.Context(), "a", "z"); err != nil {
			t.Fatal(err)
		}
		want := []string{"z/", "z/b/", "z/b/c/", "z/b/c/deep", "z/big", "z/empty/"}
		got := keys(t, prefix)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("keys after rename = %q, want %q", got, want)
		}
		if !bytes.Equal(mustRead(t, f, "z/big", 0), big) {
			t.Error("z/big differs")
		}
	})
}

func TestErrorsHideSecrets(t *testing.T) {
	opts := options(t)
	opts.SecretKey = "wrong-secret-do-not-print"
	_, err := s3fs.New(t.Context(), opts)
	if err == nil {
		t.Fatal("New with a wrong secret succeeded")
	}
	for _, secret := range []string{opts.SecretKey, opts.AccessKey} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows a credential", err)
		}
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("New with a wrong secret = %v, want an error matching fs.ErrPermission", err)
	}
}
