package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage"
)

// bucketRetryAfter is how long a failed bucket open is remembered: logins
// in that window fail at once instead of each waiting on S3 again.
var bucketRetryAfter = 5 * time.Second

// userBucket is the S3 storage of one config-file user. It is opened at
// start; when that fails (wrong bucket, credentials or endpoint, S3 down)
// the server still starts, only that user's logins fail (with a log line
// naming the problem), and each later login tries to open it again.
//
// Until it is open, userBucket stands in for the user's storage.FS in the
// user store; bucketLogins swaps it for the real file system at login, so
// its own FS methods only ever answer "unavailable".
type userBucket struct {
	user string
	open func(context.Context) (storage.FS, error)

	mu      sync.Mutex
	fs      storage.FS // nil until opened
	lastErr error
	lastTry time.Time
	closed  bool
}

// errBucketUnavailable is what a userBucket's own FS methods answer.
var errBucketUnavailable = errors.New("the user's S3 bucket is not available")

// get returns the opened file system, opening it if needed.
func (b *userBucket) get(ctx context.Context) (storage.FS, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, errors.New("config: the user store is closed")
	case b.fs != nil:
		return b.fs, nil
	case b.lastErr != nil && time.Since(b.lastTry) < bucketRetryAfter:
		return nil, b.lastErr
	}
	fsys, err := b.open(ctx)
	b.lastTry = time.Now()
	if err != nil {
		b.lastErr = fmt.Errorf("user %q: S3 storage: %w", b.user, err)
		return nil, b.lastErr
	}
	b.fs, b.lastErr = fsys, nil
	return fsys, nil
}

// Close closes the bucket's file system if it was opened.
func (b *userBucket) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if c, ok := b.fs.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (b *userBucket) Stat(context.Context, string) (fs.FileInfo, error) {
	return nil, errBucketUnavailable
}

func (b *userBucket) ReadDir(context.Context, string) ([]fs.FileInfo, error) {
	return nil, errBucketUnavailable
}

func (b *userBucket) Open(context.Context, string, int64) (io.ReadCloser, error) {
	return nil, errBucketUnavailable
}

func (b *userBucket) Create(context.Context, string, storage.CreateOptions) (io.WriteCloser, error) {
	return nil, errBucketUnavailable
}

func (b *userBucket) Remove(context.Context, string) error    { return errBucketUnavailable }
func (b *userBucket) Mkdir(context.Context, string) error     { return errBucketUnavailable }
func (b *userBucket) RemoveDir(context.Context, string) error { return errBucketUnavailable }
func (b *userBucket) Rename(context.Context, string, string) error {
	return errBucketUnavailable
}

// openBuckets makes the userBucket of each S3 user and tries to open it
// now, logging (not returning) the failures.
func openBuckets(users []User, logger *slog.Logger) map[string]*userBucket {
	buckets := map[string]*userBucket{}
	for _, u := range users {
		if u.S3 == nil {
			continue
		}
		table := u.S3
		b := &userBucket{user: u.Name, open: func(ctx context.Context) (storage.FS, error) {
			return openUserS3(ctx, table)
		}}
		if _, err := b.get(context.Background()); err != nil && logger != nil {
			logger.Error("S3 storage unavailable: this user's logins fail until it works (retried at each login)",
				"user", u.Name, "bucket", table.Bucket, "err", err)
		}
		buckets[u.Name] = b
	}
	return buckets
}

// bucketLogins wraps auth so that an identity whose storage is a
// userBucket gets the bucket's opened file system, or fails the login
// with the reason when the bucket still cannot be opened (the server
// answers 421 and logs the error, naming the user).
func bucketLogins(auth ftpserver.Authenticator, buckets map[string]*userBucket) ftpserver.Authenticator {
	if len(buckets) == 0 {
		return auth
	}
	return ftpserver.AuthenticatorFunc(func(ctx context.Context, login ftpserver.LoginInfo) (*ftpserver.Identity, error) {
		id, err := auth.Authenticate(ctx, login)
		if err != nil || id == nil {
			return id, err
		}
		b, ok := id.FS.(*userBucket)
		if !ok {
			return id, nil
		}
		fsys, err := b.get(ctx)
		if err != nil {
			return nil, err
		}
		id.FS = fsys
		return id, nil
	})
}
