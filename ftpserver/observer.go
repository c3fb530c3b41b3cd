package ftpserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// Observer receives the server's events, for metrics, audit or event hooks.
// Every field is optional: a nil func costs one comparison. The funcs are
// called synchronously from session goroutines (several at once) with no
// lock of the server held; they must be safe for concurrent use, cheap and
// must never block: hand slow work (a webhook) to a goroutine or queue of
// your own. An event value is the caller's to keep.
//
// Options.Observer is read when a session starts (like the rest of a
// session's options), so a Reload with another observer applies to new
// sessions.
type Observer struct {
	// SessionOpened: a control connection was admitted.
	SessionOpened func(SessionEvent)
	// SessionClosed: a control connection ended.
	SessionClosed func(SessionEvent)
	// StateChanged: a session logged in, logged out (REIN), or started or
	// ended a transfer.
	StateChanged func(StateEvent)
	// Login: a PASS command was answered.
	Login func(LoginEvent)
	// TransferDone: a transfer or listing ended, in success or not.
	TransferDone func(TransferEvent)
	// DataConn: a transfer's data connection was set up (or failed to be).
	DataConn func(DataConnEvent)
	// TLSFailed: a TLS handshake failed on a control or data connection.
	TLSFailed func(TLSEvent)
	// StorageError: a storage (backend) operation failed.
	StorageError func(StorageEvent)
	// BanAdded: an address was banned after repeated login failures.
	BanAdded func(BanEvent)
	// BanExpired: a ban's time is up (reported by a timer at Until, from
	// no session: the EventInfo is the one of the ban).
	BanExpired func(BanEvent)
	// Reload: a configuration reload was applied or refused.
	Reload func(ReloadEvent)
	// FileOp: a DELE, RNTO, MKD or RMD succeeded.
	FileOp func(FileEvent)
	// Logout: a logged-in session logged out (REIN) or ended.
	Logout func(SessionEvent)
}

// EventInfo is what every session event carries.
type EventInfo struct {
	Time      time.Time
	SessionID string
	User      string // the logged-in user, or the name sent with USER; may be empty
	Remote    netip.AddrPort
}

// SessionState is where a session stands.
type SessionState int

// Session states.
const (
	StateUnauthenticated SessionState = iota // connected, not logged in
	StateLoggedIn                            // logged in, no transfer running
	StateTransferring                        // a transfer or listing is running
)

// String returns the state's name: unauthenticated, logged_in, transferring.
func (s SessionState) String() string {
	switch s {
	case StateLoggedIn:
		return "logged_in"
	case StateTransferring:
		return "transferring"
	}
	return "unauthenticated"
}

// SessionEvent is a session opened or closed.
type SessionEvent struct {
	EventInfo
	// Duration is how long the session lasted (closed only).
	Duration time.Duration
}

// StateEvent is a session's change of state.
type StateEvent struct {
	EventInfo
	From, To SessionState
}

// LoginMethod is how a user logged in: with a password or anonymously.
type LoginMethod string

// Login methods.
const (
	LoginPassword  LoginMethod = "password"
	LoginAnonymous LoginMethod = "anonymous"
)

// LoginResult is the outcome of a login.
type LoginResult string

// Login results.
const (
	LoginOK          LoginResult = "ok"          // logged in
	LoginFailed      LoginResult = "failed"      // wrong name or password
	LoginRefused     LoginResult = "refused"     // right password, but refused (TLS required, per-user cap)
	LoginUnavailable LoginResult = "unavailable" // the authenticator failed (a database down)
)

// LoginEvent is the outcome of a PASS command. For a failed login the
// method is a guess from the name: "anonymous" and "ftp" count as
// anonymous.
type LoginEvent struct {
	EventInfo
	Method LoginMethod
	Result LoginResult
	Err    error // the authenticator's error, for LoginUnavailable
}

// Transfer directions.
const (
	DirDownload = "download" // RETR
	DirUpload   = "upload"   // STOR, STOU, APPE
	DirListing  = "listing"  // LIST, NLST, MLSD
)

