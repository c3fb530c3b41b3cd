// Package s3fs is a storage.FS backed by an S3-compatible object store
// (AWS S3, SeaweedFS, versitygw, MinIO, Ceph RGW...), built on minio-go.
//
// Names map to object keys under Options.Prefix. A directory is a key prefix
// ending in "/"; an empty directory is a zero-length marker object "dir/"
// that Mkdir creates. A directory that holds objects but has no marker
// (uploaded by another tool) is a directory too, until its last object goes.
// Listings page through ListObjectsV2 with the delimiter "/"; Stat is a HEAD
// request followed, for a missing key, by a one-key listing that finds
// directories; Open with an offset is a ranged GET that streams the body.
//
// Uploads stream through a multipart upload with one part buffer of
// Options.PartSize bytes, and the object appears only when the writer is
// closed; see Create for resumed and aborted uploads. Rename is a
// server-side copy followed by a delete; renaming a directory copies every
// object under it, then deletes the originals, and is not atomic.
//
// The backend does not implement storage.Chmoder or storage.Chtimeser:
// objects have no permission bits, and LastModified is set by the server.
// docs/s3.md describes configuration, semantics and limits.
package s3fs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/ferryftp/ferry/storage"
)

const (
	// MinPartSize is the smallest part S3 accepts for every part of a
	// multipart upload except the last.
	MinPartSize = 5 << 20
	// DefaultPartSize is the part size when Options.PartSize is zero.
	DefaultPartSize = 16 << 20
	// MaxPartSize is the largest part size New accepts.
	MaxPartSize = 512 << 20
	// maxParts is the S3 limit on the parts of one multipart upload.
	maxParts = 10000
)

// Options configure an FS.
type Options struct {
	// Endpoint is the S3 server as "host[:port]" or as an "http://" or
	// "https://" URL (whose scheme then overrides UseSSL), e.g.
	// "s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:8333".
	Endpoint string
	// Bucket holds the files; it must exist.
	Bucket string
	// Prefix, if set, is the key prefix under which the file system's root
	// lies, e.g. "users/alice"; a trailing slash is added when missing.
	Prefix string
	// Region is the bucket's region; empty lets the client find it out.
	Region string

	// AccessKey and SecretKey are static credentials (SessionToken for
	// temporary ones). When AccessKey is empty, credentials come from the
	// named Profile of the AWS shared credentials file if Profile is set,
	// and otherwise from the environment (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or MINIO_ACCESS_KEY and
	// MINIO_SECRET_KEY), the default profile of the shared credentials
	// file, or the instance's IAM role, in that order. Credentials are
	// never logged and never appear in error text.
	AccessKey, SecretKey, SessionToken string
	// Profile names a profile in the AWS shared credentials file
	// (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials).
	Profile string

	// UseSSL selects https for an Endpoint given without a scheme.
	UseSSL bool
	// Insecure skips verification of the server's TLS certificate.
	Insecure bool

	// PartSize is the size of one multipart-upload part, and so the memory
	// each upload in progress holds: between MinPartSize (5 MiB) and
	// MaxPartSize; zero means DefaultPartSize (16 MiB). S3 allows 10,000
	// parts, so the largest file an upload can write is 10,000 × PartSize.
	PartSize int64
}

// FS is an S3-backed storage.FS. It is safe for concurrent use.
type FS struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string // "" or ending in "/"
	partSize int64

	mu      sync.Mutex
	uploads map[string]bool // keys with an upload in progress through this FS
}

var _ storage.FS = (*FS)(nil)

// New connects to the bucket that opts name and checks that it exists.
func New(ctx context.Context, opts Options) (*FS, error) {
	if opts.Bucket == "" {
		return nil, errors.New("s3fs: no bucket")
	}
	host, secure, err := parseEndpoint(opts.Endpoint, opts.UseSSL)
	if err != nil {
		return nil, err
	}
	partSize := opts.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < MinPartSize || partSize > MaxPartSize {
		return nil, fmt.Errorf("s3fs: part size %d is outside %d to %d", partSize, MinPartSize, MaxPartSize)
	}
	prefix := strings.Trim(opts.Prefix, "/")
	if prefix != "" {
		if !storage.ValidName(prefix) || prefix == "." {
			return nil, errors.New("s3fs: invalid prefix")
		}
		prefix += "/"
	}
	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("s3fs: %w", err)
	}
	if opts.Insecure && secure {
		if transport.TLSClientConfig == nil {
			transport.TLSClientConfig = &tls.Config{}
		}
		transport.TLSClientConfig.InsecureSkipVerify = true
	}
	client, err := minio.New(host, &minio.Options{
		Creds:     credentialsFor(opts),
		Secure:    secure,
		Region:    opts.Region,
		Transport: transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3fs: %w", err)
	}
	f := &FS{
		client:   client,
		core:     minio.Core{Client: client},
		bucket:   opts.Bucket,
		prefix:   prefix,
		partSize: partSize,
		uploads:  make(map[string]bool),
	}
	if err := f.CheckHealth(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// parseEndpoint returns the host[:port] of endpoint and whether to use TLS.
func parseEndpoint(endpoint string, useSSL bool) (string, bool, error) {
	if endpoint == "" {
		return "", false, errors.New("s3fs: no endpoint")
	}
	if !strings.Contains(endpoint, "://") {
		return strings.TrimSuffix(endpoint, "/"), useSSL, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || strings.Trim(u.Path, "/") != "" {
		// The text of endpoint is not repeated: it might carry a secret.
		return "", false, errors.New("s3fs: endpoint must be host[:port] or an http(s) URL without a path")
	}
	return u.Host, u.Scheme == "https", nil
}

func credentialsFor(opts Options) *credentials.Credentials {
	switch {
	case opts.AccessKey != "":
		return credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, opts.SessionToken)
	case opts.Profile != "":
		return credentials.NewFileAWSCredentials("", opts.Profile)
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.EnvMinio{},
		&credentials.FileAWSCredentials{},
		&credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport, Timeout: 10 * time.Second}},
	})
}

