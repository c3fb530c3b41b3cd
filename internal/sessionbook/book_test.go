package sessionbook

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// fakeSession records its eviction.
type fakeSession struct{ evicted chan struct{} }

func newFake() *fakeSession { return &fakeSession{evicted: make(chan struct{})} }

func (f *fakeSession) Evict() { close(f.evicted) }

func (f *fakeSession) wasEvicted() bool {
	select {
	case <-f.evicted:
		return true
	case <-time.After(100 * time.Millisecond):
		return false
	}
}

func ip(n int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, byte(n)}) }

// step admits a session from ip(from), expecting err; login logs it in.
type step struct {
	from  int
	login bool
	err   error
}

func TestAdmit(t *testing.T) {
	tests := []struct {
		name    string
		lim     Limits
		steps   []step
		evicted []int // indices of the steps whose sessions get evicted
	}{
		{
			name:  "the per-address cap refuses one session too many",
			lim:   Limits{MaxSessionsPerIP: 2},
			steps: []step{{from: 1, login: true}, {from: 1, login: true}, {from: 1, err: ErrAddrFull}, {from: 2}},
		},
		{
			name:  "the per-address pre-login cap refuses a third idle session from that address only",
			lim:   Limits{MaxSessionsPerIP: 4, MaxUnauthPerIP: 2},
			steps: []step{{from: 1}, {from: 1}, {from: 1, err: ErrAddrFull}, {from: 2}},
		},
		{
			name:  "a full book of logged-in sessions refuses",
			lim:   Limits{MaxSessions: 2},
			steps: []step{{from: 1, login: true}, {from: 2, login: true}, {from: 3, err: ErrFull}},
		},
		{
			name:    "a full book evicts the oldest session that has not logged in",
			lim:     Limits{MaxSessions: 3},
			steps:   []step{{from: 1}, {from: 2, login: true}, {from: 3}, {from: 4}, {from: 5}},
			evicted: []int{0, 2},
		},
		{
			name:    "the pre-login cap evicts the oldest pre-login session, never a logged-in one",
			lim:     Limits{MaxSessions: 10, MaxUnauth: 2},
			steps:   []step{{from: 1, login: true}, {from: 2}, {from: 3}, {from: 4}, {from: 5}},
			evicted: []int{1, 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.lim)
			var sess []*fakeSession
			for i, st := range tt.steps {
				f := newFake()
				sess = append(sess, f)
				e, err := b.Admit(ip(st.from), f)
				if !errors.Is(err, st.err) {
					t.Fatalf("step %d: Admit = %v, want %v", i, err, st.err)
				}
				if err == nil && st.login && !e.LoggedIn() {
					t.Fatalf("step %d: LoggedIn refused", i)
				}
			}
			for i, f := range sess {
				if got, want := f.wasEvicted(), slices.Contains(tt.evicted, i); got != want {
					t.Errorf("session %d evicted = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestEvictedSessionCannotLogIn(t *testing.T) {
	b := New(Limits{MaxUnauth: 1})
	first, _ := b.Admit(ip(1), newFake())
	if _, err := b.Admit(ip(2), newFake()); err != nil {
		t.Fatal(err)
	}
	if first.LoggedIn() {
		t.Error("an evicted session was allowed to log in")
	}
	first.Release()
	first.Release() // twice is harmless
	if all, unauth := b.Len(); all != 1 || unauth != 1 {
		t.Errorf("Len = %d, %d; want 1, 1", all, unauth)
	}
}

func TestReleaseAndLogout(t *testing.T) {
	b := New(Limits{MaxSessionsPerIP: 1})
	e, err := b.Admit(ip(1), newFake())
	if err != nil {
		t.Fatal(err)
	}
	e.LoggedIn()
	e.LoggedOut()
	if _, unauth := b.Len(); unauth != 1 {
		t.Errorf("after logout %d pre-login sessions, want 1", unauth)
	}
	if _, err := b.Admit(ip(1), newFake()); !errors.Is(err, ErrAddrFull) {
		t.Fatalf("second session: %v", err)
	}
	e.Release()
	if _, err := b.Admit(ip(1), newFake()); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestBans(t *testing.T) {
	b := New(Limits{MaxLoginFailures: 3, BanWindow: time.Minute, BanDuration: time.Minute})
	for i := 1; i <= 3; i++ {
		if banned := b.LoginFailed(ip(1)); banned != (i == 3) {
			t.Fatalf("failure %d: banned = %v", i, banned)
		}
	}
	if _, err := b.Admit(ip(1), newFake()); !errors.Is(err, ErrBanned) {
		t.Errorf("banned address admitted: %v", err)
	}
	if _, err := b.Admit(ip(2), newFake()); err != nil {
		t.Errorf("another address refused: %v", err)
	}
	b.LoginFailed(ip(3))
	b.LoginFailed(ip(3))
	b.LoginSucceeded(ip(3))
	if b.LoginFailed(ip(3)) {
		t.Error("a good login did not clear the failures")
	}
	off := New(Limits{MaxLoginFailures: -1})
	for range 20 {
		if off.LoginFailed(ip(1)) {
			t.Fatal("banned with bans disabled")
		}
	}
}

func TestShutdownWaitsForRelease(t *testing.T) {
	b := New(Limits{})
	e, _ := b.Admit(ip(1), newFake())
	live, idle := b.Shutdown()
	if len(live) != 1 {
		t.Fatalf("%d live sessions, want 1", len(live))
	}
	if _, err := b.Admit(ip(2), newFake()); !errors.Is(err, ErrClosing) {
		t.Errorf("admitted during shutdown: %v", err)
	}
	select {
	case <-idle:
		t.Fatal("idle before the session was released")
	default:
	}
	e.Release()
	select {
	case <-idle:
	case <-time.After(5 * time.Second):
		t.Fatal("not idle after release")
	}
}