// Transfer results.
const (
	ResultOK      = "ok"
	ResultAborted = "aborted"       // ABOR from the client
	ResultNetwork = "network_error" // the data connection broke or never opened
	ResultStorage = "storage_error" // the server's side (storage) failed
	// ResultRejected: Options.UploadCheck refused a complete upload; the
	// file was removed and the client got 550.
	ResultRejected = "rejected"
)

// TransferEvent is a finished transfer or listing.
type TransferEvent struct {
	EventInfo
	Verb      string // RETR, STOR, APPE, STOU, LIST, NLST, MLSD
	Direction string // DirDownload, DirUpload or DirListing
	Path      string // the virtual path (a directory for listings)
	Result    string // ResultOK, ResultAborted, ResultNetwork or ResultStorage
	Bytes     int64
	Duration  time.Duration
	// SHA256 is the hex SHA-256 of an upload's data when the server
	// computed it on the way (a session that used HASH or OPTS HASH with
	// SHA-256, see recvhash.go); "" otherwise. Uploads are not hashed for
	// this field alone.
	SHA256 string
}

// FileEvent is a file operation that succeeded.
type FileEvent struct {
	EventInfo
	Op   string // DELE, RNTO, MKD or RMD
	Path string // the virtual path (RNTO: the new one)
	From string // RNTO: the old virtual path
}

// DataConnEvent is a data connection set up for a transfer. Duration runs
// from the transfer command to the connection being ready for data (its
// TLS handshake included), so it includes the client's own delay.
type DataConnEvent struct {
	EventInfo
	Passive  bool // PASV/EPSV; false for PORT/EPRT
	TLS      bool // PROT P
	OK       bool
	Duration time.Duration
}

// TLSEvent is a failed TLS handshake.
type TLSEvent struct {
	EventInfo
	Data bool // a data connection; false for the control connection
	Err  error
}

// StorageEvent is a failed storage operation, with the reply it got.
type StorageEvent struct {
	EventInfo
	Op   string // the FTP command, such as RETR, STOR, DELE, MKD
	Code int    // the reply code the client got (550, 451, 452, 552...)
	Err  error
}

// BanEvent is an address banned after repeated login failures.
type BanEvent struct {
	EventInfo
	Addr  netip.Addr
	Until time.Time
}

// ReloadEvent is a configuration reload applied (OK) or refused.
type ReloadEvent struct {
	Time time.Time
	OK   bool
	Err  error
}

// Stats is a snapshot of the server's state, cheap enough to take at each
// metrics scrape.
type Stats struct {
	// Sessions counts the sessions admitted and running; Unauthenticated
	// and Transferring are subsets of it, the rest are logged in and idle.
	Sessions, Unauthenticated, Transferring int
	// PassiveInUse is the number of passive listeners open, including
	// those kept idle for their session's next PASV/EPSV (they hold a
	// port); PassiveRange the number of ports in the passive range.
	PassiveInUse, PassiveRange int
	// BansActive is the number of addresses banned now.
	BansActive int
}

// Stats returns a snapshot of the server's state.
func (s *Server) Stats() Stats {
	all, unauth := s.book.Len()
	o := s.options()
	return Stats{
		Sessions:        all,
		Unauthenticated: unauth,
		Transferring:    min(int(s.transfers.Load()), all-unauth),
		PassiveInUse:    int(s.pasvOpen.Load()),
		PassiveRange:    o.PassivePortMax - o.PassivePortMin + 1,
		BansActive:      s.book.Bans(),
	}
}

// info is the EventInfo of s now. Only the control goroutine reads the
// login state; other goroutines pass the user they captured.
func (s *session) info(user string) EventInfo {
	return EventInfo{Time: time.Now(), SessionID: s.id, User: user, Remote: s.remote}
}

func (s *session) observeSession(opened bool, d time.Duration) {
	o := s.opts.Observer
	if o == nil {
		return
	}
	f := o.SessionClosed
	if opened {
		f = o.SessionOpened
	}
	if f != nil {
		f(SessionEvent{EventInfo: s.info(s.userName()), Duration: d})
	}
}

func (s *session) observeState(user string, from, to SessionState) {
	if o := s.opts.Observer; o != nil && o.StateChanged != nil {
		o.StateChanged(StateEvent{EventInfo: s.info(user), From: from, To: to})
	}
}

