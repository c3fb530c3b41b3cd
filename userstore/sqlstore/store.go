// Package sqlstore keeps ferry's users in a SQL database: SQLite (the
// embedded default, a single file such as ferry.db, through the pure-Go
// modernc.org/sqlite driver) or PostgreSQL (through pgx), chosen by the
// data source name given to Open.
//
// A Store is an ftpserver.Authenticator that reads the user on every login,
// so a change made with `ferry user` (or any other Store on the same
// database) takes effect at the next login on every server node, without a
// restart. Passwords are stored as argon2id or bcrypt hashes (package
// password); S3 credentials are stored only as a reference (environment
// variable names or a profile name), never as the secret itself.
//
// The schema is created and upgraded by embedded, versioned migrations when
// a Store is opened; see docs/users.md.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/quota"
	"github.com/ferryftp/ferry/userstore"
)

// DefaultDSN is the database used when none is given: a SQLite file in the
// current directory.
const DefaultDSN = "ferry.db"

// Errors returned by the user management methods.
var (
	ErrNotFound = errors.New("no such user")
	ErrExists   = errors.New("user already exists")
	// ErrNoDatabase is returned by Open with Options.MustExist when a SQLite
	// file does not exist.
	ErrNoDatabase = errors.New("database does not exist")
)

// StorageFactory builds the file system of a user whose storage is not a
// local directory (today: S3); see userstore.StorageFactory.
type StorageFactory = userstore.StorageFactory

// Options configure a Store. The zero value is usable: local roots only,
// direct (non-atomic) uploads.
type Options struct {
	// Resolver, when set, opens the users' roots and buckets, shared with
	// the other user sources that use it (the configuration file's users);
	// the caller owns it. Otherwise the Store makes its own from Local and
	// StorageFactory and closes it in Close.
	Resolver *userstore.Resolver
	// StorageFactory builds S3 file systems when Resolver is not set.
	// Without either, logins of S3 users fail with an error (logged by the
	// server, 421 to the client).
	StorageFactory StorageFactory
	// Local are the options of the localfs file systems opened on local
	// roots (among them Atomic, the upload mode) when Resolver is not set.
	Local localfs.Options
	// MaxConcurrentChecks bounds how many password hashes are verified at
	// once (default runtime.GOMAXPROCS(0)); see userstore.WithMaxConcurrentChecks.
	MaxConcurrentChecks int
	// Checker, when set, verifies passwords instead (for example a
	// password.NewCachingChecker shared with the config file's users).
	Checker *password.Checker
	// DefaultQuota is the quota of users whose own is 0 (zero: unlimited).
	DefaultQuota quota.Limits
	// OnUsageError, when set, is told when adding a usage change to the
	// database failed (the upload itself stands; the stored usage is off by
	// that change until the user's usage is scanned again).
	OnUsageError func(user string, err error)
	// MustExist makes Open fail with ErrNoDatabase instead of creating a
	// SQLite file that does not exist. It has no effect on PostgreSQL.
	MustExist bool
}

// dialect is the SQL flavour of a database.
type dialect int

const (
	sqlite dialect = iota
	postgres
)

// Store is a user database. It is safe for concurrent use, also by several
// processes (server nodes and `ferry user`) on the same database.
type Store struct {
	db      *sql.DB
	dialect dialect
	opts    Options
	checker *password.Checker

	resolver *userstore.Resolver
	ownsRes  bool // the resolver is the Store's own, closed by Close

	mu       sync.Mutex
	closed   bool
	trackers map[string]*quota.Tracker // by user name
}

// IsPostgres reports whether dsn names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn — a postgres:// or postgresql://
// URL for PostgreSQL, anything else a SQLite file path ("" means
// DefaultDSN) — and brings its schema up to date. A new SQLite file is
// created readable by its owner only, since it holds password hashes.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	checker := opts.Checker
	if checker == nil {
		checker = password.NewChecker(opts.MaxConcurrentChecks)
	}
	s := &Store{opts: opts, checker: checker, resolver: opts.Resolver}
	if s.resolver == nil {
		s.resolver, s.ownsRes = userstore.NewResolver(opts.Local, opts.StorageFactory), true
	}
	var err error
	if IsPostgres(dsn) {
		s.dialect = postgres
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		s.db.SetMaxIdleConns(4)
		s.db.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		s.dialect = sqlite
		if s.db, err = openSQLite(dsn, opts.MustExist); err != nil {
			return nil, err
		}
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("sqlstore: %s: %w", Redact(dsn), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("sqlstore: %s: %w", Redact(dsn), err)
	}
	return s, nil
}

// openSQLite opens path with a busy timeout (the CLI and several server
// processes may write at once), WAL journaling (readers do not wait for a
// writer) and immediate transactions (a read-modify-write cannot deadlock).
func openSQLite(path string, mustExist bool) (*sql.DB, error) {
	if path == "" {
		path = DefaultDSN
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlstore: %q: give the SQLite database as a file path", path)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if mustExist {
			return nil, fmt.Errorf("sqlstore: %s: %w", path, ErrNoDatabase)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		if f != nil {
			f.Close()
		}
	}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath()}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	u.RawQuery = q.Encode()
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", path, err)
	}
	return db, nil
}

// Redact returns dsn with any password in it replaced by "xxxxx", for
// messages and logs.
func Redact(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable DSN)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// q rewrites the ? placeholders of query into $1, $2... for PostgreSQL.
// Queries in this package never contain a literal question mark.
func (s *Store) q(query string) string {
	if s.dialect != postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// errClosed is returned after Close.
var errClosed = errors.New("sqlstore: store is closed")

// Close closes the database and the file systems the store opened.
// Sessions authenticated earlier must have ended: their Identity.FS stops
// working. Later calls fail.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var errs []error
	if s.ownsRes {
		errs = append(errs, s.resolver.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
