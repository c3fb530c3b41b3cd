package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/quota"
)

// limits combines u's own quota with the store's default.
func (s *Store) limits(u *User) quota.Limits {
	pick := func(own, def int64) int64 {
		if own == 0 {
			own = def
		}
		return max(own, 0)
	}
	d := s.opts.DefaultQuota
	return quota.Limits{MaxBytes: pick(u.Quota.MaxBytes, d.MaxBytes), MaxFiles: pick(u.Quota.MaxFiles, d.MaxFiles)}
}

// Limits returns the quota that applies to u: its own, or the store's
// default where its own is 0 (zero fields: unlimited).
func (s *Store) Limits(u *User) quota.Limits { return s.limits(u) }

// tracker returns the one Tracker of the user called name in this
// process, shared by all of the user's sessions.
func (s *Store) tracker(name string) *quota.Tracker {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.trackers[name]; ok {
		return t
	}
	if s.trackers == nil {
		s.trackers = map[string]*quota.Tracker{}
	}
	t := quota.NewTracker(quota.Limits{}, func(d quota.Usage) { s.addUsage(name, d) })
	s.trackers[name] = t
	return t
}

// addUsage adds a change to the stored usage in one statement, so that
// the changes of several servers add up.
func (s *Store) addUsage(name string, d quota.Usage) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE ferry_users SET used_bytes = used_bytes + ?,
		used_files = used_files + ? WHERE name = ?`), d.Bytes, d.Files, name)
	if err != nil && s.opts.OnUsageError != nil {
		s.opts.OnUsageError(name, err)
	}
}

// withQuota wraps fsys in u's quota. The usage comes from the database at
// every login (so each login sees what the other servers added); when the
// database does not know it yet, fsys is scanned and the result stored.
func (s *Store) withQuota(ctx context.Context, u *User, fsys storage.FS) (storage.FS, error) {
	l := s.limits(u)
	if l.Unlimited() {
		return fsys, nil
	}
	t := s.tracker(u.Name)
	t.SetLimits(l)
	// Read the usage afresh: the password check took a while, and this
	// node's own sessions may have added to it since u was read.
	var known bool
	var usage quota.Usage
	err := s.db.QueryRowContext(ctx, s.q("SELECT used_bytes, used_files, usage_known FROM ferry_users WHERE name = ?"), u.Name).
		Scan(&usage.Bytes, &usage.Files, &known)
	if err != nil {
		return nil, fmt.Errorf("reading the quota usage: %w", err)
	}
	if known {
		t.Set(usage)
	} else {
		usage, err := quota.Scan(ctx, fsys)
		if err != nil {
			return nil, err
		}
		t.Set(usage)
		_, err = s.db.ExecContext(ctx, s.q(`UPDATE ferry_users SET used_bytes = ?, used_files = ?,
			usage_known = ? WHERE name = ?`), usage.Bytes, usage.Files, true, u.Name)
		if err != nil {
			return nil, fmt.Errorf("storing the scanned usage: %w", err)
		}
	}
	return quota.Wrap(fsys, t), nil
}

// Rescan forgets the stored usage of the user called name, so that the
// next login with a quota scans the storage again (after files were
// changed outside ferry). ErrNotFound if there is no such user.
func (s *Store) Rescan(ctx context.Context, name string) error {
	if s.isClosed() {
		return errClosed
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE ferry_users SET used_bytes = 0, used_files = 0,
		usage_known = ? WHERE name = ?`), false, name)
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return nil
}
