//go:build linux

package ftpserver

import (
	"context"
	"net"
	"os"
	"time"

	"github.com/ferryftp/ferry/internal/blockio"
	"golang.org/x/sys/unix"
)

// maxBlockedSends bounds the downloads sent with sendFileBlocking at once:
// each holds an OS thread while it sleeps in the kernel, and a Go process
// dies at 10,000 threads. Downloads beyond it use Go's own sendfile.
const maxBlockedSends = 512

// sendChunk is the most one blocking sendfile(2) call sends, so that
// progress (the file offset) moves and cancellation is seen between calls.
const sendChunk = 16 << 20

// sendFileBlocking sends f from its offset to EOF over tcp with sendfile(2)
// on a socket switched to blocking mode, as vsftpd and pure-ftpd do: the
// kernel sleeps until the socket has room and goes on by itself. Go's own
// sendfile runs on the non-blocking socket, so every time the send buffer
// fills it gets EAGAIN and parks the goroutine until the poller wakes it:
// two system calls, two thread switches and an idle pipe per buffer-full
// (measured: 1,220 sendfile calls, 584 of them EAGAIN, and 1,192 epoll
// waits for 1 GiB over loopback, against one call for vsftpd).
//
// The goroutine blocks in the kernel meanwhile, in a thread of its own.
// Cancelling ctx shuts the socket down, which ends the call at once; a
// client that takes nothing for stall ends it with os.ErrDeadlineExceeded
// (SO_SNDTIMEO wakes the call to check). handled is false when the
// sockets could not be set up for it, and nothing was sent.
//
// With a buffer, the same loop copies instead of sendfile: read(2) into buf,
// write(2) from it (see SendfileMode for when that is faster).
func sendFileBlocking(ctx context.Context, tcp *net.TCPConn, f *os.File, buf []byte, stall time.Duration) (n int64, err error, handled bool) {
	rc, err := tcp.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	fc, err := f.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	wake := min(max(stall/4, 10*time.Millisecond), time.Second)
	var serr error
	cerr := fc.Control(func(src uintptr) {
		werr := rc.Write(func(dst uintptr) bool {
			sock := int(dst)
			if e := unix.SetNonblock(sock, false); e != nil {
				return true
			}
			defer unix.SetNonblock(sock, true)
			tv := unix.NsecToTimeval(wake.Nanoseconds())
			if e := unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); e != nil {
				return true
			}
			defer unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &unix.Timeval{})
			handled = true
			defer blockio.ShutdownOnDone(ctx, sock)()
			last := time.Now()
			var pending []byte // read from the file, not yet written
			for {
				if ctx.Err() != nil {
					serr = net.ErrClosed
					return true
				}
				var m int
				var e error
				if buf == nil {
					m, e = unix.Sendfile(sock, int(src), nil, sendChunk)
				} else {
					m, e = copyChunk(sock, int(src), buf, &pending)
				}
				if m > 0 {
					n += int64(m)
					last = time.Now()
				}
				switch e {
				case nil:
					if m == 0 {
						return true // EOF
					}
				case unix.EINTR:
				case unix.EAGAIN: // SO_SNDTIMEO: the client took nothing meanwhile
					if m <= 0 && time.Since(last) >= stall {
						serr = os.ErrDeadlineExceeded
						return true
					}
				default:
					if ctx.Err() != nil {
						e = net.ErrClosed
					}
					serr = e
					return true
				}
			}
		})
		if serr == nil {
			serr = werr
		}
	})
	if serr == nil {
		serr = cerr
	}
	if serr != nil {
		serr = &net.OpError{Op: "sendfile", Net: "tcp", Source: tcp.LocalAddr(), Addr: tcp.RemoteAddr(), Err: serr}
	}
	return n, serr, handled
}

// copyChunk writes what is pending from buf to sock, reading the next
// piece of src into buf first when nothing is. It returns what it wrote;
// 0 with a nil error is the end of the file. A write cut short by
// SO_SNDTIMEO (EAGAIN) keeps the rest pending for the next call.
func copyChunk(sock, src int, buf []byte, pending *[]byte) (int, error) {
	if len(*pending) == 0 {
		r, err := unix.Read(src, buf)
		if r <= 0 {
			if err == nil {
				return 0, nil
			}
			return 0, err
		}
		*pending = buf[:r]
	}
	w, err := unix.Write(sock, *pending)
	if w < 0 {
		w = 0
	}
	*pending = (*pending)[w:]
	if err == nil && w == 0 {
		err = unix.EAGAIN // not the end of the file: nothing went out yet
	}
	return w, err
}
