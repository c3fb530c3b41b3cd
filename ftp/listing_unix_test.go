//go:build unix

package ftp

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestSysFacts(t *testing.T) {
	t.Run("numeric owner and group come from Stat_t", func(t *testing.T) {
		fi := fileInfo{name: "f", mode: 0o644, mtime: now, sys: &syscall.Stat_t{Uid: 1000, Gid: 100}}
		want := "-rw-r--r--   1 1000     100                 0 Nov 26 09:30 f"
		if got := string(AppendListLine(nil, fi, now)); got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	})
	t.Run("unique comes from device and inode", func(t *testing.T) {
		fi := fileInfo{name: "f", mode: 0o644, sys: &syscall.Stat_t{Dev: 0x803, Ino: 0xe0b4d}}
		want := "unique=803Ue0b4d; f"
		if got := string(AppendMLSxEntry(nil, fi, "f", "", "", FactSetOf(FactUnique))); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("a real file lists its owner and a unique fact", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "real.txt")
		if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(AppendListLine(nil, fi, now)))
		if len(f) < 4 || f[2] != strconv.Itoa(os.Getuid()) {
			t.Errorf("fields = %q, want uid %d", f, os.Getuid())
		}
		if e := string(AppendMLSxEntry(nil, fi, "real.txt", "", "", DefaultFacts)); !strings.Contains(e, ";unique=") {
			t.Errorf("entry = %q, want a unique fact", e)
		}
	})
}
