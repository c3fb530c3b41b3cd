package sqlstore

import (
	"context"
	"fmt"
)

// CheckHealth implements ftpserver.HealthChecker: the store is open and
// its database answers.
func (s *Store) CheckHealth(ctx context.Context) error {
	if s.isClosed() {
		return errClosed
	}
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}
