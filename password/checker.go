package password

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"sync"
	"time"
)

// Checker verifies login passwords with a bound on how many hashes are
// computed at once (each argon2id check takes Memory KiB), and spends the
// same work on unknown users as on known ones, so response times do not
// reveal which names exist. It is safe for concurrent use.
//
// A Checker may also remember successful checks for a while (see
// NewCachingChecker), so a client that logs in again and again (a scanner
// uploading every minute, a login storm) does not pay for a hash each time.
type Checker struct {
	sem chan struct{}

	ttl   time.Duration
	max   int
	key   [32]byte
	mu    sync.Mutex
	cache map[[32]byte]time.Time // HMAC(key, hash, password) → expiry
}

// NewChecker allows n concurrent verifications; n < 1 means GOMAXPROCS.
func NewChecker(n int) *Checker {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Checker{sem: make(chan struct{}, n)}
}

// DefaultCacheTTL is how long ferry remembers a verified password unless
// configured otherwise.
const DefaultCacheTTL = 2 * time.Minute

// NewCachingChecker is NewChecker that remembers successful checks for ttl,
// at most max of them (0 means 10,000). Entries are keyed by an HMAC, under
// a random per-process key, of the stored hash and the password: the
// password itself is never kept, a changed password (a new hash with a new
// salt) never matches an old entry, and failed checks are never cached, so
// guessing still costs a full hash per try.
func NewCachingChecker(n int, ttl time.Duration, max int) *Checker {
	c := NewChecker(n)
	if ttl <= 0 {
		return c
	}
	if max < 1 {
		max = 10000
	}
	c.ttl, c.max = ttl, max
	c.cache = make(map[[32]byte]time.Time)
	rand.Read(c.key[:])
	return c
}

// Check verifies pw against encoded, or, when known is false (no such
// user), against Dummy() and reports false. It waits for a free slot until
// ctx is done. Errors are about malformed hashes; they never contain pw.
func (c *Checker) Check(ctx context.Context, encoded string, known bool, pw string) (bool, error) {
	if !known {
		encoded = Dummy()
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var k [32]byte
	if known && c.cache != nil {
		k = c.mac(encoded, pw)
		if c.cached(k) {
			return true, nil
		}
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	ok, err := Verify(encoded, pw)
	<-c.sem
	ok = ok && known
	if ok && c.cache != nil {
		c.remember(k)
	}
	return ok, err
}

func (c *Checker) mac(encoded, pw string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(encoded))
	m.Write([]byte{0})
	m.Write([]byte(pw))
	var k [32]byte
	m.Sum(k[:0])
	return k
}

func (c *Checker) cached(k [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.cache[k]
	if ok && time.Now().After(exp) {
		delete(c.cache, k)
		return false
	}
	return ok
}

func (c *Checker) remember(k [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.cache) >= c.max {
		for key, exp := range c.cache { // drop expired entries, else arbitrary ones
			if now.After(exp) || len(c.cache) >= c.max {
				delete(c.cache, key)
			}
			if len(c.cache) < c.max/2 {
				break
			}
		}
	}
	c.cache[k] = now.Add(c.ttl)
}
