//go:build linux

package ftpproxy

import (
	"context"
	"net"

	"github.com/ferryftp/ferry/internal/blockio"
	"golang.org/x/sys/unix"
)

// relayBlocking copies src to dst until EOF on src with read(2) and
// write(2) on both sockets switched to blocking mode, in the calling
// goroutine's thread, through a buffer that grows while reads fill it (see
// relay). Cancelling ctx shuts both sockets down, which ends the copy at
// once. handled is false when the sockets could not be set up for it, and
// nothing was copied.
func relayBlocking(ctx context.Context, dst, src *net.TCPConn) (n int64, err error, handled bool) {
	rs, err := src.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	ws, err := dst.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	var rerr error
	cerr := rs.Read(func(sfd uintptr) bool {
		werr := ws.Write(func(dfd uintptr) bool {
			in, out := int(sfd), int(dfd)
			if unix.SetNonblock(in, false) != nil {
				return true
			}
			defer unix.SetNonblock(in, true)
			if unix.SetNonblock(out, false) != nil {
				return true
			}
			defer unix.SetNonblock(out, true)
			handled = true
			defer blockio.ShutdownOnDone(ctx, in, out)()
			n, rerr = copyFD(out, in)
			return true
		})
		if rerr == nil {
			rerr = werr
		}
		return true
	})
	if rerr == nil {
		rerr = cerr
	}
	if ctx.Err() != nil {
		// Shut down mid-copy: the EOF a read then sees is not the sender's.
		rerr = net.ErrClosed
	}
	if rerr != nil {
		rerr = &net.OpError{Op: "relay", Net: "tcp", Source: src.RemoteAddr(), Addr: dst.RemoteAddr(), Err: rerr}
	}
	return n, rerr, handled
}

// copyFD copies in to out until EOF on in, with blocking read(2) and
// write(2). Its buffer starts at the second relay size (relay filled the
// first) and moves up a size, to the largest, each time a read fills it: a
// fast transfer soon moves megabytes per system call, a slower one holds
// no more than it needs.
func copyFD(out, in int) (n int64, err error) {
	class := 1 // the relay already filled the first size
	buf := relayBufs[class].Get().(*[]byte)
	defer func() { relayBufs[class].Put(buf) }()
	for {
		r, e := unix.Read(in, *buf)
		switch {
		case e == unix.EINTR:
			continue
		case e != nil:
			return n, e
		case r == 0:
			return n, nil // EOF
		}
		for p := (*buf)[:r]; len(p) > 0; {
			w, e := unix.Write(out, p)
			if w > 0 {
				p = p[w:]
				n += int64(w)
			}
			if e != nil && e != unix.EINTR {
				return n, e
			}
		}
		if r == len(*buf) && class < len(relayBufs)-1 {
			relayBufs[class].Put(buf)
			class++
			buf = relayBufs[class].Get().(*[]byte)
		}
	}
}
