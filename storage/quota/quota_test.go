package quota_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/memfs"
	"github.com/ferryftp/ferry/storage/quota"
)

// onlyReader hides a reader's other methods, so io.Copy really copies.
type onlyReader struct{ io.Reader }

// backends are the ways an upload reaches a backend: Write (memfs) and
// ReadFrom on an *os.File (localfs).
func backends(t *testing.T) map[string]storage.FS {
	l, err := localfs.New(t.TempDir(), localfs.Options{Atomic: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return map[string]storage.FS{"memfs (Write)": memfs.New(), "localfs (ReadFrom)": l}
}

func put(fsys storage.FS, name, data string) error {
	w, err := fsys.Create(context.Background(), name, storage.CreateOptions{})
	if err != nil {
		return err
	}
	if rf, ok := w.(io.ReaderFrom); ok {
		_, err = rf.ReadFrom(onlyReader{strings.NewReader(data)})
	} else {
		_, err = io.Copy(w, onlyReader{strings.NewReader(data)})
	}
	if err != nil {
		w.(storage.Discarder).Discard()
		return err
	}
	return w.Close()
}

func TestAnUploadStopsExactlyAtTheLimit(t *testing.T) {
	for name, inner := range backends(t) {
		t.Run(name, func(t *testing.T) {
			tr := quota.NewTracker(quota.Limits{MaxBytes: 10}, nil)
			tr.Set(quota.Usage{})
			fsys := quota.Wrap(inner, tr)
			if err := put(fsys, "exact", "0123456789"); err != nil {
				t.Fatalf("an upload that fills the quota exactly: %v", err)
			}
			if err := put(fsys, "empty", ""); !errors.Is(err, quota.ErrBytesExceeded) {
				t.Fatalf("a new upload to a full quota: %v, want it refused", err)
			}
			if got := tr.Status(); got.Used != (quota.Usage{Bytes: 10, Files: 1}) || got.Reserved != (quota.Usage{}) {
				t.Fatalf("status %+v", got)
			}
		})
	}
}

func TestAFullQuotaRefusesBeforeCreating(t *testing.T) {
	for name, inner := range backends(t) {
		t.Run(name, func(t *testing.T) {
			tr := quota.NewTracker(quota.Limits{MaxBytes: 5}, nil)
			tr.Set(quota.Usage{})
			fsys := quota.Wrap(inner, tr)
			if err := put(fsys, "big", "0123456789"); !errors.Is(err, quota.ErrBytesExceeded) {
				t.Fatalf("10 bytes into 5: %v", err)
			}
			if _, err := inner.Stat(context.Background(), "big"); err == nil {
				t.Error("the refused upload left a file")
			}
			if st := tr.Status(); st.Used != (quota.Usage{}) || st.Reserved != (quota.Usage{}) {
				t.Errorf("after a refused upload: %+v", st)
			}
			if err := put(fsys, "five", "01234"); err != nil {
				t.Fatal(err)
			}
			cc := fsys.(storage.CreateChecker)
			if err := cc.CheckCreate(context.Background(), "more", storage.CreateOptions{}); !errors.Is(err, quota.ErrBytesExceeded) {
				t.Errorf("CheckCreate on a full quota: %v", err)
			}
			if err := cc.CheckCreate(context.Background(), "five", storage.CreateOptions{}); err != nil && !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("CheckCreate of an overwrite on a full quota: %v", err)
			}
		})
	}
}

func TestUnlimitedBytesCountsButNeverRefuses(t *testing.T) {
	tr := quota.NewTracker(quota.Limits{MaxFiles: 100}, nil)
	tr.Set(quota.Usage{})
	var deltas []quota.Usage
	tr2 := quota.NewTracker(quota.Limits{MaxFiles: 100}, func(d quota.Usage) { deltas = append(deltas, d) })
	tr2.Set(quota.Usage{})
	for _, tr := range []*quota.Tracker{tr, tr2} {
		fsys := quota.Wrap(memfs.New(), tr)
		if err := put(fsys, "a", string(bytes.Repeat([]byte("x"), 1<<20))); err != nil {
			t.Fatal(err)
		}
		if got := tr.Status().Used; got != (quota.Usage{Bytes: 1 << 20, Files: 1}) {
			t.Errorf("usage %+v", got)
		}
	}
	if len(deltas) != 1 || deltas[0] != (quota.Usage{Bytes: 1 << 20, Files: 1}) {
		t.Errorf("onChange got %+v", deltas)
	}
}

func TestStatusString(t *testing.T) {
	s := quota.Status{Limits: quota.Limits{MaxBytes: 100}, Used: quota.Usage{Bytes: 5, Files: 2}}
	if got, want := s.String(), "Quota: 5 of 100 bytes used, 2 files (unlimited)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWritersKeepTheBackendsShape(t *testing.T) {
	for name, inner := range backends(t) {
		t.Run(name, func(t *testing.T) {
			tr := quota.NewTracker(quota.Limits{MaxBytes: 100}, nil)
			tr.Set(quota.Usage{})
			raw, err := inner.Create(context.Background(), "raw", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer raw.(storage.Discarder).Discard()
			w, err := quota.Wrap(inner, tr).Create(context.Background(), "f", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.(storage.Discarder).Discard()
			_, rawRF := raw.(io.ReaderFrom)
			_, rawSeek := raw.(io.Seeker)
			_, rf := w.(io.ReaderFrom)
			_, seek := w.(io.Seeker)
			if rf != (rawRF && rawSeek) || seek != (rawRF && rawSeek) {
				t.Errorf("backend writer ReaderFrom %v Seeker %v; wrapped %v %v", rawRF, rawSeek, rf, seek)
			}
			if _, ok := w.(storage.Aborter); !ok {
				t.Error("the wrapped writer is not an Aborter")
			}
		})
	}
}

func TestAResumedAtomicUploadCountsThePartial(t *testing.T) {
	inner, err := localfs.New(t.TempDir(), localfs.Options{Atomic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	tr := quota.NewTracker(quota.Limits{MaxBytes: 10}, nil)
	tr.Set(quota.Usage{})
	fsys := quota.Wrap(inner, tr)
	ctx := context.Background()
	w, err := fsys.Create(ctx, "f", storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(onlyWriter{w}, "012345")
	if err := w.(storage.Aborter).Abort(); err != nil { // the client went away: the partial is kept
		t.Fatal(err)
	}
	if st := tr.Status(); st.Used != (quota.Usage{}) || st.Reserved != (quota.Usage{}) {
		t.Fatalf("after the abort: %+v", st)
	}
	resume := func(data string) error {
		w, err := fsys.Create(ctx, "f", storage.CreateOptions{Offset: 6})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(onlyWriter{w}, data); err != nil {
			w.(storage.Aborter).Abort()
			return err
		}
		return w.Close()
	}
	if err := resume("6789X"); !errors.Is(err, quota.ErrBytesExceeded) {
		t.Fatalf("a resume to 11 bytes with a 10-byte quota: %v", err)
	}
	if err := resume("6789"); err != nil {
		t.Fatal(err)
	}
	if st := tr.Status(); st.Used != (quota.Usage{Bytes: 10, Files: 1}) || st.Reserved != (quota.Usage{}) {
		t.Fatalf("after the resume: %+v", st)
	}
}

// onlyWriter hides a writer's ReadFrom, so io.WriteString calls Write.
type onlyWriter struct{ io.Writer }

// slowStat is a backend whose Stat of one name, once armed, calls during
// before answering (s3fs's Stat is a HEAD request: other uploads run
// meanwhile).
type slowStat struct {
	storage.FS
	name   string
	during func()
}

func (s *slowStat) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if f := s.during; f != nil && name == s.name {
		s.during = nil
		f()
	}
	return s.FS.Stat(ctx, name)
}

func TestAnEndingUploadKeepsItsBytesCountedWhileItsSizeIsRead(t *testing.T) {
	tr := quota.NewTracker(quota.Limits{MaxBytes: 1000}, nil)
	tr.Set(quota.Usage{})
	slow := &slowStat{FS: memfs.New(), name: "a"}
	fsys := quota.Wrap(slow, tr)
	ctx := context.Background()
	w, err := fsys.Create(ctx, "a", storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("a"), 600)); err != nil {
		t.Fatal(err)
	}
	var during error
	slow.during = func() { during = put(fsys, "b", strings.Repeat("b", 600)) }
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(during, quota.ErrBytesExceeded) {
		t.Errorf("600 more bytes while the first 600 were being counted: %v, want refused", during)
	}
	if st := tr.Status(); st.Used.Bytes > 1000 || st.Reserved != (quota.Usage{}) {
		t.Errorf("status %+v", st)
	}
}
