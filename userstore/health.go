package userstore

import (
	"context"
	"fmt"
	"reflect"

	"github.com/ferryftp/ferry/storage"
)

// CheckHealth implements ftpserver.HealthChecker: the store is open and
// the root of every file system opened at start (each distinct one once)
// answers a Stat. S3 storage, resolved at login, is not checked here.
func (s *Static) CheckHealth(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errClosed
	}
	seen := map[storage.FS]bool{}
	check := func(a *account) error {
		if a == nil || a.fs == nil {
			return nil
		}
		if reflect.TypeOf(a.fs).Comparable() {
			if seen[a.fs] {
				return nil
			}
			seen[a.fs] = true
		}
		if _, err := a.fs.Stat(ctx, "."); err != nil {
			return fmt.Errorf("storage of %q: %w", a.name, err)
		}
		return nil
	}
	if err := check(s.anon); err != nil {
		return err
	}
	for _, a := range s.users {
		if err := check(a); err != nil {
			return err
		}
	}
	return nil
}
