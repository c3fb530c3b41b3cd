// Package sessionbook is the one accept loop and session register shared by
// the FTP server (ftpserver) and the proxy (ftpproxy): it accepts with a
// backoff on temporary errors (EMFILE, ENFILE, timeouts), admits sessions
// under global and per-address caps, gives sessions that have not logged in
// their own lower caps (and, when full, makes room by evicting the oldest of
// them rather than refusing a newcomer), bans addresses after repeated login
// failures, and tracks sessions for a graceful shutdown.
package sessionbook

import (
	"container/list"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Limits are the caps and ban rules a Book enforces. A cap of zero or less
// means no cap; MaxLoginFailures of zero or less disables bans.
type Limits struct {
	// MaxSessions caps all concurrent sessions.
	MaxSessions int
	// MaxSessionsPerIP caps the concurrent sessions of one address.
	MaxSessionsPerIP int
	// MaxUnauth caps the sessions that have not logged in yet. When it (or
	// MaxSessions) is reached, the oldest such session is evicted to make
	// room for the new one.
	MaxUnauth int
	// MaxUnauthPerIP caps the not-yet-logged-in sessions of one address;
	// past it, new sessions from that address are refused.
	MaxUnauthPerIP int
	// MaxLoginFailures failures from one address within BanWindow ban the
	// address for BanDuration.
	MaxLoginFailures int
	BanWindow        time.Duration
	BanDuration      time.Duration
}

// Evicter is a session the book may close to make room: Evict tells the
// client (a 421 reply) and closes the connection. It is called from another
// goroutine than the session's own and must not call back into the Book
// synchronously.
type Evicter interface {
	Evict()
}

// Refusal reasons returned by Admit.
var (
	// ErrClosing: the book is shutting down.
	ErrClosing = errors.New("sessionbook: shutting down")
	// ErrBanned: the address is banned after repeated login failures.
	ErrBanned = errors.New("sessionbook: address banned")
	// ErrFull: every session slot is taken by logged-in sessions.
	ErrFull = errors.New("sessionbook: too many sessions")
	// ErrAddrFull: the address has reached its own cap.
	ErrAddrFull = errors.New("sessionbook: too many sessions from this address")
)

// Book is a register of the live sessions of one server or proxy. The zero
// value is not usable; create it with New. A Book is safe for concurrent use.
type Book struct {
	bans *bans

	mu        sync.Mutex
	lim       Limits
	listeners map[net.Listener]struct{}
	entries   map[*Entry]struct{} // every session still running, evicted or not
	counted   int                 // sessions counted against the caps
	unauth    list.List           // of *Entry not logged in, oldest first
	perIP     map[netip.Addr]*ipCount
	closing   bool
	idle      chan struct{} // closed when entries drains during shutdown
}

type ipCount struct{ all, unauth int }

// Entry is one admitted session. Release it when the session ends.
type Entry struct {
	b       *Book
	ip      netip.Addr
	s       Evicter
	elem    *list.Element // in b.unauth while not logged in
	evicted bool
	done    bool
}

// New returns a Book enforcing lim.
func New(lim Limits) *Book {
	return &Book{
		bans:      newBans(),
		lim:       lim,
		listeners: make(map[net.Listener]struct{}),
		entries:   make(map[*Entry]struct{}),
		perIP:     make(map[netip.Addr]*ipCount),
	}
}

// SetLimits replaces the limits for new sessions and logins (a reload);
// sessions already admitted stay.
func (b *Book) SetLimits(lim Limits) {
	b.mu.Lock()
	b.lim = lim
	b.mu.Unlock()
}

func (b *Book) limits() Limits {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lim
}

// Banned reports whether ip is banned now, and until when.
func (b *Book) Banned(ip netip.Addr) (time.Time, bool) {
	return b.bans.banned(ip.Unmap(), time.Now())
}

// LoginFailed records a failed login from ip and reports whether the
// address is now banned.
func (b *Book) LoginFailed(ip netip.Addr) bool {
	lim := b.limits()
	return b.bans.fail(ip.Unmap(), time.Now(), &lim)
}

// Bans returns the number of addresses banned now.
func (b *Book) Bans() int { return b.bans.active(time.Now()) }

// Ban is one banned address and when its ban ends.
type Ban struct {
	Addr  netip.Addr
	Until time.Time
}

// Ban bans ip until the given time (an operator's ban), replacing any ban
// it has. Sessions already admitted from ip are not touched.
func (b *Book) Ban(ip netip.Addr, until time.Time) { b.bans.ban(ip.Unmap(), until) }

// Unban lifts the ban of ip and forgets its recent login failures. It
// reports whether ip was banned.
func (b *Book) Unban(ip netip.Addr) bool { return b.bans.unban(ip.Unmap(), time.Now()) }

// BanList returns the addresses banned now, sorted by address.
func (b *Book) BanList() []Ban {
	l := b.bans.list(time.Now())
	slices.SortFunc(l, func(x, y Ban) int { return x.Addr.Compare(y.Addr) })
	return l
}

// LoginSucceeded forgets the failures of ip.
func (b *Book) LoginSucceeded(ip netip.Addr) { b.bans.succeed(ip.Unmap()) }

// Admit registers a new, not yet logged-in session from ip. It refuses with
// ErrClosing, ErrBanned, ErrAddrFull or ErrFull; when the book is full but
// holds sessions that have not logged in, it evicts the oldest of them
// (calling its Evict in a new goroutine) and admits s.
func (b *Book) Admit(ip netip.Addr, s Evicter) (*Entry, error) {
	ip = ip.Unmap()
	if _, banned := b.Banned(ip); banned {
		return nil, ErrBanned
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return nil, ErrClosing
	}
	lim := b.lim
	pc := b.perIP[ip]
	if pc == nil {
		pc = &ipCount{}
	}
	if lim.MaxSessionsPerIP > 0 && pc.all >= lim.MaxSessionsPerIP ||
		lim.MaxUnauthPerIP > 0 && pc.unauth >= lim.MaxUnauthPerIP {
		return nil, ErrAddrFull
	}
	fullAll := lim.MaxSessions > 0 && b.counted >= lim.MaxSessions
	fullUnauth := lim.MaxUnauth > 0 && b.unauth.Len() >= lim.MaxUnauth
	if fullAll || fullUnauth {
		front := b.unauth.Front()
		if front == nil {
			return nil, ErrFull
		}
		victim := front.Value.(*Entry)
		b.uncountLocked(victim)
		victim.evicted = true
		go victim.s.Evict()
	}
	e := &Entry{b: b, ip: ip, s: s}
	e.elem = b.unauth.PushBack(e)
	b.entries[e] = struct{}{}
	b.counted++
	pc.all++
	pc.unauth++
	b.perIP[ip] = pc
	return e, nil
}

// uncountLocked removes e from the caps (not from shutdown tracking).
func (b *Book) uncountLocked(e *Entry) {
	if e.evicted || e.done {
		return
	}
	b.counted--
	pc := b.perIP[e.ip]
	pc.all--
	if e.elem != nil {
		b.unauth.Remove(e.elem)
		e.elem = nil
		pc.unauth--
	}
	if pc.all <= 0 {
		delete(b.perIP, e.ip)
	}
}

// LoggedIn marks the session as logged in: it no longer counts toward the
// caps of unauthenticated sessions and is never evicted. It reports false
// when the session was already evicted (it is being closed).
func (e *Entry) LoggedIn() bool {
	b := e.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.evicted || e.done {
		return false
	}
	if e.elem != nil {
		b.unauth.Remove(e.elem)
		e.elem = nil
		b.perIP[e.ip].unauth--
	}
	return true
}

// LoggedOut marks a logged-in session as not logged in again (REIN): it
// counts toward the unauthenticated caps as the newest such session.
func (e *Entry) LoggedOut() {
	b := e.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.evicted || e.done || e.elem != nil {
		return
	}
	e.elem = b.unauth.PushBack(e)
	b.perIP[e.ip].unauth++
}

// Release removes the session from the book. It is safe to call twice.
func (e *Entry) Release() {
	b := e.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.uncountLocked(e)
	e.done = true
	delete(b.entries, e)
	if b.closing && len(b.entries) == 0 && b.idle != nil {
		select {
		case <-b.idle:
		default:
			close(b.idle)
		}
	}
}

// Len returns the number of sessions counted against the caps and how many
// of them have not logged in.
func (b *Book) Len() (all, unauth int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counted, b.unauth.Len()
}

// Addr returns the address of one listener being served, or nil.
func (b *Book) Addr() net.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	for l := range b.listeners {
		return l.Addr()
	}
	return nil
}

// Addresses returns the number of addresses with sessions counted.
func (b *Book) Addresses() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.perIP)
}

// Closing reports whether Shutdown has begun.
func (b *Book) Closing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closing
}

// Shutdown stops admitting sessions and closes every listener served. It
// returns the sessions still running and a channel closed once all of them
// have been released.
func (b *Book) Shutdown() ([]Evicter, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closing = true
	for l := range b.listeners {
		l.Close()
	}
	if b.idle == nil {
		b.idle = make(chan struct{})
		if len(b.entries) == 0 {
			close(b.idle)
		}
	}
	return b.sessionsLocked(), b.idle
}

// Sessions returns the sessions still running (including evicted ones not
// yet released).
func (b *Book) Sessions() []Evicter {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessionsLocked()
}

func (b *Book) sessionsLocked() []Evicter {
	out := make([]Evicter, 0, len(b.entries))
	for e := range b.entries {
		out = append(out, e.s)
	}
	return out
}
