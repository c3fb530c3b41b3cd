//go:build unix

package localfs_test

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ferryftp/ferry/storage"
)

func TestSpecialFilesAreRefusedWithoutBlocking(t *testing.T) {
	for _, mode := range bothModes {
		t.Run("a FIFO cannot be opened, written or listed into "+mode.desc, func(t *testing.T) {
			f, dir := newFS(t, mode.opts)
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
				t.Skip(err)
			}
			ctx := t.Context()
			_, err := f.Open(ctx, "pipe", 0)
			wantIs(t, err, fs.ErrInvalid)
			_, err = f.Create(ctx, "pipe", storage.CreateOptions{})
			wantIs(t, err, fs.ErrInvalid)
			_, err = f.ReadDir(ctx, "pipe")
			wantIs(t, err, storage.ErrNotDir)
			infos, err := f.ReadDir(ctx, ".")
			if err != nil || len(infos) != 1 || infos[0].Mode().Type() != fs.ModeNamedPipe {
				t.Errorf("ReadDir = %v, %v; want the FIFO listed", infos, err)
			}
		})
	}
}
