package ratelimit

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// empty returns a limiter of bps with burst, its bucket empty.
func empty(bps, burst int) *rate.Limiter {
	l := rate.NewLimiter(rate.Limit(bps), burst)
	l.AllowN(time.Now(), burst)
	return l
}

func TestTheSlowestLimiterSetsThePace(t *testing.T) {
	fast, slow := empty(1<<30, 64<<10), empty(256<<10, 16<<10)
	data := bytes.Repeat([]byte("x"), 128<<10)
	var out bytes.Buffer
	start := time.Now()
	n, err := io.Copy(Writer{Ctx: context.Background(), W: &out, Limits: []*rate.Limiter{fast, slow}}, bytes.NewReader(data))
	d := time.Since(start)
	if err != nil || n != int64(len(data)) || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("copied %d, %v", n, err)
	}
	if d < 400*time.Millisecond { // 128 KiB at 256 KiB/s: half a second
		t.Errorf("128 KiB through a 256 KiB/s limit took %v", d)
	}
	start = time.Now()
	n, err = io.Copy(io.Discard, Reader{Ctx: context.Background(), R: bytes.NewReader(data), Limits: []*rate.Limiter{fast, slow}})
	if err != nil || n != int64(len(data)) || time.Since(start) < 400*time.Millisecond {
		t.Errorf("read %d, %v in %v", n, err, time.Since(start))
	}
}

func TestWaitsEndWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := empty(1, 1)
	if n, err := (Writer{Ctx: ctx, W: io.Discard, Limits: []*rate.Limiter{l}}).Write([]byte("abc")); err == nil || n != 0 {
		t.Errorf("Write after cancel: %d, %v", n, err)
	}
	if _, err := (Reader{Ctx: ctx, R: bytes.NewReader([]byte("abc")), Limits: []*rate.Limiter{l}}).Read(make([]byte, 3)); err == nil {
		t.Error("Read after cancel gave no error")
	}
}

func TestEmptyReadsAndNoLimiters(t *testing.T) {
	r := Reader{Ctx: context.Background(), R: bytes.NewReader([]byte("abc")), Limits: []*rate.Limiter{empty(1<<20, 1024)}}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("empty read: %d, %v", n, err)
	}
	var out bytes.Buffer
	if n, err := (Writer{Ctx: context.Background(), W: &out}).Write([]byte("abc")); n != 3 || err != nil || out.String() != "abc" {
		t.Errorf("write without limiters: %d, %v", n, err)
	}
}
