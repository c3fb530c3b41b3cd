package localfs_test

import (
	"bytes"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
)

func TestZeroCopyShapes(t *testing.T) {
	t.Run("Open returns the raw *os.File at the offset", func(t *testing.T) {
		f, dir := newFS(t, localfs.Options{})
		os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789"), 0o644)
		r, err := f.Open(t.Context(), "f", 3)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		file, ok := r.(*os.File)
		if !ok {
			t.Fatalf("Open returned %T, want *os.File", r)
		}
		if pos, _ := file.Seek(0, io.SeekCurrent); pos != 3 {
			t.Errorf("position = %d, want 3", pos)
		}
	})
	for _, mode := range bothModes {
		for desc, opts := range map[string]storage.CreateOptions{
			"a plain": {}, "an appending": {Append: true}, "an exclusive": {Exclusive: true},
		} {
			t.Run(desc+" Create "+mode.desc+" returns a ReaderFrom, Seeker, Aborter and Discarder", func(t *testing.T) {
				f, _ := newFS(t, mode.opts)
				w, err := f.Create(t.Context(), "f", opts)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				// The server's zero-copy upload path needs ReaderFrom (it
				// calls ReadFrom with the *net.TCPConn) and Seeker (progress).
				if _, ok := w.(io.ReaderFrom); !ok {
					t.Errorf("%T does not implement io.ReaderFrom", w)
				}
				if _, ok := w.(io.Seeker); !ok {
					t.Errorf("%T does not implement io.Seeker (the server's progress probe)", w)
				}
				if _, ok := w.(storage.Aborter); !ok {
					t.Errorf("%T does not implement storage.Aborter", w)
				}
				if _, ok := w.(storage.Discarder); !ok {
					t.Errorf("%T does not implement storage.Discarder", w)
				}
			})
		}
	}
}

// TestCopyFromTCP copies a TCP stream into writers of both modes with
// io.Copy, the server's path (splice on Linux).
func TestCopyFromTCP(t *testing.T) {
	payload := bytes.Repeat([]byte("ferry zero-copy "), 64<<10) // 1 MiB
	for _, mode := range bothModes {
		t.Run("io.Copy from a TCP connection stores the stream "+mode.desc, func(t *testing.T) {
			f, dir := newFS(t, mode.opts)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					return
				}
				c.Write(payload)
				c.Close()
			}()
			conn, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			w, err := f.Create(t.Context(), "f", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(w, conn)
			if err != nil || n != int64(len(payload)) {
				t.Fatalf("io.Copy = %d, %v; want %d", n, err, len(payload))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "f"))
			if err != nil || !bytes.Equal(got, payload) {
				t.Errorf("stored %d bytes, %v; want the %d sent", len(got), err, len(payload))
			}
		})
	}
}

func TestNewAndClose(t *testing.T) {
	t.Run("a missing root fails", func(t *testing.T) {
		if _, err := localfs.New(filepath.Join(t.TempDir(), "nope"), localfs.Options{}); err == nil {
			t.Error("New succeeded")
		}
	})
	t.Run("a root that is a file fails", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "file")
		os.WriteFile(name, nil, 0o644)
		if _, err := localfs.New(name, localfs.Options{}); err == nil {
			t.Error("New succeeded")
		}
	})
	t.Run("modes with more than permission bits fail", func(t *testing.T) {
		if _, err := localfs.New(t.TempDir(), localfs.Options{FileMode: fs.ModeSetuid | 0o644}); err == nil {
			t.Error("New succeeded")
		}
	})
	t.Run("new files and directories get the configured modes", func(t *testing.T) {
		f, dir := newFS(t, localfs.Options{FileMode: 0o600, DirMode: 0o700})
		if err := f.Mkdir(t.Context(), "d"); err != nil {
			t.Fatal(err)
		}
		w, err := f.Create(t.Context(), "d/f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		for name, want := range map[string]fs.FileMode{"d": 0o700, "d/f": 0o600} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode(), err, want)
			}
		}
	})
	t.Run("calls after Close fail", func(t *testing.T) {
		f, err := localfs.New(t.TempDir(), localfs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Stat(t.Context(), "."); err == nil {
			t.Error("Stat after Close succeeded")
		}
	})
}
