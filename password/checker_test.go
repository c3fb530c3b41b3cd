package password

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestChecker(t *testing.T) {
	h, err := Hash("right")
	if err != nil {
		t.Fatal(err)
	}
	c := NewChecker(1)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		hash  string
		known bool
		pw    string
		want  bool
	}{
		{"the right password of a known user passes", h, true, "right", true},
		{"a wrong password fails", h, true, "wrong", false},
		{"an unknown user fails even with the dummy's password", "", false, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := c.Check(ctx, tc.hash, tc.known, tc.pw)
			if err != nil || ok != tc.want {
				t.Errorf("Check = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	t.Run("a cancelled context stops the wait for a slot", func(t *testing.T) {
		c.sem <- struct{}{} // occupy the only slot
		defer func() { <-c.sem }()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Check(cctx, h, true, "right"); err == nil {
			t.Error("Check waited past cancellation")
		}
	})
}

func TestCachingChecker(t *testing.T) {
	ctx := context.Background()
	h, _ := Hash("right")
	c := NewCachingChecker(1, time.Minute, 4)
	if ok, _ := c.Check(ctx, h, true, "right"); !ok {
		t.Fatal("first check failed")
	}
	t.Run("a remembered success skips the hash", func(t *testing.T) {
		c.sem <- struct{}{} // no slot free: only the cache can answer
		defer func() { <-c.sem }()
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if ok, err := c.Check(cctx, h, true, "right"); !ok || err != nil {
			t.Errorf("Check = %v, %v; want a cached success", ok, err)
		}
		if ok, _ := c.Check(cctx, h, true, "wrong"); ok {
			t.Error("a wrong password matched the cache")
		}
	})
	t.Run("a changed password does not match the old entry", func(t *testing.T) {
		h2, _ := Hash("right") // same password, new salt: as after `ferry user passwd`
		c.sem <- struct{}{}
		defer func() { <-c.sem }()
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := c.Check(cctx, h2, true, "right"); err == nil {
			t.Error("the new hash was answered from the cache")
		}
	})
	t.Run("failures are not cached and unknown users never pass", func(t *testing.T) {
		c.Check(ctx, h, true, "wrong")
		if len(c.cache) != 1 {
			t.Errorf("cache holds %d entries", len(c.cache))
		}
		if ok, _ := c.Check(ctx, "", false, "right"); ok {
			t.Error("an unknown user passed")
		}
	})
	t.Run("entries expire", func(t *testing.T) {
		short := NewCachingChecker(1, time.Minute, 0)
		short.Check(ctx, h, true, "right")
		k := short.mac(h, "right")
		if !short.cached(k) {
			t.Fatal("a fresh entry was not used")
		}
		later := time.Now().Add(time.Minute + time.Second)
		now = func() time.Time { return later }
		defer func() { now = time.Now }()
		if short.cached(k) {
			t.Error("an expired entry was used")
		}
	})
	t.Run("the cache stays bounded", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			c.remember(c.mac(h, string(rune('a'+i))))
		}
		if len(c.cache) > 4 {
			t.Errorf("cache grew to %d entries, max 4", len(c.cache))
		}
	})

}

func TestIdenticalConcurrentLoginsShareOneCheck(t *testing.T) {
	h, _ := Hash("right")
	var calls atomic.Int32
	release := make(chan struct{})
	verifyFunc = func(encoded, pw string) (bool, error) {
		calls.Add(1)
		<-release
		return Verify(encoded, pw)
	}
	defer func() { verifyFunc = Verify }()
	waiting := make(chan struct{}, 8)
	joined = func() { waiting <- struct{}{} }
	defer func() { joined = func() {} }()
	c := NewCachingChecker(2, time.Minute, 0)
	results := make(chan bool, 8)
	for i := 0; i < 8; i++ {
		go func() {
			ok, _ := c.Check(context.Background(), h, true, "right")
			results <- ok
		}()
	}
	for i := 0; i < 7; i++ { // every login but the first waits for its check
		<-waiting
	}
	close(release)
	for i := 0; i < 8; i++ {
		if !<-results {
			t.Error("a login failed")
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d hash checks for 8 identical logins, want 1", n)
	}
}
