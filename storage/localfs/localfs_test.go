package localfs_test

import (
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
			storagetest.Run(t, func(t *testing.T) storage.FS {
				f, _ := newFS(t, mode.opts)
				return f
			})
		})
	}
}
