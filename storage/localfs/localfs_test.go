package localfs_test

import (
	"errors"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/storagetest"
)

// newFS returns an FS on a fresh temporary directory, and the directory.
func newFS(t *testing.T, opts localfs.Options) (*localfs.FS, string) {
	t.Helper()
	dir := t.TempDir()
	f, err := localfs.New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, dir
}

func TestConformance(t *testing.T) {
	for _, mode := range []struct {
		desc string
		opts localfs.Options
	}{
		{"direct uploads", localfs.Options{}},
		{"atomic uploads", localfs.Options{Atomic: true}},
	} {
		t.Run(mode.desc, func(t *testing.T) {
			storagetest.RunWith(t, func(t *testing.T) storage.FS {
				f, _ := newFS(t, mode.opts)
				return f
			}, storagetest.Options{InPlaceUploads: !mode.opts.Atomic})
		})
	}
}

var bothModes = []struct {
	desc string
	opts localfs.Options
}{
	{"in direct mode", localfs.Options{}},
	{"in atomic mode", localfs.Options{Atomic: true}},
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("error = %v, want one matching %v", err, target)
	}
}
