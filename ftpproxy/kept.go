package ftpproxy

import (
	"net"

	"github.com/ferryftp/ferry/internal/dataport"
)

// keepListener keeps the client-side passive listener of a transfer whose
// client connection was accepted, for the session's next PASV/EPSV, or
// closes it. Opening a listener (socket, bind, listen, getsockname, epoll
// registration, and its close) is a good part of what a small file costs
// the proxy, and a session that fetched one file usually fetches the next.
//
// The proxy accepts a client data connection only from the address of the
// client's control connection (acceptFrom), so knowing the port, which
// stays the same, lets no other host in. Kept listeners hold at most a
// quarter of the data port range, so idle sessions cannot starve the
// others of ports; they are closed with their session.
func (s *session) keepListener(ln *net.TCPListener) {
	lo, hi := s.p.opts.DataPortMin, s.p.opts.DataPortMax
	if lo == 0 && hi == 0 {
		lo, hi = dataport.DefaultMin, dataport.DefaultMax
	}
	if s.p.stats.kept.Add(1) > int64((hi-lo+1)/4) {
		s.p.stats.kept.Add(-1)
		ln.Close()
		return
	}
	s.mu.Lock()
	if s.closed {
		// The session is closing: its close may have run already and
		// would not see this one.
		s.mu.Unlock()
		s.p.stats.kept.Add(-1)
		ln.Close()
		return
	}
	old := s.kept
	s.kept = ln
	s.mu.Unlock()
	if old != nil { // not expected: one transfer at a time
		s.p.stats.kept.Add(-1)
		old.Close()
	}
}

// reuseKept returns the kept listener for a new PASV/EPSV, or nil. A
// connection waiting in its queue came before the reply that announces the
// port again, so it is not the client's data connection for it: it is
// closed.
func (s *session) reuseKept() *net.TCPListener {
	s.mu.Lock()
	ln := s.kept
	s.kept = nil
	s.mu.Unlock()
	if ln == nil {
		return nil
	}
	s.p.stats.kept.Add(-1)
	if dataport.Drain(ln, func(c net.Conn) {
		s.log.Info("closed a stale data connection on a reused passive port", "from", c.RemoteAddr().String())
	}) {
		return ln
	}
	ln.Close() // an endless queue: give this port up
	return nil
}

// closeKept closes the session's kept listener, if any.
func (s *session) closeKept() {
	s.mu.Lock()
	ln := s.kept
	s.kept = nil
	s.mu.Unlock()
	if ln != nil {
		s.p.stats.kept.Add(-1)
		ln.Close()
	}
}