// key is the object key of a file name ("." is the root prefix).
func (f *FS) key(name string) string {
	if name == "." {
		return f.prefix
	}
	return f.prefix + name
}

// dirKey is the key prefix (and marker key) of a directory name.
func (f *FS) dirKey(name string) string {
	if name == "." {
		return f.prefix
	}
	return f.prefix + name + "/"
}

// begin checks the context and the name at the start of a call.
func begin(ctx context.Context, op, name string) error {
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	if err := storage.CheckName(op, name); err != nil {
		return err
	}
	if reserved(name) {
		return &fs.PathError{Op: op, Path: name, Err: errReserved}
	}
	return nil
}

// fileInfo describes an object or a directory.
type fileInfo struct {
	name    string
	size    int64
	modTime time.Time
	dir     bool
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) ModTime() time.Time { return fi.modTime }
func (fi *fileInfo) IsDir() bool        { return fi.dir }
func (fi *fileInfo) Sys() any           { return nil }
func (fi *fileInfo) Mode() fs.FileMode {
	if fi.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

func dirInfo(name string, modTime time.Time) *fileInfo {
	return &fileInfo{name: path.Base(name), modTime: modTime, dir: true}
}

// Stat describes name: an object with that key is a file; otherwise a
// marker or any object under "name/" makes it a directory. A directory's
// ModTime is its marker's LastModified, or the zero time without one.
func (f *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	const op = "stat"
	if err := begin(ctx, op, name); err != nil {
		return nil, err
	}
	fi, err := f.stat(ctx, op, name)
	if err != nil {
		return nil, err
	}
	return fi, nil
}

// stat is Stat without the checks; a missing name yields an error matching
// fs.ErrNotExist.
func (f *FS) stat(ctx context.Context, op, name string) (*fileInfo, error) {
	if name == "." {
		return dirInfo(".", time.Time{}), nil
	}
	oi, err := f.client.StatObject(ctx, f.bucket, f.key(name), minio.StatObjectOptions{})
	if err == nil {
		return &fileInfo{name: path.Base(name), size: oi.Size, modTime: oi.LastModified}, nil
	}
	if err = f.mapErr(ctx, op, name, err); !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	first, ok, err := f.first(ctx, op, name, f.dirKey(name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	var mtime time.Time
	if first.Key == f.dirKey(name) {
		mtime = first.LastModified
	}
	return dirInfo(name, mtime), nil
}

// first returns the first object or common prefix under prefix.
func (f *FS) first(ctx context.Context, op, name, prefix string) (minio.ObjectInfo, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for oi := range f.client.ListObjectsIter(ctx, f.bucket, minio.ListObjectsOptions{Prefix: prefix, MaxKeys: 2}) {
		if oi.Err != nil {
			return oi, false, f.mapErr(ctx, op, name, oi.Err)
		}
		return oi, true, nil
	}
	return minio.ObjectInfo{}, false, nil
}

// statDir is stat for a name that must be a directory: a file yields
// storage.ErrNotDir.
func (f *FS) statDir(ctx context.Context, op, name string) error {
	fi, err := f.stat(ctx, op, name)
	switch {
	case err != nil:
		return err
	case !fi.dir:
		return &fs.PathError{Op: op, Path: name, Err: storage.ErrNotDir}
	}
	return nil
}

// ReadDir lists a directory, sorted by name. Hidden partial uploads are
// left out.
func (f *FS) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	const op = "readdir"
	if err := begin(ctx, op, name); err != nil {
		return nil, err
	}
	if err := f.statDir(ctx, op, name); err != nil {
		return nil, err
	}
	prefix := f.dirKey(name)
	seen := make(map[string]bool)
	infos := []fs.FileInfo{}
	for oi := range f.client.ListObjectsIter(ctx, f.bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if oi.Err != nil {
			return nil, f.mapErr(ctx, op, name, oi.Err)
		}
		rel := strings.TrimPrefix(oi.Key, prefix)
		base, isDir := strings.CutSuffix(rel, "/")
		if base == "" || strings.Contains(base, "/") || strings.HasPrefix(base, partPrefix) || seen[base] {
			continue // the marker itself, odd keys like "a//b", partial uploads
		}
		seen[base] = true
		if isDir {
			infos = append(infos, &fileInfo{name: base, dir: true})
		} else {
			infos = append(infos, &fileInfo{name: base, size: oi.Size, modTime: oi.LastModified})
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	slices.SortFunc(infos, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return infos, nil
}

// Open opens a file for reading from offset with a ranged GET; the reader
// streams the response body. An offset at or past the end yields an empty
// reader.
func (f *FS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	const op = "open"
	if err := begin(ctx, op, name); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return nil, &fs.PathError{Op: op, Path: name, Err: storage.ErrIsDir}
	}
	var opts minio.GetObjectOptions
	if offset > 0 {
		if err := opts.SetRange(offset, 0); err != nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
		}
	}
	body, _, _, err := f.core.GetObject(ctx, f.bucket, f.key(name), opts)
	if err == nil {
		return body, nil
	}
	if minio.ToErrorResponse(err).Code == "InvalidRange" {
		return io.NopCloser(strings.NewReader("")), nil
	}
	err = f.mapErr(ctx, op, name, err)
	if errors.Is(err, fs.ErrNotExist) {
		if fi, serr := f.stat(ctx, op, name); serr == nil && fi.dir {
			return nil, &fs.PathError{Op: op, Path: name, Err: storage.ErrIsDir}
		}
	}
	return nil, err
}

// Remove deletes a file.
func (f *FS) Remove(ctx context.Context, name string) error {
	const op = "remove"
	if err := begin(ctx, op, name); err != nil {
		return err
	}
	fi, err := f.stat(ctx, op, name)
	switch {
	case err != nil:
		return err
	case fi.dir:
		return &fs.PathError{Op: op, Path: name, Err: storage.ErrIsDir}
	}
	return f.mapErr(ctx, op, name, f.client.RemoveObject(ctx, f.bucket, f.key(name), minio.RemoveObjectOptions{}))
}

// Mkdir creates the marker object "name/".
func (f *FS) Mkdir(ctx context.Context, name string) error {
	const op = "mkdir"
	if err := begin(ctx, op, name); err != nil {
		return err
	}
	if name == "." {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrExist}
	}
	if err := f.statDir(ctx, op, path.Dir(name)); err != nil {
		return err
	}
	if _, err := f.stat(ctx, op, name); err == nil {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrExist}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	_, err := f.core.PutObject(ctx, f.bucket, f.dirKey(name), strings.NewReader(""), 0, "", "", minio.PutObjectOptions{})
	return f.mapErr(ctx, op, name, err)
}

// RemoveDir deletes an empty directory's marker (and any partial uploads
// left in it). A directory with entries yields storage.ErrNotEmpty.
func (f *FS) RemoveDir(ctx context.Context, name string) error {
	const op = "rmdir"
	if err := begin(ctx, op, name); err != nil {
		return err
	}
	if name == "." {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrPermission}
	}
	if err := f.statDir(ctx, op, name); err != nil {
		return err
	}
	prefix := f.dirKey(name)
	var parts []string
	for oi := range f.client.ListObjectsIter(ctx, f.bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if oi.Err != nil {
			return f.mapErr(ctx, op, name, oi.Err)
		}
		rel := strings.TrimPrefix(oi.Key, prefix)
		switch {
		case rel == "":
		case strings.HasPrefix(rel, partPrefix) && !strings.Contains(rel, "/"):
			parts = append(parts, oi.Key)
		default:
			return &fs.PathError{Op: op, Path: name, Err: storage.ErrNotEmpty}
		}
	}
	for _, key := range parts {
		if f.busy(prefix + strings.TrimPrefix(strings.TrimPrefix(key, prefix), partPrefix)) {
			return &fs.PathError{Op: op, Path: name, Err: storage.ErrNotEmpty}
		}
		if err := f.discardPartial(ctx, key); err != nil {
			return f.mapErr(ctx, op, name, err)
		}
	}
	return f.mapErr(ctx, op, name, f.client.RemoveObject(ctx, f.bucket, prefix, minio.RemoveObjectOptions{}))
}

// claim marks key as having an upload in progress and reports whether it
// was free.
func (f *FS) claim(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.uploads[key] {
		return false
	}
	f.uploads[key] = true
	return true
}

func (f *FS) release(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.uploads, key)
}

func (f *FS) busy(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.uploads[key]
}
