// Package ratelimit holds data to rates of bytes per second: readers and
// writers that wait on one or more golang.org/x/time/rate limiters (a
// server's, a user's and a session's at once, or a client's shared one).
// The server (ftpserver) and the client (ftpclient) both use it.
package ratelimit

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// chunk is the most that moves between two waits: no more than the
// smallest burst of the limiters, since WaitN refuses more than a burst.
func chunk(ls []*rate.Limiter, n int) int {
	for _, l := range ls {
		n = min(n, max(l.Burst(), 1))
	}
	return n
}

// wait takes n bytes from each limiter.
func wait(ctx context.Context, ls []*rate.Limiter, n int) error {
	for _, l := range ls {
		if err := l.WaitN(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// Writer writes to W, waiting on every limiter before each chunk it
// writes; the waits end when Ctx is done.
type Writer struct {
	Ctx    context.Context
	W      io.Writer
	Limits []*rate.Limiter
}

func (w Writer) Write(b []byte) (int, error) {
	done := 0
	for len(b) > 0 {
		n := chunk(w.Limits, len(b))
		if err := wait(w.Ctx, w.Limits, n); err != nil {
			return done, err
		}
		m, err := w.W.Write(b[:n])
		done += m
		if err != nil {
			return done, err
		}
		b = b[n:]
	}
	return done, nil
}

// Reader reads from R, at most a burst at a time, and waits on every
// limiter for what it read.
type Reader struct {
	Ctx    context.Context
	R      io.Reader
	Limits []*rate.Limiter
}

func (r Reader) Read(b []byte) (int, error) {
	n, err := r.R.Read(b[:chunk(r.Limits, len(b))])
	if n > 0 {
		if werr := wait(r.Ctx, r.Limits, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}
