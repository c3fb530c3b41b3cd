package ftpproxy

import (
	"context"
	"errors"
	"sync/atomic"
)

// Stats is a snapshot of the proxy's counters and sessions, cheap enough to
// take at each metrics scrape. Counters count from New.
type Stats struct {
	// Sessions counts the sessions running; Unauthenticated those of them
	// not logged in yet. SessionsTotal counts every session admitted.
	Sessions, Unauthenticated int
	SessionsTotal             int64
	// Transfers counts the transfers relayed (in success or not).
	Transfers int64
	// BytesUp counts the data bytes relayed from clients to servers
	// (uploads), BytesDown from servers to clients (downloads, listings).
	BytesUp, BytesDown int64
	// Rewritten counts the data commands rewritten, by the client's verb:
	// "PORT", "EPRT", "PASV", "EPSV".
	Rewritten map[string]int64
	// PolicyRefused counts the commands and logins refused by the rules.
	PolicyRefused int64
	// KeptListeners counts the client-side passive listeners open between
	// transfers, kept for their session's next PASV/EPSV (each holds a
	// port of the data range).
	KeptListeners int
}

// rewriteVerbs are the data commands the proxy rewrites, in Stats order.
var rewriteVerbs = [...]string{"PORT", "EPRT", "PASV", "EPSV"}

// counters are the proxy's running totals behind Stats.
type counters struct {
	sessions, transfers, up, down, refused atomic.Int64
	kept                                   atomic.Int64 // kept passive listeners
	rewritten                              [len(rewriteVerbs)]atomic.Int64
}

// rewrote counts a data command rewritten.
func (c *counters) rewrote(verb string) {
	for i, v := range rewriteVerbs {
		if v == verb {
			c.rewritten[i].Add(1)
		}
	}
}

// relayed counts a transfer and its bytes.
func (c *counters) relayed(download bool, n int64) {
	c.transfers.Add(1)
	if download {
		c.down.Add(n)
	} else {
		c.up.Add(n)
	}
}

// Stats returns a snapshot of the proxy's sessions and counters.
func (p *Proxy) Stats() Stats {
	all, unauth := p.book.Len()
	st := Stats{
		Sessions: all, Unauthenticated: unauth,
		SessionsTotal: p.stats.sessions.Load(),
		Transfers:     p.stats.transfers.Load(),
		BytesUp:       p.stats.up.Load(),
		BytesDown:     p.stats.down.Load(),
		PolicyRefused: p.stats.refused.Load(),
		KeptListeners: int(p.stats.kept.Load()),
		Rewritten:     make(map[string]int64, len(rewriteVerbs)),
	}
	for i, v := range rewriteVerbs {
		st.Rewritten[v] = p.stats.rewritten[i].Load()
	}
	return st
}

// Ready reports why the proxy cannot take sessions now, or nil: it must be
// serving a listener and not shutting down.
func (p *Proxy) Ready(context.Context) error {
	switch {
	case p.book.Closing():
		return errors.New("shutting down")
	case p.book.Addr() == nil:
		return errors.New("not listening")
	}
	return nil
}
