package ftpserver

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/ferryftp/ferry/ftp"
)

func (s *session) cmdUSER(arg string) error {
	switch {
	case s.ident != nil:
		return ftpErr(ftp.CodeNotLoggedIn, "Already logged in; use REIN to change user.")
	case !utf8.ValidString(arg):
		return ftpErr(ftp.CodeArgSyntax, "User name is not valid UTF-8 (RFC 2640); send it in UTF-8.")
	case hasControl(arg):
		return ftpErr(ftp.CodeArgSyntax, "User name contains control characters.")
	}
	s.pendingUser = arg
	s.reply(ftp.CodeNeedPassword, "Password required for "+arg+".")
	return nil
}

func (s *session) cmdPASS(arg string) error {
	if s.ident != nil {
		s.reply(ftp.CodeSuperfluous, "Already logged in.")
		return nil
	}
	if s.pendingUser == "" {
		return ftpErr(ftp.CodeBadSequence, "Send USER first.")
	}
	user := s.pendingUser
	s.pendingUser = ""
	o := s.srv.options() // the current configuration, so SIGHUP reloads apply
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	ident, err := o.Auth.Authenticate(ctx, LoginInfo{User: user, Password: arg, Remote: s.remote, SessionID: s.id})
	cancel()
	switch {
	case err != nil && !errors.Is(err, ErrAuthFailed):
		s.log.Error("authenticator failed", "user", user, "err", err)
		s.observeLogin(user, nil, LoginUnavailable, err)
		return authUnavailable(err) // replyFor: 421, which ends the session
	case err != nil || ident == nil || ident.FS == nil:
		return s.loginFailed(user, o)
	}
	if err := s.admit(ident, o); err != nil {
		s.observeLogin(user, ident, LoginRefused, nil)
		return err
	}
	s.srv.book.LoginSucceeded(s.remote.Addr().Unmap())
	s.ident = ident
	s.bindTLSUser()
	s.cwd = "/"
	s.unknown = 0
	s.log = s.log.With("user", ident.User)
	s.log.Info("logged in", "anonymous", ident.Anonymous, "perms", ident.Perms.String())
	s.observeLogin(user, ident, LoginOK, nil)
	s.loginState(true)
	s.reply(ftp.CodeLoggedIn, "User "+ident.User+" logged in.")
	return nil
}

// loginFailed answers a refused password: after the failure delay, 530, or
// 421 when the address is now banned or has sent too many refused commands.
func (s *session) loginFailed(user string, o *Options) error {
	s.log.Warn("login failed", "user", user, "remote", s.remote.Addr().String())
	s.observeLogin(user, nil, LoginFailed, nil)
	banned := s.srv.book.LoginFailed(s.remote.Addr().Unmap())
	if banned {
		s.observeBan(user, time.Now().Add(o.BanDuration))
	}
	if o.LoginFailDelay > 0 {
		select {
		case <-time.After(o.LoginFailDelay):
		case <-s.ctx.Done():
			return errCloseSession
		}
	}
	if banned {
		s.log.Warn("address banned after repeated login failures", "remote", s.remote.Addr().String(), "for", o.BanDuration.String())
		return ftpErr(ftp.CodeNotAvailable, "Too many failed logins; closing control connection.")
	}
	return s.refuseCounted(ftpErr(ftp.CodeNotLoggedIn, "Login incorrect."))
}

// admit checks that an authenticated user may start a session here: TLS
// when the user requires it, and a free place under the per-user cap, which
// it takes.
func (s *session) admit(ident *Identity, o *Options) error {
	if ident.RequireTLS && s.tlsConn == nil {
		s.log.Warn("login refused: user requires TLS", "user", ident.User)
		return ftpErr(ftp.CodeNotLoggedIn, "TLS is required for this user: reconnect and send AUTH TLS first.")
	}
	limit := ident.MaxSessions
	if limit == 0 {
		limit = o.MaxSessionsPerUser
	}
	if !s.srv.acquireUser(ident.User, limit) {
		s.log.Warn("per-user session cap reached", "user", ident.User)
		return ftpErr(ftp.CodeNotAvailable, "Too many sessions for this user; try again later.")
	}
	if !s.entry.LoggedIn() { // evicted while the password was checked
		s.srv.releaseUser(ident.User)
		return errCloseSession
	}
	s.limits = s.srv.bw.login(ident.User, ident.Rates, o.SessionRates)
	return nil
}

func (s *session) cmdACCT(string) error {
	if s.ident == nil {
		return ftpErr(ftp.CodeBadSequence, "Log in with USER and PASS; no account is needed.")
	}
	s.reply(ftp.CodeSuperfluous, "ACCT not needed at this site.")
	return nil
}

// cmdREIN logs the user out and resets the session, keeping the connection.
func (s *session) cmdREIN(string) error {
	s.closePassive()
	if s.ident != nil {
		s.srv.releaseUser(s.ident.User)
		s.srv.bw.logout(s.ident.User)
		s.limits = sessionLimits{}
		s.entry.LoggedOut()
		s.log.Info("logged out (REIN)")
		s.observeLogout()
		s.loginState(false)
	}
	s.ident = nil
	s.bindTLSUser()
	s.pendingUser = ""
	s.binary = false
	s.restOffset = 0
	s.renameFrom = ""
	s.epsvAll = false
	s.protP = s.implicit
	s.port = netipZero
	s.mlstFacts = ftp.DefaultFacts
	s.hashAlgo = "SHA-256"
	s.setCwd("/") // publishes the logged-out session
	s.reply(ftp.CodeServiceReady, "Session reset; log in again.")
	return nil
}

// cmdQUIT says goodbye; with a transfer running it answers after it ends.
func (s *session) cmdQUIT(string) error {
	s.waitTransfer() // a running transfer sends its 226 first
	s.reply(ftp.CodeClosing, "Goodbye.")
	return errCloseSession
}
