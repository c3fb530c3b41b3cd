// Package ftpserver implements an FTP server: RFC 959 with the extensions of
// RFC 2389 (FEAT, OPTS), RFC 2428 (EPRT, EPSV), RFC 2640 (UTF-8 paths),
// RFC 3659 (SIZE, MDTM, MLST, MLSD, REST STREAM, TVFS), the MFMT draft and
// draft-bryan-ftp-hash (HASH), with the security advice of RFC 2577.
package ftpserver

import (
	"context"
	"errors"
	"net"
)

// Server is an FTP server. Create it with New; it is safe for concurrent use.
type Server struct {
	opts Options
}

// New checks opts and returns a server ready to Serve.
func New(opts Options) (*Server, error) {
	if opts.Auth == nil {
		return nil, errors.New("ftpserver: Options.Auth is required")
	}
	return &Server{opts: opts}, nil
}

// ListenAndServe listens on Options.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error { return errors.New("not yet") }

// Serve accepts control connections on l until Shutdown or a fatal error.
func (s *Server) Serve(l net.Listener) error { return errors.New("not yet") }

// Shutdown stops accepting, lets running transfers finish until ctx is done,
// then closes every session.
func (s *Server) Shutdown(ctx context.Context) error { return nil }

// Reload replaces the options (users, limits, addresses) for new sessions
// and new logins without dropping existing sessions.
func (s *Server) Reload(opts Options) error { return nil }

// Addr returns the address of the first listener being served, or nil.
func (s *Server) Addr() net.Addr { return nil }
