package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage/quota"
	"github.com/ferryftp/ferry/userstore"
)

// User is one account.
type User struct {
	// Name is the login name, matched exactly (case-sensitive).
	Name string
	// PasswordHash is an argon2id PHC string or a bcrypt hash.
	PasswordHash string
	// Storage is where the user's files live.
	Storage userstore.StorageSpec
	// Perms is what the user may do; Add and Update store zero as
	// ftpserver.PermReadOnly.
	Perms ftpserver.Perms
	// MaxSessions caps the user's concurrent sessions; 0 means the server's
	// option.
	MaxSessions int
	// Rates limits the bandwidth of the user's sessions together, in bytes
	// per second (zero: no per-user limit).
	Rates ftpserver.Rates
	// RequireTLS refuses the login on a control connection without TLS.
	RequireTLS bool
	// Disabled refuses every login, like a wrong password.
	Disabled bool
	// Quota is the user's own quota: 0 takes Options.DefaultQuota, -1
	// means unlimited.
	Quota quota.Limits
	// Usage is what the user's files take, as the servers keep it; read
	// only (Add and Update never write it). UsageKnown is false until a
	// server has scanned the storage (at the next login with a quota).
	Usage      quota.Usage
	UsageKnown bool
	// Created and Updated are set by the store (UTC).
	Created, Updated time.Time
}

// Validate checks u as Add and Update do.
func (u *User) Validate() error {
	if err := userstore.CheckName(u.Name); err != nil {
		return fmt.Errorf("user %q: %w", u.Name, err)
	}
	if err := password.Check(u.PasswordHash); err != nil {
		return fmt.Errorf("user %q: password hash: %w", u.Name, err)
	}
	if u.MaxSessions < 0 {
		return fmt.Errorf("user %q: max sessions %d is negative", u.Name, u.MaxSessions)
	}
	if u.Rates.Upload < 0 || u.Rates.Download < 0 {
		return fmt.Errorf("user %q: a bandwidth limit is negative", u.Name)
	}
	if u.Quota.MaxBytes < -1 || u.Quota.MaxFiles < -1 {
		return fmt.Errorf("user %q: a quota is below -1 (unlimited)", u.Name)
	}
	if u.Perms&^ftpserver.PermAll != 0 {
		return fmt.Errorf("user %q: unknown permission bits %#x", u.Name, uint8(u.Perms))
	}
	st := u.Storage
	switch st.Kind {
	case "", userstore.StorageLocal:
		if st.Root == "" {
			return fmt.Errorf("user %q: no storage: give a local root or an S3 bucket", u.Name)
		}
		if !filepath.IsAbs(st.Root) {
			return fmt.Errorf("user %q: root %s is not an absolute path", u.Name, st.Root)
		}
		if st.Endpoint != "" || st.Bucket != "" || st.Prefix != "" || st.Region != "" || st.Credentials != (userstore.Credentials{}) {
			return fmt.Errorf("user %q: a local root cannot have S3 settings", u.Name)
		}
	case userstore.StorageS3:
		if st.Bucket == "" {
			return fmt.Errorf("user %q: S3 storage needs a bucket", u.Name)
		}
		if st.Root != "" {
			return fmt.Errorf("user %q: S3 storage cannot have a local root", u.Name)
		}
		if _, err := userstore.ParseCredentials(st.Credentials.String()); err != nil {
			return fmt.Errorf("user %q: %w", u.Name, err)
		}
		for _, v := range []string{st.Endpoint, st.Bucket, st.Prefix, st.Region} {
			if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				return fmt.Errorf("user %q: S3 settings contain a control character", u.Name)
			}
		}
	default:
		return fmt.Errorf("user %q: unknown storage kind %q", u.Name, st.Kind)
	}
	return nil
}

// normalise fills defaults before storing.
func (u *User) normalise() {
	if u.Perms == 0 {
		u.Perms = ftpserver.PermReadOnly
	}
	if u.Storage.Kind == "" {
		u.Storage.Kind = userstore.StorageLocal
	}
}

const userColumns = `name, password_hash, storage, root, s3_endpoint, s3_bucket, s3_prefix, s3_region,
	s3_credentials, perms, max_sessions, require_tls, enabled, created_at, updated_at, upload_rate, download_rate,
	max_bytes, max_files`

// usageColumns follow userColumns in reads; only the servers write them.
const usageColumns = `used_bytes, used_files, usage_known`

