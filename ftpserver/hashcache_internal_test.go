package ftpserver

import (
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage/memfs"
)

func TestHashCacheKeepsTheMostRecentlyUsedEntries(t *testing.T) {
	fsys, other := memfs.New(), memfs.New()
	t0 := time.Unix(1_700_000_000, 0)
	c := newHashCache(2)
	c.put(fsys, "a", 1, t0, "SHA-256", []byte{1})
	c.put(fsys, "b", 1, t0, "SHA-256", []byte{2})
	c.get(fsys, "a", 1, t0, "SHA-256") // a is now the most recent
	c.put(fsys, "c", 1, t0, "SHA-256", []byte{3})
	tests := []struct {
		name  string
		fs    *memfs.FS
		file  string
		size  int64
		mtime time.Time
		algo  string
		want  []byte
	}{
		{"a recently used entry stays", fsys, "a", 1, t0, "SHA-256", []byte{1}},
		{"the least recently used entry is dropped", fsys, "b", 1, t0, "SHA-256", nil},
		{"the newest entry is there", fsys, "c", 1, t0, "SHA-256", []byte{3}},
		{"another storage with the same path misses", other, "c", 1, t0, "SHA-256", nil},
		{"another algorithm misses", fsys, "c", 1, t0, "MD5", nil},
		{"another size misses", fsys, "a", 2, t0, "SHA-256", nil},
		{"and drops the stale entry", fsys, "a", 1, t0, "SHA-256", nil},
		{"another modification time misses", fsys, "c", 1, t0.Add(time.Nanosecond), "SHA-256", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := c.get(tc.fs, tc.file, tc.size, tc.mtime, tc.algo)
			if ok != (tc.want != nil) || string(got) != string(tc.want) {
				t.Fatalf("get = %v, %v; want %v", got, ok, tc.want)
			}
		})
	}
	t.Run("drop forgets every algorithm of a path", func(t *testing.T) {
		c.put(fsys, "d", 1, t0, "SHA-256", []byte{4})
		c.put(fsys, "d", 1, t0, "MD5", []byte{5})
		c.drop(fsys, "d")
		if _, ok := c.get(fsys, "d", 1, t0, "SHA-256"); ok {
			t.Fatal("SHA-256 entry survived drop")
		}
		if _, ok := c.get(fsys, "d", 1, t0, "MD5"); ok {
			t.Fatal("MD5 entry survived drop")
		}
	})
	t.Run("a nil cache (turned off) is safe", func(t *testing.T) {
		var off *hashCache
		off.put(fsys, "x", 1, t0, "SHA-256", []byte{1})
		if _, ok := off.get(fsys, "x", 1, t0, "SHA-256"); ok {
			t.Fatal("a nil cache answered")
		}
		off.drop(fsys, "x")
	})
}

// notComparable is a storage value that cannot be a map key.
type notComparable struct {
	*memfs.FS
	_ []int
}

func TestHashCacheSkipsStoragesThatCannotBeKeys(t *testing.T) {
	c := newHashCache(4)
	fsys := notComparable{FS: memfs.New()}
	c.put(fsys, "a", 1, time.Time{}, "SHA-256", []byte{1}) // must not panic
	if _, ok := c.get(fsys, "a", 1, time.Time{}, "SHA-256"); ok {
		t.Fatal("cached a digest for an uncomparable storage")
	}
}
