// Package userstore holds ftpserver.Authenticator implementations backed by
// user lists. Static serves a fixed list, typically read from the config file;
// passwords are stored as argon2id or bcrypt hashes (see package password)
// and are never logged.
package userstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/quota"
)

// User is one account of a Static store.
type User struct {
	// Name is the login name, matched exactly (case-sensitive).
	Name string
	// PasswordHash is an argon2id PHC string or a bcrypt hash, as made by
	// password.Hash or `ferry passwd`.
	PasswordHash string
	// Root is the local directory the user sees as "/". It must exist. It is
	// ignored when FS is set.
	Root string
	// Perms is what the user may do; zero means ftpserver.PermReadOnly.
	Perms ftpserver.Perms
	// MaxSessions caps the user's concurrent sessions; 0 means the server's
	// MaxSessionsPerUser option.
	MaxSessions int
	// Rates limits the bandwidth of the user's sessions together (zero: no
	// per-user limit).
	Rates ftpserver.Rates
	// RequireTLS refuses this user's login on a control connection without TLS.
	RequireTLS bool
	// Quota limits the bytes and files the user may store (zero or
	// negative: unlimited). The usage is scanned from the user's storage at
	// the first login and kept current by every session of the user
	// together (see package storage/quota).
	Quota quota.Limits
	// FS, when set, is served instead of a localfs on Root. The caller owns
	// it: Static.Close does not close it.
	FS storage.FS
	// Storage, when it names S3 (Kind StorageS3), is served instead of
	// Root: the Resolver (WithResolver) opens it at the user's first login
	// and shares it, and a login whose storage cannot be opened fails with
	// an error naming the problem (the server logs it and answers 421)
	// while other users are unaffected; the next login tries again.
	Storage StorageSpec
}

// Anonymous enables anonymous (guest) logins: any of Names with any
// password. The password, conventionally an e-mail address, is neither
// checked nor logged.
type Anonymous struct {
	// Root is the local directory anonymous users see as "/". It must exist.
	// It is ignored when FS is set.
	Root string
	// Perms is what anonymous users may do; zero means
	// ftpserver.PermReadOnly.
	Perms ftpserver.Perms
	// Names are the login names treated as anonymous, matched without regard
	// to case (default "anonymous" and "ftp"). Sessions are reported, and
	// counted for MaxSessions, under the first name.
	Names []string
	// MaxSessions caps concurrent anonymous sessions; 0 means the server's
	// MaxSessionsPerUser option.
	MaxSessions int
	// Rates limits the bandwidth of all anonymous sessions together.
	Rates ftpserver.Rates
	// Quota limits what all anonymous sessions together may store.
	Quota quota.Limits
	// FS, when set, is served instead of a localfs on Root. The caller owns it.
	FS storage.FS
}

// Option adjusts a Static store.
type Option func(*options)

type options struct {
	local     localfs.Options
	resolver  *Resolver
	maxChecks int
	checker   *password.Checker
}

// WithResolver makes the store open roots and buckets through r, shared
// with other stores (a user database) that use r too. The caller owns r:
// Static.Close does not close it. Without it, the store makes its own from
// WithLocalFS's options, with no S3 support.
func WithResolver(r *Resolver) Option {
	return func(opts *options) { opts.resolver = r }
}

// WithLocalFS sets the options of the localfs file systems opened on user
// roots, among them Atomic (upload mode "atomic" versus "direct").
func WithLocalFS(o localfs.Options) Option {
	return func(opts *options) { opts.local = o }
}

// WithMaxConcurrentChecks bounds how many password hashes are verified at
// once (default runtime.GOMAXPROCS(0)). Each argon2id check holds 19 MiB of
// memory, so the bound keeps a login storm from exhausting memory; logins
// beyond it wait, and give up when their context ends. n < 1 selects the
// default.
func WithMaxConcurrentChecks(n int) Option {
	return func(opts *options) { opts.maxChecks = n }
}