// scanUser reads one row of userColumns.
func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var creds, perms string
	var enabled bool
	err := row.Scan(&u.Name, &u.PasswordHash, &u.Storage.Kind, &u.Storage.Root, &u.Storage.Endpoint,
		&u.Storage.Bucket, &u.Storage.Prefix, &u.Storage.Region, &creds, &perms, &u.MaxSessions,
		&u.RequireTLS, &enabled, &u.Created, &u.Updated, &u.Rates.Upload, &u.Rates.Download,
		&u.Quota.MaxBytes, &u.Quota.MaxFiles, &u.Usage.Bytes, &u.Usage.Files, &u.UsageKnown)
	if err != nil {
		return User{}, err
	}
	u.Disabled = !enabled
	if u.Storage.Credentials, err = userstore.ParseCredentials(creds); err != nil {
		return User{}, fmt.Errorf("user %q: stored %w", u.Name, err)
	}
	if perms != "" {
		if u.Perms, err = ftpserver.ParsePerms(strings.Split(perms, ",")); err != nil {
			return User{}, fmt.Errorf("user %q: stored perms: %w", u.Name, err)
		}
	}
	u.Created, u.Updated = u.Created.UTC(), u.Updated.UTC()
	return u, nil
}

// args returns u's values in userColumns order.
func (u *User) args() []any {
	st := u.Storage
	return []any{u.Name, u.PasswordHash, st.Kind, st.Root, st.Endpoint, st.Bucket, st.Prefix, st.Region,
		st.Credentials.String(), u.Perms.String(), u.MaxSessions, u.RequireTLS, !u.Disabled, u.Created, u.Updated,
		u.Rates.Upload, u.Rates.Download, u.Quota.MaxBytes, u.Quota.MaxFiles}
}

// now is the store's clock, truncated to what both databases keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Add creates a user; ErrExists if the name is taken.
func (s *Store) Add(ctx context.Context, u User) error {
	if s.isClosed() {
		return errClosed
	}
	u.normalise()
	if err := u.Validate(); err != nil {
		return err
	}
	u.Created = now()
	u.Updated = u.Created
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO ferry_users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`), u.args()...)
	if err != nil {
		return fmt.Errorf("sqlstore: adding user %q: %w", u.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("user %q: %w", u.Name, ErrExists)
	}
	return nil
}

// Get returns the user called name; ErrNotFound if there is none.
func (s *Store) Get(ctx context.Context, name string) (User, error) {
	if s.isClosed() {
		return User{}, errClosed
	}
	return s.get(ctx, s.db, name, "")
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) get(ctx context.Context, q queryer, name, suffix string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, s.q("SELECT "+userColumns+", "+usageColumns+" FROM ferry_users WHERE name = ?"+suffix), name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("sqlstore: reading user %q: %w", name, err)
	}
	return u, nil
}

// List returns every user, sorted by name.
func (s *Store) List(ctx context.Context) ([]User, error) {
	if s.isClosed() {
		return nil, errClosed
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+userColumns+", "+usageColumns+" FROM ferry_users ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing users: %w", err)
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing users: %w", err)
	}
	return users, nil
}

// Update changes the user called name in one transaction: fn receives the
// current record and edits it; the result is validated and stored, with
// Updated set to now. Renaming is not supported (fn must keep Name).
// ErrNotFound if there is no such user; an error from fn is returned as is
// and nothing changes.
func (s *Store) Update(ctx context.Context, name string, fn func(*User) error) error {
	if s.isClosed() {
		return errClosed
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	defer tx.Rollback()
	lock := ""
	if s.dialect == postgres {
		lock = " FOR UPDATE"
	}
	u, err := s.get(ctx, tx, name, lock)
	if err != nil {
		return err
	}
	if err := fn(&u); err != nil {
		return err
	}
	if u.Name != name {
		return fmt.Errorf("user %q: renaming is not supported", name)
	}
	u.normalise()
	if err := u.Validate(); err != nil {
		return err
	}
	u.Updated = now()
	a := u.args()
	// Every column but name and created_at.
	_, err = tx.ExecContext(ctx, s.q(`UPDATE ferry_users SET password_hash = ?, storage = ?, root = ?,
		s3_endpoint = ?, s3_bucket = ?, s3_prefix = ?, s3_region = ?, s3_credentials = ?, perms = ?,
		max_sessions = ?, require_tls = ?, enabled = ?, updated_at = ?, upload_rate = ?, download_rate = ?,
		max_bytes = ?, max_files = ? WHERE name = ?`),
		append(append([]any{}, a[1:13]...), a[14], a[15], a[16], a[17], a[18], u.Name)...)
	if err != nil {
		return fmt.Errorf("sqlstore: updating user %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: updating user %q: %w", name, err)
	}
	return nil
}

// SetPassword replaces the user's password hash.
func (s *Store) SetPassword(ctx context.Context, name, hash string) error {
	return s.Update(ctx, name, func(u *User) error { u.PasswordHash = hash; return nil })
}

// Delete removes the user called name; ErrNotFound if there is none.
// Sessions already logged in go on until they end.
func (s *Store) Delete(ctx context.Context, name string) error {
	if s.isClosed() {
		return errClosed
	}
	res, err := s.db.ExecContext(ctx, s.q("DELETE FROM ferry_users WHERE name = ?"), name)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting user %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return nil
}
