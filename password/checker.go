package password

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"runtime"
	"runtime/debug"
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

	// Hash memory: each argon2id check leaves Memory KiB of garbage, which
	// a burst of logins multiplies; once checks stop, it is handed back to
	// the operating system (see release).
	idleMu   sync.Mutex
	inFlight int
	idle     *time.Timer

	ttl   time.Duration
	max   int
	key   [32]byte
	mu    sync.Mutex
	cache map[[32]byte]time.Time // HMAC(key, hash, password) → expiry
	calls map[[32]byte]*call     // checks in progress, shared by identical logins
}

// call is one hash check that concurrent identical logins wait for.
type call struct {
	done chan struct{}
	ok   bool
	err  error
}

// verifyFunc is Verify; tests count calls through it.
var verifyFunc = Verify

// now is time.Now; tests move the cache's clock through it.
var now = time.Now

// joined is called when a login waits for an identical check in progress;
// tests count the waiters through it.
var joined = func() {}

// releaseAfter is how long checks must stop before their memory is handed
// back to the operating system.
const releaseAfter = 500 * time.Millisecond

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
	c.calls = make(map[[32]byte]*call)
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
	if !known || c.cache == nil {
		return c.verify(ctx, encoded, known, pw)
	}
	k := c.mac(encoded, pw)
	if c.cached(k) {
		return true, nil
	}
	// Identical logins arriving together (a client opening many sessions
	// at once) share one check instead of each paying for a hash.
	c.mu.Lock()
	if cl, ok := c.calls[k]; ok {
		c.mu.Unlock()
		joined()
		select {
		case <-cl.done:
			if errors.Is(cl.err, context.Canceled) || errors.Is(cl.err, context.DeadlineExceeded) {
				return c.Check(ctx, encoded, known, pw) // the first login gave up; try ourselves
			}
			return cl.ok, cl.err
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.calls[k] = cl
	c.mu.Unlock()
	cl.ok, cl.err = c.verify(ctx, encoded, known, pw)
	c.mu.Lock()
	delete(c.calls, k)
	if cl.ok {
		c.rememberLocked(k)
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.ok, cl.err
}

// verify runs one hash check in a slot.
func (c *Checker) verify(ctx context.Context, encoded string, known bool, pw string) (bool, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	c.begin()
	ok, err := verifyFunc(encoded, pw)
	c.end()
	<-c.sem
	return ok && known, err
}

// begin and end count checks in flight; when none has run for
// releaseAfter, the hashes' memory is returned to the operating system, so
// a burst of logins does not leave tens of MiB resident in an idle server.
func (c *Checker) begin() {
	c.idleMu.Lock()
	c.inFlight++
	if c.idle != nil {
		c.idle.Stop()
	}
	c.idleMu.Unlock()
}

func (c *Checker) end() {
	c.idleMu.Lock()
	defer c.idleMu.Unlock()
	c.inFlight--
	if c.inFlight > 0 {
		return
	}
	if c.idle == nil {
		c.idle = time.AfterFunc(releaseAfter, c.release)
	} else {
		c.idle.Reset(releaseAfter)
	}
}

func (c *Checker) release() {
	c.idleMu.Lock()
	busy := c.inFlight > 0
	c.idleMu.Unlock()
	if !busy {
		debug.FreeOSMemory()
	}
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
	if ok && now().After(exp) {
		delete(c.cache, k)
		return false
	}
	return ok
}

func (c *Checker) remember(k [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rememberLocked(k)
}

func (c *Checker) rememberLocked(k [32]byte) {
	now := now()
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
