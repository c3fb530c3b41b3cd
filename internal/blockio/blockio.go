//go:build unix

// Package blockio helps code that does blocking I/O on a socket borrowed
// from Go's poller (inside a syscall.RawConn Read, Write or Control
// callback, with the socket switched to blocking mode): closing the
// net.Conn cannot wake such a call, so cancellation shuts the socket down
// instead. The server's sendfile/copy loop and the proxy's relay use it.
package blockio

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"
)

// ShutdownOnDone shuts the sockets fds down (both directions) when ctx
// ends, which makes a blocking read(2), write(2) or sendfile(2) on them
// return at once. Call it inside the callback that holds the descriptors,
// and call the returned release before that callback returns: afterwards
// the numbers may belong to other files, and nothing is shut down any more.
func ShutdownOnDone(ctx context.Context, fds ...int) (release func()) {
	var mu sync.Mutex
	live := true
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if live {
			for _, fd := range fds {
				unix.Shutdown(fd, unix.SHUT_RDWR)
			}
		}
	})
	return func() {
		stop()
		mu.Lock()
		live = false
		mu.Unlock()
	}
}
