package ftpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ferryftp/ferry/ftp"
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
		n := cl.MaxConns
		if n <= 0 {
			n = 4
		}
		cl.sem = make(chan struct{}, n)
	})
}

// Acquire returns a Conn for exclusive use; give it back with Release.
func (cl *Client) Acquire(ctx context.Context) (*Conn, error) {
	cl.init()
	select {
	case cl.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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
	// by size.
	Verify bool
	// WrapReader and WrapWriter, when set, wrap the local side (for
	// progress or rate limits). Leaving them nil keeps splice/sendfile.
	WrapReader func(io.Reader) io.Reader
	WrapWriter func(io.Writer) io.Writer
}

// Download copies remote to the local file local and returns the bytes
// transferred. Lost connections are retried from the local file's size.
func (cl *Client) Download(ctx context.Context, remote, local string, o TransferOptions) (int64, error) {
	flags := os.O_WRONLY | os.O_CREATE
	if !o.Resume {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(local, flags, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	err = cl.Do(ctx, func(c *Conn) error {
		off, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return err
		}
		if off > 0 {
			size, err := c.Size(ctx, remote)
			if err == nil && size == off {
				return nil // already complete
			}
			if err == nil && size < off {
				if err := f.Truncate(0); err != nil {
					return err
				}
				off, _ = f.Seek(0, io.SeekStart)
			}
		}
		var w io.Writer = f
		if o.WrapWriter != nil {
			w = o.WrapWriter(f)
		}
		n, err := c.Retr(ctx, remote, off, w)
		total += n
		return err
	})
	if err != nil {
		return total, err
	}
	if err := f.Sync(); err != nil {
		return total, err
	}
	if o.Verify {
		err = cl.Do(ctx, func(c *Conn) error { return c.Verify(ctx, remote, local) })
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
	var total int64
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
			return nil
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		var r io.Reader = f
		if o.WrapReader != nil {
			r = o.WrapReader(f)
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
		err = cl.Do(ctx, func(c *Conn) error { return c.Verify(ctx, remote, local) })
	}
	return total, err
}

// ErrVerify is wrapped by verification failures.
var ErrVerify = errors.New("ftpclient: verification failed")

// Verify compares remote with the local file: by HASH when the server
// offers it, else by SIZE.
func (c *Conn) Verify(ctx context.Context, remote, local string) error {
	if c.HasFeature("HASH") {
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