// observeLogin reports a PASS outcome; ident is nil unless the password
// was accepted.
func (s *session) observeLogin(user string, ident *Identity, res LoginResult, err error) {
	o := s.opts.Observer
	if o == nil || o.Login == nil {
		return
	}
	m := LoginPassword
	if ident != nil && ident.Anonymous || ident == nil && (strings.EqualFold(user, "anonymous") || strings.EqualFold(user, "ftp")) {
		m = LoginAnonymous
	}
	o.Login(LoginEvent{EventInfo: s.info(user), Method: m, Result: res, Err: err})
}

// loginState is the login half of a session's state change.
func (s *session) loginState(in bool) {
	s.publish() // before the reply: what a client has been told, Sessions shows
	if in {
		s.observeState(s.userName(), StateUnauthenticated, StateLoggedIn)
	} else {
		s.observeState(s.userName(), StateLoggedIn, StateUnauthenticated)
	}
}

// transferState counts a transfer starting (or ending) for Stats and
// reports the state change. It runs in the control goroutine at the start
// and in the transfer's at the end: x.user is captured at the start.
func (s *session) transferState(x *transfer, start bool) {
	if start {
		s.srv.transfers.Add(1)
		x.user = s.userName()
		s.observeState(x.user, StateLoggedIn, StateTransferring)
		return
	}
	s.srv.transfers.Add(-1)
	s.observeState(x.user, StateTransferring, StateLoggedIn)
}

func (s *session) observeTransfer(x *transfer, n int64, result string) {
	o := s.opts.Observer
	if o == nil || o.TransferDone == nil {
		return
	}
	dir := DirUpload
	switch x.verb {
	case "RETR":
		dir = DirDownload
	case "LIST", "NLST", "MLSD":
		dir = DirListing
	}
	o.TransferDone(TransferEvent{EventInfo: s.info(x.user), Verb: x.verb, Direction: dir, Path: x.path,
		Result: result, Bytes: n, Duration: time.Since(x.start), SHA256: x.sha256()})
}

// observeFileOp reports a file operation that succeeded; from is the old
// path of a rename.
func (s *session) observeFileOp(op, vpath, from string) {
	if o := s.opts.Observer; o != nil && o.FileOp != nil {
		o.FileOp(FileEvent{EventInfo: s.info(s.userName()), Op: op, Path: vpath, From: from})
	}
}

// observeLogout reports that the logged-in user of s logs out.
func (s *session) observeLogout() {
	if o := s.opts.Observer; o != nil && o.Logout != nil {
		o.Logout(SessionEvent{EventInfo: s.info(s.userName())})
	}
}

// transferResult is how a transfer ended, as TransferEvent.Result says it.
func transferResult(aborted bool, netErr, localErr error) string {
	switch {
	case aborted:
		return ResultAborted
	case errors.Is(localErr, errRejected):
		return ResultRejected
	case localErr != nil:
		return ResultStorage
	case netErr != nil:
		return ResultNetwork
	}
	return ResultOK
}

func (s *session) observeDataConn(x *transfer, ok bool) {
	if o := s.opts.Observer; o != nil && o.DataConn != nil {
		o.DataConn(DataConnEvent{EventInfo: s.info(x.user), Passive: x.passive, TLS: x.tls, OK: ok, Duration: time.Since(x.start)})
	}
}

// observeTLSFailed reports a failed handshake; user is "" on the control
// connection (before login) or the user a data connection was made for.
func (s *session) observeTLSFailed(user string, data bool, err error) {
	if o := s.opts.Observer; o != nil && o.TLSFailed != nil {
		o.TLSFailed(TLSEvent{EventInfo: s.info(user), Data: data, Err: err})
	}
}

// observeStorageErr reports err when it came from storage: not a reply a
// handler chose (*ftp.Error), nor an authenticator's failure.
func (s *session) observeStorageErr(user, op string, err error) {
	o := s.opts.Observer
	if o == nil || o.StorageError == nil || err == nil || errors.Is(err, errCloseSession) || errors.Is(err, errAuthUnavailable) {
		return
	}
	var fe *ftp.Error
	if errors.As(err, &fe) {
		return
	}
	o.StorageError(StorageEvent{EventInfo: s.info(user), Op: op, Code: replyFor(err).Code, Err: err})
}

