// Package ftpservertest starts FTP servers on the loopback interface for
// tests, in the spirit of net/http/httptest.
package ftpservertest

import (
	"context"
	"crypto/subtle"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage"
)

// Server is a running test server.
type Server struct {
	*ftpserver.Server
	// Addr is the control address, "127.0.0.1:port" (or "[::1]:port").
	Addr string
	// Done is closed when Serve has returned.
	Done chan struct{}

	t         testing.TB
	closeOnce sync.Once
}

// Close shuts the server down, letting running transfers finish for up to
// five seconds, and waits for Serve to return. It is called when the test
// ends; calling it earlier (to test what clients see when the server goes
// away) is allowed, and later calls do nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			s.t.Errorf("ftpservertest: shutdown: %v", err)
		}
		<-s.Done
	})
}

// User is a plain-text test account.
type User struct {
	Name, Password string
	FS             storage.FS
	Perms          ftpserver.Perms
}

// Auth returns an Authenticator for plain-text test accounts. Only for tests:
// real deployments use userstore with hashed passwords.
func Auth(users ...User) ftpserver.Authenticator {
	return ftpserver.AuthenticatorFunc(func(ctx context.Context, l ftpserver.LoginInfo) (*ftpserver.Identity, error) {
		for _, u := range users {
			if u.Name == l.User && subtle.ConstantTimeCompare([]byte(u.Password), []byte(l.Password)) == 1 {
				return &ftpserver.Identity{User: u.Name, FS: u.FS, Perms: u.Perms}, nil
			}
		}
		return nil, ftpserver.ErrAuthFailed
	})
}

// Start serves opts on network address addr ("127.0.0.1:0" when empty) until
// the test ends. Unless opts sets them, logs are discarded and the login
// failure delay is off so tests run fast.
func Start(t testing.TB, addr string, opts ftpserver.Options) *Server {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.LoginFailDelay == 0 {
		opts.LoginFailDelay = -1
	}
	srv, err := ftpserver.New(opts)
	if err != nil {
		t.Fatalf("ftpservertest: %v", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("ftpservertest: listen %s: %v", addr, err)
	}
	s := &Server{Server: srv, Addr: l.Addr().String(), Done: make(chan struct{}), t: t}
	go func() {
		defer close(s.Done)
		srv.Serve(l)
	}()
	t.Cleanup(s.Close)
	return s
}
