package password

import (
	"context"
	"runtime"
)

// Checker verifies login passwords with a bound on how many hashes are
// computed at once (each argon2id check takes Memory KiB), and spends the
// same work on unknown users as on known ones, so response times do not
// reveal which names exist. It is safe for concurrent use.
type Checker struct {
	sem chan struct{}
}

// NewChecker allows n concurrent verifications; n < 1 means GOMAXPROCS.
func NewChecker(n int) *Checker {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Checker{sem: make(chan struct{}, n)}
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
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-c.sem }()
	ok, err := Verify(encoded, pw)
	return ok && known, err
}
