package ftpclient

import (
	"context"
	"io"
	"time"

	"golang.org/x/time/rate"
)

// NewRateLimiter returns a limiter of bytesPerSec for Client.Limiter: one
// limiter shared by every transfer of a Client (segments and parallel
// transfers alike) keeps their sum under the limit.
func NewRateLimiter(bytesPerSec int64) *rate.Limiter {
	burst := int(min(max(bytesPerSec/16, 4<<10), 64<<10))
	l := rate.NewLimiter(rate.Limit(bytesPerSec), burst)
	l.AllowN(time.Now(), burst) // start empty: no burst above the rate
	return l
}

// rateWriter waits for the limiter before each chunk it writes.
type rateWriter struct {
	ctx context.Context
	w   io.Writer
	l   *rate.Limiter
}

func (r rateWriter) Write(b []byte) (int, error) {
	var done int
	for len(b) > 0 {
		n := min(len(b), r.l.Burst())
		if err := r.l.WaitN(r.ctx, n); err != nil {
			return done, err
		}
		m, err := r.w.Write(b[:n])
		done += m
		if err != nil {
			return done, err
		}
		b = b[n:]
	}
	return done, nil
}

// rateReader waits for the limiter after each chunk it reads; reads are
// capped at the limiter's burst.
type rateReader struct {
	ctx context.Context
	r   io.Reader
	l   *rate.Limiter
}

func (r rateReader) Read(b []byte) (int, error) {
	if len(b) > r.l.Burst() {
		b = b[:r.l.Burst()]
	}
	n, err := r.r.Read(b)
	if n > 0 {
		if werr := r.l.WaitN(r.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// limitWriter and limitReader wrap w and r with the Client's limiter, if
// any; without one they return them unchanged (splice/sendfile stay).
func (cl *Client) limitWriter(ctx context.Context, w io.Writer) io.Writer {
	if cl.Limiter == nil {
		return w
	}
	return rateWriter{ctx, w, cl.Limiter}
}

func (cl *Client) limitReader(ctx context.Context, r io.Reader) io.Reader {
	if cl.Limiter == nil {
		return r
	}
	return rateReader{ctx, r, cl.Limiter}
}