// WithChecker makes the store verify passwords with c (for example a
// password.NewCachingChecker shared with other stores); it overrides
// WithMaxConcurrentChecks.
func WithChecker(c *password.Checker) Option {
	return func(opts *options) { opts.checker = c }
}

// Static authenticates against a fixed list of users. It is safe for
// concurrent use. Each distinct root directory is opened once and shared by
// every session of every user with that root.
type Static struct {
	users   map[string]*account
	anon    *account
	anonNm  []string
	checker *password.Checker

	resolver *Resolver
	ownsRes  bool // the resolver is Static's own, closed by Close

	mu     sync.Mutex
	closed bool
}

// account is a User or the anonymous account, ready to hand out.
type account struct {
	name        string
	hash        string
	fs          storage.FS  // nil when storage is resolved at login
	storage     StorageSpec // S3 storage, resolved at each login
	perms       ftpserver.Perms
	maxSessions int
	rates       ftpserver.Rates
	anonymous   bool
	requireTLS  bool
	quota       *quota.Tracker // nil: no quota
}

// newTracker returns a Tracker for limits, or nil when they are unlimited.
func newTracker(l quota.Limits) *quota.Tracker {
	if l.Unlimited() {
		return nil
	}
	return quota.NewTracker(l, nil)
}

// NewStatic checks users and anon (nil disables anonymous logins) and opens
// their roots. It fails with a message naming the user for a malformed hash,
// a duplicate or invalid name, or a root that does not exist or is not a
// directory. Call Close when the store and every session it authenticated
// are done.
func NewStatic(users []User, anon *Anonymous, opts ...Option) (_ *Static, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.checker == nil {
		o.checker = password.NewChecker(o.maxChecks)
	}
	s := &Static{
		users:    make(map[string]*account, len(users)),
		checker:  o.checker,
		resolver: o.resolver,
	}
	if s.resolver == nil {
		s.resolver, s.ownsRes = NewResolver(o.local, nil), true
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	open := func(root string) (storage.FS, error) {
		if root == "" {
			return nil, errors.New("root is empty")
		}
		return s.resolver.Resolve(context.Background(), StorageSpec{Kind: StorageLocal, Root: root})
	}

	if anon != nil {
		s.anonNm = anon.Names
		if len(s.anonNm) == 0 {
			s.anonNm = []string{"anonymous", "ftp"}
		}
		for _, n := range s.anonNm {
			if err := CheckName(n); err != nil {
				return nil, fmt.Errorf("userstore: anonymous name %q: %w", n, err)
			}
		}
		a := &account{name: s.anonNm[0], perms: anon.Perms, maxSessions: anon.MaxSessions, rates: anon.Rates, anonymous: true, fs: anon.FS, quota: newTracker(anon.Quota)}
		if a.perms == 0 {
			a.perms = ftpserver.PermReadOnly
		}
		if a.fs == nil {
			if a.fs, err = open(anon.Root); err != nil {
				return nil, fmt.Errorf("userstore: anonymous: %w", err)
			}
		}
		s.anon = a
	}

	for i, u := range users {
		if err := CheckName(u.Name); err != nil {
			return nil, fmt.Errorf("userstore: users[%d] name %q: %w", i, u.Name, err)
		}
		if _, dup := s.users[u.Name]; dup {
			return nil, fmt.Errorf("userstore: user %q is listed twice", u.Name)
		}
		if s.isAnonymousName(u.Name) {
			return nil, fmt.Errorf("userstore: user %q clashes with an anonymous login name", u.Name)
		}
		if err := password.Check(u.PasswordHash); err != nil {
			return nil, fmt.Errorf("userstore: user %q: password hash: %w", u.Name, err)
		}
		a := &account{name: u.Name, hash: u.PasswordHash, perms: u.Perms, maxSessions: u.MaxSessions, rates: u.Rates, fs: u.FS, requireTLS: u.RequireTLS, quota: newTracker(u.Quota)}
		if a.perms == 0 {
			a.perms = ftpserver.PermReadOnly
		}
		switch {
		case a.fs != nil:
		case u.Storage.IsS3():
			a.storage = u.Storage // opened at login
		default:
			if a.fs, err = open(u.Root); err != nil {
				return nil, fmt.Errorf("userstore: user %q: %w", u.Name, err)
			}
		}
		s.users[u.Name] = a
	}
	return s, nil
}

// CheckName reports whether name is usable as a login name: not empty, at
// most 256 bytes, valid UTF-8 with no spaces or control characters.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case len(name) > 256:
		return errors.New("name is longer than 256 bytes")
	}
	for _, r := range name {
		switch {
		case r == unicode.ReplacementChar:
			return errors.New("name is not valid UTF-8")
		case unicode.IsSpace(r):
			return errors.New("name contains a space")
		case unicode.IsControl(r):
			return errors.New("name contains a control character")
		}
	}
	return nil
}

