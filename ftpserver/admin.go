package ftpserver

import (
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// This file is the server's administration surface: what an operator's
// console (internal/console) reads and does while the server runs.

// ErrNoSession is returned by CloseSession and CancelTransfer when no
// session has the given id (it may have ended meanwhile).
var ErrNoSession = errors.New("ftpserver: no such session")

// ErrNoTransfer is returned by CancelTransfer when the session has no
// transfer running.
var ErrNoTransfer = errors.New("ftpserver: no transfer running")

// SessionInfo is a snapshot of one session for an operator.
type SessionInfo struct {
	// ID names the session in logs and in CloseSession and CancelTransfer.
	ID string
	// User is the logged-in user, or "" before login.
	User string
	// Remote is the client's address (for a trusted load balancer, the one
	// its PROXY protocol header names).
	Remote netip.AddrPort
	// Since is when the client connected.
	Since time.Time
	// Dir is the current directory as of the last command.
	Dir string
	// TLS reports whether the control connection is protected.
	TLS bool
	// Transfer is the transfer running, or nil.
	Transfer *TransferInfo
}

// Direction of a transfer.
const (
	Download = "download" // RETR
	Upload   = "upload"   // STOR, APPE, STOU
	Listing  = "listing"  // LIST, NLST, MLSD
)

// TransferInfo is a snapshot of a running transfer.
type TransferInfo struct {
	// Verb is the FTP command (RETR, STOR, ...).
	Verb string
	// Path is the file or directory, as the user sees it.
	Path string
	// Direction is Download, Upload or Listing.
	Direction string
	// Bytes is how many bytes have moved so far.
	Bytes int64
	// Size is how many bytes a download will send, or -1 when unknown.
	Size int64
	// Start is when the transfer began.
	Start time.Time
}

// Rate is the transfer's average speed in bytes per second since it began,
// as of now.
func (t *TransferInfo) Rate(now time.Time) float64 {
	d := now.Sub(t.Start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(t.Bytes) / d
}

// sessionPub is the part of a session's state that other goroutines read.
// The control goroutine publishes it where that state changes (login and
// logout, CWD, TLS on or off), before the reply that tells the client.
type sessionPub struct {
	user string
	dir  string
	tls  bool
}

// setCwd changes the working directory and publishes it.
func (s *session) setCwd(dir string) {
	s.cwd = dir
	s.publish()
}

// publish copies the control goroutine's state for Server.Sessions.
func (s *session) publish() {
	p := sessionPub{user: s.userName(), dir: s.cwd, tls: s.tlsConn != nil}
	s.pubMu.Lock()
	s.pub = p
	s.pubMu.Unlock()
}

func (s *session) adminInfo() SessionInfo {
	s.pubMu.Lock()
	p := s.pub
	s.pubMu.Unlock()
	si := SessionInfo{ID: s.id, User: p.user, Remote: s.remote, Since: s.since, Dir: p.dir, TLS: p.tls}
	s.xmu.Lock()
	x := s.xfer
	s.xmu.Unlock()
	if x != nil {
		ti := &TransferInfo{Verb: x.verb, Path: x.path, Direction: direction(x.verb), Bytes: x.bytes(), Size: x.size, Start: x.start}
		if ti.Direction != Download {
			ti.Size = -1
		}
		si.Transfer = ti
	}
	return si
}

func direction(verb string) string {
	switch verb {
	case "RETR":
		return Download
	case "STOR", "APPE", "STOU":
		return Upload
	}
	return Listing
}

// Sessions returns a snapshot of the sessions running (not those being
// closed), oldest first. Small
// downloads served by the control goroutine itself (see startTransfer) are
// not shown as transfers.
func (s *Server) Sessions() []SessionInfo {
	all := s.book.Sessions()
	out := make([]SessionInfo, 0, len(all))
	for _, e := range all {
		if ss := e.(*session); ss.ctx.Err() == nil { // not closing
			out = append(out, ss.adminInfo())
		}
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return compareIDs(a.ID, b.ID)
	})
	return out
}

// compareIDs orders session ids (hexadecimal counters) numerically.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Server) session(id string) *session {
	for _, e := range s.book.Sessions() {
		if ss := e.(*session); ss.id == id && ss.ctx.Err() == nil {
			return ss
		}
	}
	return nil
}

// CloseSession ends a session: the client gets a 421 reply and the control
// connection is closed; a running transfer is cut off. It returns once the
// session's transfer, if any, has stopped.
func (s *Server) CloseSession(id string) error {
	ss := s.session(id)
	if ss == nil {
		return ErrNoSession
	}
	ss.log.Warn("closed by an administrator", "remote", ss.remote.String())
	ss.reply(ftp.CodeNotAvailable, "Session closed by the administrator.")
	// Close the connection before close cancels the transfer, so that the
	// client sees the 421 and not the transfer's 426 after it.
	ss.conn.Close()
	ss.close()
	return nil
}

// CancelTransfer aborts the running transfer of a session as ABOR does: the
// transfer stops and the client gets a 426 reply; the session goes on. It
// returns once the transfer has ended.
func (s *Server) CancelTransfer(id string) error {
	ss := s.session(id)
	if ss == nil {
		return ErrNoSession
	}
	ss.xmu.Lock()
	x := ss.xfer
	ss.xmu.Unlock()
	if x == nil {
		return ErrNoTransfer
	}
	ss.log.Warn("transfer cancelled by an administrator", "verb", x.verb, "path", x.path)
	x.aborted.Store(true)
	x.cancel()
	<-x.done
	return nil
}

// Ban refuses new connections from addr for d (a 421 reply), as repeated
// login failures do. Sessions already open from addr go on; close them with
// CloseSession.
func (s *Server) Ban(addr netip.Addr, d time.Duration) {
	s.book.Ban(addr, time.Now().Add(d))
	s.options().Logger.Warn("address banned by an administrator", "addr", addr.Unmap().String(), "for", d.String())
}

// Unban lifts the ban of addr, whether an administrator or failed logins
// set it, and reports whether there was one.
func (s *Server) Unban(addr netip.Addr) bool {
	ok := s.book.Unban(addr)
	if ok {
		s.options().Logger.Info("address unbanned by an administrator", "addr", addr.Unmap().String())
	}
	return ok
}

// BanInfo is one banned address.
type BanInfo struct {
	Addr  netip.Addr
	Until time.Time
}

// Bans returns the addresses banned now, sorted.
func (s *Server) Bans() []BanInfo {
	l := s.book.BanList()
	out := make([]BanInfo, len(l))
	for i, b := range l {
		out[i] = BanInfo{Addr: b.Addr, Until: b.Until}
	}
	return out
}
