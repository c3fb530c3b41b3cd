package ftpserver_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// A handler that says goodbye ends the session: QUIT's 221 is the last reply.
func TestQuitEndsSession(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(ftp.CodeClosing, "QUIT")
	c.ExpectClosed()
}

// An authenticator that fails (rather than refusing the password) is
// answered with 421, whatever its error says, and the session ends.
func TestAuthenticatorFailureEndsSession(t *testing.T) {
	for name, authErr := range map[string]error{
		"plain error": errors.New("dial tcp 192.0.2.7:5432: connection refused"),
		"ftp error":   &ftp.Error{Code: ftp.CodeNotLoggedIn, Message: "user table at 192.0.2.7 is locked"},
		"timeout":     context.DeadlineExceeded,
	} {
		t.Run(name, func(t *testing.T) {
			auth := ftpserver.AuthenticatorFunc(func(context.Context, ftpserver.LoginInfo) (*ftpserver.Identity, error) {
				return nil, authErr
			})
			srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: auth})
			c := ftpservertest.Dial(t, srv.Addr)
			c.Do(ftp.CodeNeedPassword, "USER u")
			msg := c.Do(ftp.CodeNotAvailable, "PASS p")
			if msg != "Login temporarily unavailable; try again later." {
				t.Errorf("421 text %q", msg)
			}
			c.ExpectClosed()
		})
	}
}

// A data command refused before its transfer starts consumes the PASV or
// PORT setup: the next data command without a new PASV gets 425.
func TestRefusedDataCommandConsumesSetup(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"a.txt": "aaa", "dir/b.txt": "bbb"})
	for _, tc := range []struct {
		user, cmd string
		code      int
	}{
		{"u", "RETR missing.txt", ftp.CodeFileUnavailable},
		{"u", "RETR dir", ftp.CodeFileUnavailable},
		{"u", "LIST /missing", ftp.CodeFileUnavailable},
		{"u", "NLST /missing/*", ftp.CodeFileUnavailable},
		{"u", "MLSD a.txt", ftp.CodeFileUnavailable},
		{"u", "STOR dir", ftp.CodeFileUnavailable},
		{"ro", "STOR new.txt", ftp.CodeFileUnavailable},
		{"ro", "STOU", ftp.CodeFileUnavailable},
		{"ro", "APPE a.txt", ftp.CodeFileUnavailable},
	} {
		for _, setup := range []string{"PASV", "EPSV"} {
			t.Run(tc.user+" "+tc.cmd+" after "+setup, func(t *testing.T) {
				c := ftpservertest.Dial(t, srv.Addr)
				c.Login(tc.user, "p")
				if setup == "PASV" {
					c.Do(ftp.CodePassive, "PASV")
				} else {
					c.Do(ftp.CodeExtendedPassive, "EPSV")
				}
				c.Do(tc.code, "%s", tc.cmd)
				msg := c.Do(ftp.CodeCantOpenData, "RETR a.txt")
				if !strings.Contains(msg, "PASV") {
					t.Errorf("425 text %q", msg)
				}
				// The session goes on: a new setup serves the next transfer.
				if got := c.Retr("a.txt"); got != "aaa" {
					t.Errorf("RETR after a new EPSV: %q", got)
				}
			})
		}
	}
}

// A handler's refusal of a command that is not a data command leaves the
// data setup for the transfer it was made for.
func TestRefusedOtherCommandKeepsSetup(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"a.txt": "aaa"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("ro", "p")
	d := c.EPSV()
	defer d.Close()
	c.Do(ftp.CodeFileUnavailable, "DELE a.txt")
	c.Do(ftp.CodeFileUnavailable, "SIZE missing.txt")
	c.Do(ftp.CodeFileStatusOK, "RETR a.txt")
	b, err := io.ReadAll(d)
	if err != nil || string(b) != "aaa" {
		t.Fatalf("RETR: %q, %v", b, err)
	}
	c.Expect(ftp.CodeClosingData)
}