func (s *session) observeBan(user string, until time.Time) {
	o := s.opts.Observer
	if o == nil {
		return
	}
	e := BanEvent{EventInfo: s.info(user), Addr: s.remote.Addr().Unmap(), Until: until}
	if o.BanAdded != nil {
		o.BanAdded(e)
	}
	if o.BanExpired != nil {
		time.AfterFunc(time.Until(until), func() { o.BanExpired(e) })
	}
}

// observeReload reports a reload to o's observer, if any.
func observeReload(o *Options, err error) {
	if o != nil && o.Observer != nil && o.Observer.Reload != nil {
		o.Observer.Reload(ReloadEvent{Time: time.Now(), OK: err == nil, Err: err})
	}
}

// observeDataFailed reports a transfer whose data connection could not be
// had: the set-up failed and the transfer ended without data.
func (s *session) observeDataFailed(x *transfer) {
	s.observeDataConn(x, false)
	res := ResultNetwork
	if x.aborted.Load() {
		res = ResultAborted
	}
	s.observeTransfer(x, 0, res)
}

// countPassive counts a passive listener opened; passive.free uncounts it.
func (s *Server) countPassive() *atomic.Int64 {
	s.pasvOpen.Add(1)
	return &s.pasvOpen
}

// free uncounts a passive listener closed, once.
func (p *passive) free() {
	if p.open != nil && p.freed.CompareAndSwap(false, true) {
		p.open.Add(-1)
	}
}

// HealthChecker is implemented by an Authenticator that can tell whether
// its user store and the storage it hands out are reachable (Server.Ready
// asks it).
type HealthChecker interface {
	CheckHealth(ctx context.Context) error
}

// Ready reports why the server cannot serve logins now, or nil: it must be
// serving a listener, not shutting down, and its Authenticator's
// CheckHealth, when it has one, must pass.
func (s *Server) Ready(ctx context.Context) error {
	switch {
	case s.book.Closing():
		return errors.New("shutting down")
	case s.book.Addr() == nil:
		return errors.New("not listening")
	}
	if hc, ok := s.options().Auth.(HealthChecker); ok {
		if err := hc.CheckHealth(ctx); err != nil {
			return fmt.Errorf("user store: %w", err)
		}
	}
	return nil
}

// JoinObservers returns an Observer that calls each non-nil observer's
// funcs in turn (metrics and event hooks, say); nil when there is none.
func JoinObservers(obs ...*Observer) *Observer {
	var list []*Observer
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return &Observer{
		SessionOpened: join(list, func(o *Observer) func(SessionEvent) { return o.SessionOpened }),
		SessionClosed: join(list, func(o *Observer) func(SessionEvent) { return o.SessionClosed }),
		StateChanged:  join(list, func(o *Observer) func(StateEvent) { return o.StateChanged }),
		Login:         join(list, func(o *Observer) func(LoginEvent) { return o.Login }),
		TransferDone:  join(list, func(o *Observer) func(TransferEvent) { return o.TransferDone }),
		DataConn:      join(list, func(o *Observer) func(DataConnEvent) { return o.DataConn }),
		TLSFailed:     join(list, func(o *Observer) func(TLSEvent) { return o.TLSFailed }),
		StorageError:  join(list, func(o *Observer) func(StorageEvent) { return o.StorageError }),
		BanAdded:      join(list, func(o *Observer) func(BanEvent) { return o.BanAdded }),
		BanExpired:    join(list, func(o *Observer) func(BanEvent) { return o.BanExpired }),
		Reload:        join(list, func(o *Observer) func(ReloadEvent) { return o.Reload }),
		FileOp:        join(list, func(o *Observer) func(FileEvent) { return o.FileOp }),
		Logout:        join(list, func(o *Observer) func(SessionEvent) { return o.Logout }),
	}
}

// join is one field of JoinObservers: nil when no observer sets it, so
// that an unset event stays one comparison.
func join[E any](list []*Observer, field func(*Observer) func(E)) func(E) {
	var fs []func(E)
	for _, o := range list {
		if f := field(o); f != nil {
			fs = append(fs, f)
		}
	}
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return func(e E) {
		for _, f := range fs {
			f(e)
		}
	}
}
