package sessionbook

import (
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// maxBackoff bounds the pause between failed accepts.
const maxBackoff = time.Second

// Serve accepts connections on l and calls handle for each in a new
// goroutine, until Shutdown (it then returns ErrClosing) or a permanent
// accept error. Temporary errors (running out of file descriptors or
// memory, timeouts) are logged and retried after a growing pause of 5 ms up
// to one second, so a short descriptor shortage does not stop the service.
// Serve closes l when it returns.
func (b *Book) Serve(l net.Listener, log *slog.Logger, handle func(net.Conn)) error {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		l.Close()
		return ErrClosing
	}
	b.listeners[l] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.listeners, l)
		b.mu.Unlock()
		l.Close()
	}()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if b.Closing() {
				return ErrClosing
			}
			if !Temporary(err) {
				return err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), maxBackoff)
			if log != nil {
				log.Warn("accept failed; retrying", "err", err, "backoff", backoff.String())
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go handle(c)
	}
}

// Temporary reports whether an accept error is worth retrying: a timeout,
// or the process or system running out of descriptors, buffers or memory,
// or a connection aborted before it was accepted.
func Temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range temporaryErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

var temporaryErrnos = []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED}
