package ftpserver

import (
	"net/netip"
	"sync"
	"time"
)

// banList counts failed logins per source address and bans an address for a
// while once it fails too often within a window.
type banList struct {
	mu       sync.Mutex
	failures map[netip.Addr][]time.Time
	until    map[netip.Addr]time.Time
}

func newBanList() *banList {
	return &banList{failures: make(map[netip.Addr][]time.Time), until: make(map[netip.Addr]time.Time)}
}

// banned reports whether ip is banned at now, and until when.
func (b *banList) banned(ip netip.Addr, now time.Time) (time.Time, bool) {
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
func (b *banList) fail(ip netip.Addr, now time.Time, o *Options) bool {
	if o.MaxLoginFailures < 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.failures) > 100000 { // bound memory under a distributed attack
		b.prune(now, o.BanWindow)
	}
	recent := b.failures[ip][:0:0]
	for _, t := range b.failures[ip] {
		if now.Sub(t) < o.BanWindow {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	if len(recent) >= o.MaxLoginFailures {
		delete(b.failures, ip)
		b.until[ip] = now.Add(o.BanDuration)
		return true
	}
	b.failures[ip] = recent
	return false
}

// succeed forgets the failures of ip after a good login.
func (b *banList) succeed(ip netip.Addr) {
	b.mu.Lock()
	delete(b.failures, ip)
	b.mu.Unlock()
}

func (b *banList) prune(now time.Time, window time.Duration) {
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
