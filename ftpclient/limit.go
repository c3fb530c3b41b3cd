package ftpclient

import (
	"context"
	"io"
	"time"

	"golang.org/x/time/rate"

	"github.com/ferryftp/ferry/internal/ratelimit"
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

// limitWriter and limitReader wrap w and r with the Client's limiter, if
// any; without one they return them unchanged (splice/sendfile stay).
func (cl *Client) limitWriter(ctx context.Context, w io.Writer) io.Writer {
	if cl.Limiter == nil {
		return w
	}
	return ratelimit.Writer{Ctx: ctx, W: w, Limits: []*rate.Limiter{cl.Limiter}}
}

func (cl *Client) limitReader(ctx context.Context, r io.Reader) io.Reader {
	if cl.Limiter == nil {
		return r
	}
	return ratelimit.Reader{Ctx: ctx, R: r, Limits: []*rate.Limiter{cl.Limiter}}
}
