package ftpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"golang.org/x/time/rate"
)

// Client is a goroutine-safe pool of Conns to one server. Operations take a
// Conn from the pool, and are retried on a fresh Conn when the server
// answers 421 or the connection is lost; downloads and uploads resume where
// they stopped.
type Client struct {
	addr string
	opts Options

	// MaxConns bounds the number of simultaneous connections (default 4).
	MaxConns int
	// Retries is how many times an operation is retried after a
	// retryable failure (default 3; negative for none).
	Retries int
	// RetryDelay is the pause before the first retry; it doubles after
	// each one (default 200ms).
	RetryDelay time.Duration
	// Limiter, when set, is one rate limit (bytes per second) shared by
	// all transfers of the Client; see NewRateLimiter.
	Limiter *rate.Limiter

	once   sync.Once
	sem    chan struct{}
	mu     sync.Mutex
	idle   []*Conn
	closed bool
}

// NewClient returns a Client for addr ("host:port"). Connections are made
// lazily. With TLS, all connections share one session cache.
func NewClient(addr string, opts Options) *Client {
	if opts.TLS != nil && opts.TLS.ClientSessionCache == nil {
		opts.TLS = opts.TLS.Clone()
		opts.TLS.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	return &Client{addr: addr, opts: opts}
}

func (cl *Client) init() {
	cl.once.Do(func() {
		cl.sem = make(chan struct{}, cl.maxConns())
	})
}

// maxConns is MaxConns with its default.
func (cl *Client) maxConns() int {
	if cl.MaxConns <= 0 {
		return 4
	}
	return cl.MaxConns
}

// Acquire returns a Conn for exclusive use; give it back with Release.
func (cl *Client) Acquire(ctx context.Context) (*Conn, error) {
	cl.init()
	select {
	case cl.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return cl.connect(ctx)
}

// connect returns an idle Conn or dials one, for a caller that holds a
// slot of cl.sem; it gives the slot back when it fails.
func (cl *Client) connect(ctx context.Context) (*Conn, error) {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		<-cl.sem
		return nil, errors.New("ftpclient: client closed")
	}
	for len(cl.idle) > 0 {
		c := cl.idle[len(cl.idle)-1]
		cl.idle = cl.idle[:len(cl.idle)-1]
		if c.Err() == nil {
			cl.mu.Unlock()
			return c, nil
		}
	}
	cl.mu.Unlock()
	c, err := Dial(ctx, cl.addr, cl.opts)
	if err != nil {
		<-cl.sem
		return nil, err
	}
	return c, nil
}

// trySlot takes a slot of the pool if one is free now, without waiting;
// connect then makes or reuses the connection for it.
func (cl *Client) trySlot() bool {
	cl.init()
	select {
	case cl.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release returns a Conn to the pool; a broken one is closed.
func (cl *Client) Release(c *Conn) {
	cl.mu.Lock()
	if c.Err() == nil && !cl.closed {
		cl.idle = append(cl.idle, c)
	} else {
		c.Close()
	}
	cl.mu.Unlock()
	<-cl.sem
}

// Close closes the idle connections (with QUIT) and refuses new work.
func (cl *Client) Close() error {
	cl.mu.Lock()
	idle := cl.idle
	cl.idle, cl.closed = nil, true
	cl.mu.Unlock()
	for _, c := range idle {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c.Quit(ctx)
		cancel()
	}
	return nil
}

// Retryable reports whether an operation that failed with err may succeed
// on a new connection: 421, other transient 4xx replies about the data
// connection (425, 426), and lost or broken connections. Context errors
// are not retryable.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var fe *ftp.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case ftp.CodeNotAvailable, ftp.CodeCantOpenData, ftp.CodeTransferAborted:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.Is(err, ErrBroken) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &ne) || errors.Is(err, os.ErrDeadlineExceeded)
}

// Do runs fn with a pooled Conn, retrying on a new Conn while the error is
// Retryable.
func (cl *Client) Do(ctx context.Context, fn func(*Conn) error) error {
	retries := cl.Retries
	if retries == 0 {
		retries = 3
	}
	delay := cl.RetryDelay
	if delay <= 0 {
		delay = 200 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		c, err := cl.Acquire(ctx)
		if err == nil {
			err = fn(c)
			if err != nil && Retryable(err) {
				c.Close() // do not trust it for the next attempt
			}
			cl.Release(c)
		}
		if err == nil || !Retryable(err) || attempt >= retries || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay *= 2
	}
}

// TransferOptions tune Download and Upload.
type TransferOptions struct {
	// Resume continues a partial destination (REST) instead of starting
	// over. Retries after a dropped connection always resume.
	Resume bool
	// Verify checks the result with HASH when the server offers it, else
	// by size. The local digest is computed from the bytes as they are
	// received or sent, so the local file is not read a second time
	// (segmented downloads excepted, see DownloadSegmented). Once
	// EarlyHashAfter bytes of a download have arrived, the server's HASH
	// is asked for on a second connection if the pool has room for one,
	// so that the server hashes while it sends; after an upload, ferry's
	// server answers HASH from the digest it computed while receiving.
	Verify bool
	// WrapReader and WrapWriter, when set, wrap the local side (for
	// progress). Leaving them nil (and Verify off, and no Limiter) keeps
	// splice/sendfile.
	WrapReader func(io.Reader) io.Reader
	WrapWriter func(io.Writer) io.Writer
	// Phase, when set, is told when the transfer enters its verification
	// phase, with a label such as "verifying SHA-256".
	Phase func(label string)
	// ListedSize, when above zero, is the size a listing gave for the
	// remote file of a download (MirrorDown sets it). A download verified
	// by size is then compared with it, and the server is asked (SIZE)
	// only when the two differ, as the file may have changed since it was
	// listed: a command less per file.
	ListedSize int64
	// NoSync skips the fsync of a downloaded file before Download
	// returns; the caller makes the data durable some other way (MirrorDown
	// syncs the whole local file system once, at the end, on Linux).
	NoSync bool
}

func (o TransferOptions) phase(label string) {
	if o.Phase != nil {
		o.Phase(label)
	}
}

// Download copies remote to the local file local and returns the bytes
// transferred. Lost connections are retried from the local file's size.
//
// With Resume, a partial file left by an interrupted segmented download
// (one with a status file, see DownloadSegmented) is resumed segment by
// segment.
func (cl *Client) Download(ctx context.Context, remote, local string, o TransferOptions) (int64, error) {
	if o.Resume {
		if _, err := os.Stat(local + SegmentStateSuffix); err == nil {
			return cl.DownloadSegmented(ctx, remote, local, 1, o, nil)
		}
	}
	flags := os.O_RDWR | os.O_CREATE // read: a resumed file's digest
	if !o.Resume {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(local, flags, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var (
		total int64
		dig   *digest
		early *remoteHash
	)
	if o.Verify {
		early = &remoteHash{}
	}
	defer func() { dig.finish(); early.stop() }()
	err = cl.Do(ctx, func(c *Conn) error {
		off, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return err
		}
		if off > 0 {
			size, err := c.Size(ctx, remote)
			if err == nil && size == off {
				dig.finish()
				dig = nil // already complete: verified from the file
				return nil
			}
			if err == nil && size < off {
				if err := f.Truncate(0); err != nil {
					return err
				}
				off, _ = f.Seek(0, io.SeekStart)
			}
		}
		var w io.Writer = f
		if o.Verify {
			dig.finish() // a previous attempt's
			if dig, err = newDigest(c, f, off); err != nil {
				return err
			}
			if dig != nil {
				w = hashingWriter{f, dig}
				dig.when(earlyHashAfter, func() { early.start(ctx, cl, remote) })
			}
		}
		w = cl.limitWriter(ctx, w)
		if o.WrapWriter != nil {
			w = o.WrapWriter(w)
		}
		n, err := c.Retr(ctx, remote, off, w)
		total += n
		return err
	})
	if err != nil {
		return total, err
	}
	if !o.NoSync {
		if err := f.Sync(); err != nil {
			return total, err
		}
	}
	if o.Verify {
		err = cl.verify(ctx, remote, local, dig, early, o)
	}
	return total, err
}

// Upload copies the local file local to remote. Retries after a lost
// connection (and Resume) continue from the remote size with REST+STOR,
// or APPE when the server refuses REST.
func (cl *Client) Upload(ctx context.Context, local, remote string, o TransferOptions) (int64, error) {
	f, err := os.Open(local)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var (
		total int64
		dig   *digest
	)
	defer func() { dig.finish() }()
	first := true
	err = cl.Do(ctx, func(c *Conn) error {
		var off int64
		if o.Resume || !first {
			if size, err := c.Size(ctx, remote); err == nil {
				off = size
			}
		}
		first = false
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if off > st.Size() {
			off = 0
		}
		if off == st.Size() && off > 0 {
			dig.finish()
			dig = nil
			return nil
		}
		if o.Verify {
			dig.finish() // a previous attempt's
			if dig, err = newDigest(c, f, off); err != nil {
				return err
			}
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		var r io.Reader = f
		if dig != nil {
			r = hashingReader{f, dig}
			c.announceHash(ctx, dig.algo)
		}
		r = cl.limitReader(ctx, r)
		if o.WrapReader != nil {
			r = o.WrapReader(r)
		}
		var n int64
		if off > 0 {
			n, err = c.Stor(ctx, remote, off, r)
			var fe *ftp.Error
			if errors.As(err, &fe) && (fe.Code == ftp.CodeSyntaxError || fe.Code == ftp.CodeNotImplemented || fe.Code == ftp.CodeParamNotImplemented) && n == 0 {
				n, err = c.Append(ctx, remote, r)
			}
		} else {
			n, err = c.Stor(ctx, remote, 0, r)
		}
		total += n
		return err
	})
	if err == nil && o.Verify {
		err = cl.verify(ctx, remote, local, dig, nil, o)
	}
	return total, err
}

// newDigest starts the digest the server c will compute with HASH (nil if
// it has none), fed with the first off bytes of f (a resumed transfer).
func newDigest(c *Conn, f *os.File, off int64) (*digest, error) {
	algo := c.hashChoice()
	if algo == "" {
		return nil, nil
	}
	h := NewHash(algo)
	if off > 0 {
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, off)); err != nil {
			return nil, err
		}
	}
	return startDigest(algo, h), nil
}

// verify checks remote against local using the digest taken during the
// transfer when there is one, else by reading local. The server's digest
// is early's when it was asked for during the transfer, for the same
// algorithm; else verify asks for it now.
func (cl *Client) verify(ctx context.Context, remote, local string, dig *digest, early *remoteHash, o TransferOptions) error {
	shown := ""
	if dig != nil {
		shown = "verifying " + dig.algo
		o.phase(shown)
		if dig.finish(); dig.err() != nil {
			return dig.err()
		}
		if algo, sum, ok := early.result(); ok && strings.EqualFold(algo, dig.algo) {
			if local := dig.finish(); string(sum) != string(local) {
				return fmt.Errorf("%w: %s: server %s %x, local %x", ErrVerify, remote, algo, sum, local)
			}
			return nil
		}
	}
	return cl.Do(ctx, func(c *Conn) error {
		algo := c.hashChoice()
		label := "verifying size"
		if algo != "" {
			label = "verifying " + algo
		}
		if label != shown {
			o.phase(label)
		}
		if algo == "" && o.ListedSize > 0 {
			if st, err := os.Stat(local); err == nil && st.Size() == o.ListedSize {
				return nil
			}
		}
		if dig != nil {
			return c.VerifySum(ctx, remote, local, dig.algo, dig.finish())
		}
		return c.Verify(ctx, remote, local)
	})
}

// ErrVerify is wrapped by verification failures.
var ErrVerify = errors.New("ftpclient: verification failed")

// VerifySum compares remote with a digest of the local file computed by
// the caller (algo is a HASH algorithm name). If the server answers HASH
// with another algorithm, the local file is read to compute that one; if
// it offers none of the preferred algorithms, sizes are compared.
func (c *Conn) VerifySum(ctx context.Context, remote, local, algo string, sum []byte) error {
	if c.hashChoice() != "" {
		salgo, ssum, err := c.Hash(ctx, remote)
		if err == nil {
			if !strings.EqualFold(salgo, algo) {
				return c.Verify(ctx, remote, local)
			}
			if string(ssum) != string(sum) {
				return fmt.Errorf("%w: %s: server %s %x, local %x", ErrVerify, remote, salgo, ssum, sum)
			}
			return nil
		}
		var fe *ftp.Error
		if !errors.As(err, &fe) {
			return err
		}
	}
	return c.verifySize(ctx, remote, local)
}

// Verify compares remote with the local file: by HASH when the server
// offers an algorithm of the preference order (Options.HashAlgos),
// reading the local file, else by SIZE.
func (c *Conn) Verify(ctx context.Context, remote, local string) error {
	if c.hashChoice() != "" {
		algo, sum, err := c.Hash(ctx, remote)
		if err == nil {
			h := NewHash(algo)
			if h == nil {
				return fmt.Errorf("ftpclient: verify %s: unknown hash %s", remote, algo)
			}
			f, err := os.Open(local)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
			if got := h.Sum(nil); string(got) != string(sum) {
				return fmt.Errorf("%w: %s: server %s %x, local %x", ErrVerify, remote, algo, sum, got)
			}
			return nil
		}
		var fe *ftp.Error
		if !errors.As(err, &fe) {
			return err
		}
	}
	return c.verifySize(ctx, remote, local)
}

func (c *Conn) verifySize(ctx context.Context, remote, local string) error {
	size, err := c.Size(ctx, remote)
	if err != nil {
		return err
	}
	st, err := os.Stat(local)
	if err != nil {
		return err
	}
	if st.Size() != size {
		return fmt.Errorf("%w: %s: server size %d, local %d", ErrVerify, remote, size, st.Size())
	}
	return nil
}