// CheckRoot reports, with a message naming the path, whether dir exists and
// is a directory.
func CheckRoot(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("root %s does not exist", dir)
	case err != nil:
		return fmt.Errorf("root %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("root %s is not a directory", dir)
	}
	return nil
}

// Has reports whether name is one of the store's users or, with anonymous
// logins enabled, an anonymous name.
func (s *Static) Has(name string) bool {
	_, ok := s.users[name]
	return ok || s.isAnonymousName(name)
}

func (s *Static) isAnonymousName(name string) bool {
	if s.anon == nil {
		return false
	}
	for _, n := range s.anonNm {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// errClosed is returned by Authenticate after Close.
var errClosed = errors.New("userstore: store is closed")

// Authenticate implements ftpserver.Authenticator. Unknown names cost the
// same argon2id work as known ones (a check against password.Dummy) and fail
// with ftpserver.ErrAuthFailed like wrong passwords. Anonymous names succeed
// with any password when anonymous logins are enabled.
func (s *Static) Authenticate(ctx context.Context, login ftpserver.LoginInfo) (*ftpserver.Identity, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if s.isAnonymousName(login.User) {
		return s.anon.withQuota(ctx, s.anon.identity())
	}
	a := s.users[login.User]
	var hash string
	if a != nil {
		hash = a.hash
	}
	ok, err := s.checker.Check(ctx, hash, a != nil, login.Password)
	if err != nil {
		// NewStatic checked every hash, so this is unexpected; never
		// include the password.
		return nil, fmt.Errorf("userstore: user %q: %w", login.User, err)
	}
	if !ok {
		return nil, ftpserver.ErrAuthFailed
	}
	id := a.identity()
	if id.FS == nil {
		if id.FS, err = s.resolver.Resolve(ctx, a.storage); err != nil {
			return nil, fmt.Errorf("userstore: user %q: storage %s: %w", a.name, a.storage, err)
		}
	}
	return a.withQuota(ctx, id)
}

// withQuota wraps id's file system in the account's quota, scanning the
// usage at the first login (a failed scan fails the login; the next one
// tries again).
func (a *account) withQuota(ctx context.Context, id *ftpserver.Identity) (*ftpserver.Identity, error) {
	if a.quota == nil {
		return id, nil
	}
	if err := a.quota.Load(ctx, id.FS); err != nil {
		return nil, fmt.Errorf("userstore: user %q: %w", a.name, err)
	}
	id.FS = quota.Wrap(id.FS, a.quota)
	return id, nil
}

// identity returns a fresh Identity so sessions cannot change shared state.
func (a *account) identity() *ftpserver.Identity {
	return &ftpserver.Identity{
		User:        a.name,
		FS:          a.fs,
		Perms:       a.perms,
		Anonymous:   a.anonymous,
		MaxSessions: a.maxSessions,
		RequireTLS:  a.requireTLS,
		Rates:       a.rates,
	}
}

// Close closes the file systems NewStatic opened, unless they came from a
// Resolver given with WithResolver (its owner closes it), and never those
// passed in User.FS or Anonymous.FS. Sessions authenticated earlier must
// have ended: their Identity.FS stops working. Later calls to
// Authenticate fail.
func (s *Static) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.ownsRes {
		return s.resolver.Close()
	}
	return nil
}
