package ftpclient

import (
	"context"
	"errors"
	"sync"
)

// EarlyHashAfter is how much of a download must have arrived before the
// server is asked for the file's HASH on a second connection, while the
// download goes on: the server reads and hashes its file at the same time
// as it sends it, instead of after the transfer. Smaller downloads (where
// a second login costs more than it saves) ask after the transfer.
const EarlyHashAfter = 32 << 20

// earlyHashAfter is EarlyHashAfter; tests lower it.
var earlyHashAfter int64 = EarlyHashAfter

// earlyHashHook, when set (by tests), is told how each early HASH ended.
var earlyHashHook func(algo string, sum []byte, err error)

// remoteHash is a HASH asked for on another pooled connection while a
// download runs. It is asked only when the pool has room for that
// connection at that moment, so it never waits for, or takes, a
// connection a transfer needs.
type remoteHash struct {
	once   sync.Once
	cancel context.CancelFunc
	done   chan struct{}
	algo   string
	sum    []byte
	err    error
}

// start asks for remote's HASH in the background, at most once; later
// calls do nothing. Safe on a nil *remoteHash (does nothing).
func (r *remoteHash) start(ctx context.Context, cl *Client, remote string) {
	if r == nil {
		return
	}
	r.once.Do(func() {
		ctx, r.cancel = context.WithCancel(ctx)
		r.done = make(chan struct{})
		// The slot is taken now, by the transfer's goroutine, so that
		// "room in the pool" means room while the transfer runs; the
		// connection is made in the background.
		slot := cl.trySlot()
		go func() {
			defer close(r.done)
			if earlyHashHook != nil {
				defer func() { earlyHashHook(r.algo, r.sum, r.err) }()
			}
			if !slot {
				r.err = errNoEarlyHash
				return
			}
			c, err := cl.connect(ctx)
			if err != nil {
				r.err = errNoEarlyHash
				return
			}
			defer cl.Release(c)
			if c.hashChoice() == "" {
				r.err = errNoEarlyHash
				return
			}
			r.algo, r.sum, r.err = c.Hash(ctx, remote)
		}()
	})
}

// result waits for the HASH and returns it; ok is false when it was not
// asked or did not succeed (the caller then asks on its own connection).
func (r *remoteHash) result() (algo string, sum []byte, ok bool) {
	if r == nil || r.done == nil {
		return "", nil, false
	}
	<-r.done
	return r.algo, r.sum, r.err == nil
}

// stop abandons the HASH (the transfer failed) and waits for its
// goroutine. Safe on a nil *remoteHash and when it was never started.
func (r *remoteHash) stop() {
	if r == nil || r.done == nil {
		return
	}
	r.cancel()
	<-r.done
}

var errNoEarlyHash = errors.New("ftpclient: no early HASH")
