package ftpserver_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpclient"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/memfs"
)

// rateServer serves size bytes in "f.bin" to users "a" and "b" (password
// "p"), with rates for a and the server options opts.
func rateServer(t *testing.T, opts ftpserver.Options, aRates ftpserver.Rates, size int) string {
	t.Helper()
	fsys := memfs.New()
	if err := fsys.WriteFile("f.bin", bytes.Repeat([]byte{'r'}, size)); err != nil {
		t.Fatal(err)
	}
	opts.Auth = ftpserver.AuthenticatorFunc(func(ctx context.Context, l ftpserver.LoginInfo) (*ftpserver.Identity, error) {
		if (l.User != "a" && l.User != "b") || l.Password != "p" {
			return nil, ftpserver.ErrAuthFailed
		}
		id := &ftpserver.Identity{User: l.User, FS: fsys, Perms: ftpserver.PermAll}
		if l.User == "a" {
			id.Rates = aRates
		}
		return id, nil
	})
	return ftpservertest.Start(t, "", opts).Addr
}

// transfers runs one transfer per user in users at the same time, each on
// its own session, and returns the bytes moved and the time all took.
func transfers(t *testing.T, addr string, upload bool, size int, users ...string) (int64, time.Duration) {
	t.Helper()
	ctx := t.Context()
	conns := make([]*ftpclient.Conn, len(users))
	for i, u := range users { // log in first: only the transfers are timed
		c, err := ftpclient.Dial(ctx, addr, ftpclient.Options{User: u, Password: "p"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int64
			var err error
			if upload {
				n, err = c.Stor(ctx, "up"+users[i]+string(rune('0'+i))+".bin", 0, bytes.NewReader(make([]byte, size)))
			} else {
				n, err = c.Retr(ctx, "f.bin", 0, io.Discard)
			}
			if err != nil {
				t.Errorf("session %d: %v", i, err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total, time.Since(start)
}

// within checks that n bytes in d is within 15% of want bytes per second.
func within(t *testing.T, what string, n int64, d time.Duration, want int64) {
	t.Helper()
	got := float64(n) / d.Seconds()
	if got < 0.85*float64(want) || got > 1.15*float64(want) {
		t.Errorf("%s: %.0f B/s over %v, want %d B/s ±15%%", what, got, d.Round(time.Millisecond), want)
	} else {
		t.Logf("%s: %.0f B/s over %v (limit %d B/s)", what, got, d.Round(time.Millisecond), want)
	}
}

func TestBandwidthLimits(t *testing.T) {
	const rate = 1 << 20 // 1 MiB/s
	const size = 3 << 19 // 1.5 MiB: two of them take three seconds at the rate
	t.Run("two sessions of a user share its download limit", func(t *testing.T) {
		t.Parallel()
		addr := rateServer(t, ftpserver.Options{}, ftpserver.Rates{Download: rate}, size)
		n, d := transfers(t, addr, false, size, "a", "a")
		within(t, "user download", n, d, rate)
	})
	t.Run("two sessions of a user share its upload limit", func(t *testing.T) {
		t.Parallel()
		addr := rateServer(t, ftpserver.Options{}, ftpserver.Rates{Upload: rate}, size)
		n, d := transfers(t, addr, true, size, "a", "a")
		within(t, "user upload", n, d, rate)
	})
	t.Run("the session limit holds each session apart", func(t *testing.T) {
		t.Parallel()
		addr := rateServer(t, ftpserver.Options{SessionRates: ftpserver.Rates{Download: rate / 2}}, ftpserver.Rates{}, size)
		n, d := transfers(t, addr, false, size, "a", "b")
		within(t, "two sessions at half the rate each", n, d, rate)
	})
	t.Run("the server's cap holds all users together", func(t *testing.T) {
		t.Parallel()
		addr := rateServer(t, ftpserver.Options{MaxRates: ftpserver.Rates{Download: rate}}, ftpserver.Rates{}, size)
		n, d := transfers(t, addr, false, size, "a", "b")
		within(t, "server cap", n, d, rate)
	})
	t.Run("a user without a limit is not slowed by another's", func(t *testing.T) {
		t.Parallel()
		const big = 8 << 20
		addr := rateServer(t, ftpserver.Options{}, ftpserver.Rates{Download: rate, Upload: rate}, big)
		n, d := transfers(t, addr, false, big, "b")
		if n != big || d > 4*time.Second { // the limit of a would take 8 s
			t.Errorf("the unlimited user moved %d bytes in %v", n, d)
		}
	})
}
