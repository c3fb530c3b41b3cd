package sessionbook

import (
	"net/netip"
	"sync"
	"time"
)

// maxTracked bounds the failure table under a distributed attack; past it,
// old entries are pruned.
const maxTracked = 100000

// bans counts failed logins per source address and bans an address for a
// while once it fails too often within a window.
type bans struct {
	mu       sync.Mutex
	failures map[netip.Addr][]time.Time
	until    map[netip.Addr]time.Time
}

func newBans() *bans {
	return &bans{failures: make(map[netip.Addr][]time.Time), until: make(map[netip.Addr]time.Time)}
}

// banned reports whether ip is banned at now, and until when.
func (b *bans) banned(ip netip.Addr, now time.Time) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.until[ip]
	if ok && now.After(u) {
		delete(b.until, ip)
		return time.Time{}, false
	}
	return u, ok
}

// fail records a failed login and reports whether ip is now banned.
func (b *bans) fail(ip netip.Addr, now time.Time, l *Limits) bool {
	if l.MaxLoginFailures <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.failures) > maxTracked || len(b.until) > maxTracked {
		b.prune(now, l.BanWindow)
	}
	recent := b.failures[ip][:0:0]
	for _, t := range b.failures[ip] {
		if now.Sub(t) < l.BanWindow {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	if len(recent) >= l.MaxLoginFailures {
		delete(b.failures, ip)
		b.until[ip] = now.Add(l.BanDuration)
		return true
	}
	b.failures[ip] = recent
	return false
}

// succeed forgets the failures of ip after a good login.
func (b *bans) succeed(ip netip.Addr) {
	b.mu.Lock()
	delete(b.failures, ip)
	b.mu.Unlock()
}

func (b *bans) prune(now time.Time, window time.Duration) {
	for ip, ts := range b.failures {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= window {
			delete(b.failures, ip)
		}
	}
	for ip, u := range b.until {
		if now.After(u) {
			delete(b.until, ip)
		}
	}
}

// active counts the addresses banned at now.
func (b *bans) active(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, u := range b.until {
		if !now.After(u) {
			n++
		}
	}
	return n
}

// ban bans ip until the given time, replacing any ban it has.
func (b *bans) ban(ip netip.Addr, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.failures, ip)
	b.until[ip] = until
}

// unban lifts the ban of ip and forgets its failures; it reports whether ip
// was banned.
func (b *bans) unban(ip netip.Addr, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.until[ip]
	delete(b.until, ip)
	delete(b.failures, ip)
	return ok && !now.After(u)
}

// list returns the addresses banned at now, in no particular order.
func (b *bans) list(now time.Time) []Ban {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Ban, 0, len(b.until))
	for ip, u := range b.until {
		if !now.After(u) {
			out = append(out, Ban{Addr: ip, Until: u})
		}
	}
	return out
}
