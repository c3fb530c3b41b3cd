package ftpserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/memfs"
)

// openCounter is a memfs that counts Opens, to see when HASH reads a file.
type openCounter struct {
	*memfs.FS
	opens atomic.Int64
}

func (o *openCounter) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	o.opens.Add(1)
	return o.FS.Open(ctx, name, offset)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func hashServer(t *testing.T, entries int) (*ftpservertest.Client, *openCounter, string) {
	t.Helper()
	fsys := &openCounter{FS: memfs.New()}
	if err := fsys.WriteFile("f.bin", []byte("first version")); err != nil {
		t.Fatal(err)
	}
	srv := ftpservertest.Start(t, "", ftpserver.Options{
		HashCacheEntries: entries,
		Auth:             ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}),
	})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	return c, fsys, srv.Addr
}

func TestHashIsAnsweredFromTheCacheWhileTheFileIsUnchanged(t *testing.T) {
	c, fsys, addr := hashServer(t, 0)
	hashOf := func() string {
		t.Helper()
		f := strings.Fields(c.Do(213, "HASH f.bin"))
		if len(f) < 3 {
			t.Fatalf("HASH reply %q", f)
		}
		return f[2]
	}
	steps := []struct {
		name      string
		change    func()
		wantSum   string
		wantOpens int64
	}{
		{"the first HASH reads the file", nil, sha256Hex("first version"), 1},
		{"a second HASH does not", nil, sha256Hex("first version"), 1},
		{"another session's HASH does not either", func() {
			c2 := ftpservertest.Dial(t, addr)
			c2.Login("u", "p")
			c2.Do(213, "HASH f.bin")
		}, sha256Hex("first version"), 1},
		// Changes behind the server's back (another process, another
		// server on the same storage): only the size and time tell.
		{"a new size is a miss", func() { writeBehind(t, fsys, "f.bin", "second, longer version") }, sha256Hex("second, longer version"), 2},
		{"then cached again", nil, sha256Hex("second, longer version"), 2},
		{"the same size with a new modification time is a miss", func() {
			writeBehind(t, fsys, "f.bin", "SECOND, LONGER VERSION")
			fsys.Chtimes(context.Background(), "f.bin", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
		}, sha256Hex("SECOND, LONGER VERSION"), 3},
		{"another algorithm is its own entry", func() { c.Do(200, "OPTS HASH MD5") }, "", 4},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change()
			}
			sum := hashOf()
			if st.wantSum != "" && sum != st.wantSum {
				t.Fatalf("digest %s, want %s", sum, st.wantSum)
			}
			if got := fsys.opens.Load(); got != st.wantOpens {
				t.Fatalf("%d opens, want %d", got, st.wantOpens)
			}
		})
	}
}

func TestHashCacheCanBeTurnedOff(t *testing.T) {
	c, fsys, _ := hashServer(t, -1)
	c.Do(213, "HASH f.bin")
	c.Do(213, "HASH f.bin")
	if got := fsys.opens.Load(); got != 2 {
		t.Fatalf("%d opens with the cache off, want 2", got)
	}
}

// writeBehind replaces name in fsys directly, not through the server.
func writeBehind(t *testing.T, fsys *openCounter, name, data string) {
	t.Helper()
	if err := fsys.WriteFile(name, []byte(data)); err != nil {
		t.Fatal(err)
	}
}
