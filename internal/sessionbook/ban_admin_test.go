package sessionbook

import (
	"net/netip"
	"testing"
	"time"
)

func TestBanUnbanList(t *testing.T) {
	b := New(Limits{MaxLoginFailures: 3, BanWindow: time.Minute, BanDuration: time.Minute})
	a := netip.MustParseAddr("192.0.2.7")
	c := netip.MustParseAddr("::ffff:192.0.2.1") // stored unmapped
	until := time.Now().Add(time.Hour)
	b.Ban(a, until)
	b.Ban(c, until)
	if _, ok := b.Banned(a); !ok {
		t.Fatal("address not banned after Ban")
	}
	if _, err := b.Admit(a, nil); err != ErrBanned {
		t.Fatalf("Admit of a banned address: %v, want ErrBanned", err)
	}
	l := b.BanList()
	if len(l) != 2 || l[0].Addr != netip.MustParseAddr("192.0.2.1") || l[1].Addr != a || !l[1].Until.Equal(until) {
		t.Fatalf("BanList = %v", l)
	}
	if b.Bans() != 2 {
		t.Errorf("Bans() = %d, want 2", b.Bans())
	}
	if !b.Unban(a) {
		t.Error("Unban of a banned address reported false")
	}
	if b.Unban(a) {
		t.Error("second Unban reported true")
	}
	if _, ok := b.Banned(a); ok {
		t.Error("still banned after Unban")
	}
	// An expired ban is not listed.
	b.Ban(a, time.Now().Add(-time.Second))
	if l := b.BanList(); len(l) != 1 {
		t.Errorf("BanList with one expired ban = %v", l)
	}
	// Unban forgets failures, so the count starts again.
	b.LoginFailed(a)
	b.LoginFailed(a)
	b.Unban(a)
	if b.LoginFailed(a) {
		t.Error("banned after one failure following Unban")
	}
}
