package ftpserver

import (
	"container/list"
	"reflect"
	"sync"
	"time"

	"github.com/ferryftp/ferry/storage"
)

// defaultHashCacheEntries is the HASH cache's size when
// Options.HashCacheEntries is 0.
const defaultHashCacheEntries = 4096

// hashCache remembers whole-file digests so that HASH does not read a file
// again while it is unchanged. An entry is keyed by the storage, the path
// in it and the algorithm, and is valid only for the size and modification
// time the file had when the digest was computed; any change to either
// makes it a miss (and the entry is replaced). It lives in memory, one per
// Server, and holds at most max entries, dropping the least recently used.
type hashCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List // front: most recently used; values are *hashEntry
	m   map[hashKey]*list.Element
}

type hashKey struct {
	fs   storage.FS
	name string
	algo string
}

type hashEntry struct {
	key   hashKey
	size  int64
	mtime time.Time
	sum   []byte
}

func newHashCache(max int) *hashCache {
	return &hashCache{max: max, ll: list.New(), m: map[hashKey]*list.Element{}}
}

// cacheable reports whether fsys can be part of a map key.
func cacheable(fsys storage.FS) bool {
	return fsys != nil && reflect.ValueOf(fsys).Comparable()
}

// get returns the digest of name in fsys for algo if one was stored for
// this size and modification time.
func (c *hashCache) get(fsys storage.FS, name string, size int64, mtime time.Time, algo string) ([]byte, bool) {
	if c == nil || !cacheable(fsys) {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[hashKey{fsys, name, algo}]
	if !ok {
		return nil, false
	}
	e := el.Value.(*hashEntry)
	if e.size != size || !e.mtime.Equal(mtime) {
		c.ll.Remove(el)
		delete(c.m, e.key)
		return nil, false
	}
	c.ll.MoveToFront(el)
	return e.sum, true
}

// put stores the digest of name in fsys, computed over a file of this size
// and modification time. The upload path may call it with the digest it
// computed while receiving (after the file is closed, with the size and
// modification time a Stat then reports), so that a HASH right after an
// upload does not read the file.
func (c *hashCache) put(fsys storage.FS, name string, size int64, mtime time.Time, algo string, sum []byte) {
	if c == nil || c.max <= 0 || !cacheable(fsys) {
		return
	}
	k := hashKey{fsys, name, algo}
	e := &hashEntry{key: k, size: size, mtime: mtime, sum: append([]byte(nil), sum...)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.m[k] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.m, old.Value.(*hashEntry).key)
	}
}

// drop forgets every digest of name in fsys (for DELE, RNFR/RNTO and
// uploads that replace a file; not required for correctness, since a
// changed size or modification time is a miss, but it frees the entry at
// once).
func (c *hashCache) drop(fsys storage.FS, name string) {
	if c == nil || !cacheable(fsys) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range hashAlgos {
		if el, ok := c.m[hashKey{fsys, name, a.name}]; ok {
			c.ll.Remove(el)
			delete(c.m, el.Value.(*hashEntry).key)
		}
	}
}

// newServerHashCache makes a server's HASH cache as o says, or returns
// nil when the cache is off.
func newServerHashCache(o *Options) *hashCache {
	if o.HashCacheEntries < 0 {
		return nil
	}
	n := o.HashCacheEntries
	if n == 0 {
		n = defaultHashCacheEntries
	}
	return newHashCache(n)
}

// hashCache returns the session's server's HASH cache (nil when off).
func (s *session) hashCache() *hashCache {
	if s.srv == nil {
		return nil
	}
	return s.srv.hashes
}
