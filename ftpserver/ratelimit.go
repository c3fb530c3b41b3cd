package ftpserver

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/ferryftp/ferry/internal/ratelimit"
)

// Rates are bandwidth limits in bytes per second for each direction, as
// the server sees it: Upload is what clients send (STOR, APPE, STOU),
// Download what they receive (RETR, listings). Zero means unlimited.
type Rates struct {
	Upload, Download int64
}

// limited reports whether either direction has a limit.
func (r Rates) limited() bool { return r.Upload > 0 || r.Download > 0 }

// rateChunk is the smallest burst of a server limiter, so the most a
// limited transfer moves between two waits: small enough that several
// sessions sharing a limit take turns smoothly, large enough that the
// waits cost little.
const rateChunk = 32 << 10

// newLimiter returns a limiter for bps bytes per second, or nil for
// unlimited. Its burst is a tenth of a second of traffic (at least one
// chunk), and it starts empty so that the rate holds from the first byte.
func newLimiter(bps int64) *rate.Limiter {
	if bps <= 0 {
		return nil
	}
	burst := int(max(bps/10, rateChunk))
	l := rate.NewLimiter(rate.Limit(bps), burst)
	l.AllowN(time.Now(), burst)
	return l
}

// limiterPair holds the limiters of one scope (the server, a user, a
// session); a nil limiter is unlimited.
type limiterPair struct {
	up, down *rate.Limiter
}

func newLimiterPair(r Rates) *limiterPair {
	return &limiterPair{up: newLimiter(r.Upload), down: newLimiter(r.Download)}
}

// userLimits is the limiter pair that every session of one user shares.
type userLimits struct {
	limiterPair
	rates Rates
	refs  int
}

// bandwidth owns the server's limiters: the global pair (Options.MaxRates)
// and one pair per logged-in user with Identity.Rates set. Each session
// adds its own pair (Options.SessionRates).
type bandwidth struct {
	global atomic.Pointer[limiterPair]

	mu    sync.Mutex
	users map[string]*userLimits
}

func newBandwidth(o *Options) *bandwidth {
	b := &bandwidth{users: make(map[string]*userLimits)}
	b.setGlobal(o.MaxRates)
	return b
}

// setGlobal replaces the global limiters (at New and Reload); transfers
// that are running keep the limiters they started with.
func (b *bandwidth) setGlobal(r Rates) {
	b.global.Store(newLimiterPair(r))
}

// sessionLimits are the limiters a session's transfers wait on.
type sessionLimits struct {
	user    *userLimits // nil when the user has no limit
	session *limiterPair
}

// login returns the limiters of a session of user with the given user and
// session rates. A user's limiters are shared by all its sessions, and
// follow the rates of the latest login (a changed database row applies at
// the next login). Each login is paired with a logout.
func (b *bandwidth) login(user string, userRates, sessionRates Rates) sessionLimits {
	sl := sessionLimits{session: newLimiterPair(sessionRates)}
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[user]
	if u == nil {
		u = &userLimits{limiterPair: *newLimiterPair(userRates), rates: userRates}
		b.users[user] = u
	} else if u.rates != userRates {
		u.limiterPair, u.rates = *newLimiterPair(userRates), userRates
	}
	u.refs++
	if userRates.limited() {
		sl.user = u
	}
	return sl
}

// logout releases a session's hold on its user's limiters.
func (b *bandwidth) logout(user string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u := b.users[user]; u != nil {
		if u.refs--; u.refs <= 0 {
			delete(b.users, user)
		}
	}
}

// chain returns the limiters a transfer of the session waits on, upload
// and download, global first; both nil when nothing limits it, which keeps
// the zero-copy paths.
func (b *bandwidth) chain(sl sessionLimits) (up, down []*rate.Limiter) {
	pairs := []*limiterPair{b.global.Load(), sl.session}
	if sl.user != nil {
		b.mu.Lock()
		pairs = append(pairs, &limiterPair{sl.user.up, sl.user.down})
		b.mu.Unlock()
	}
	for _, p := range pairs {
		if p == nil {
			continue
		}
		if p.up != nil {
			up = append(up, p.up)
		}
		if p.down != nil {
			down = append(down, p.down)
		}
	}
	return up, down
}

// rateLimited reports whether the session's transfers wait on a limiter.
func (s *session) rateLimited() bool {
	up, down := s.srv.bw.chain(s.limits)
	return len(up) > 0 || len(down) > 0
}

// limitConn returns conn with its reads (uploads) and writes (downloads)
// held to the session's limits, or conn itself when nothing limits them.
// Waiting ends when ctx is done (ABOR, the session ends).
func (s *session) limitConn(ctx context.Context, conn net.Conn) net.Conn {
	up, down := s.srv.bw.chain(s.limits)
	if len(up) == 0 && len(down) == 0 {
		return conn
	}
	return &rateConn{Conn: conn, r: ratelimit.Reader{Ctx: ctx, R: conn, Limits: up}, w: ratelimit.Writer{Ctx: ctx, W: conn, Limits: down}}
}

// rateConn is a data connection whose reads (uploads) and writes
// (downloads) wait on limiters.
type rateConn struct {
	net.Conn
	r ratelimit.Reader
	w ratelimit.Writer
}

func (c *rateConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *rateConn) Write(b []byte) (int, error) { return c.w.Write(b) }
