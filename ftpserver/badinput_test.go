package ftpserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
)

func TestRESTPastTheEndThenRETRAnswers554(t *testing.T) {
	for _, b := range refusalBackends[:3] { // memfs, localfs direct, localfs atomic
		t.Run(b.name, func(t *testing.T) {
			fsys, _ := b.open(t, map[string]string{"f.txt": "hello"})
			srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: ftpservertest.Auth(
				ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})
			c := ftpservertest.Dial(t, srv.Addr)
			c.Login("u", "p")
			for _, off := range []string{"6", "1000", "9223372036854775806", "9223372036854775807"} {
				c.Do(ftp.CodePending, "REST %s", off)
				d := c.EPSV()
				c.Do(ftp.CodeInvalidRestart, "RETR f.txt")
				d.Close()
			}
			c.Do(ftp.CodePending, "REST 5")
			if got := c.Retr("f.txt"); got != "" {
				t.Errorf("REST at the end gave %q, want nothing", got)
			}
		})
	}
}

func TestUSERArgumentsAreNeverEchoedRaw(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	for _, tc := range []struct {
		name, user, want string
	}{
		{"a NUL is refused", "a\x00b", "control characters"},
		{"an escape sequence is refused", "a\x1b[31mb", "control characters"},
		{"a C1 control is refused", "a\u0085b", "control characters"},
		{"invalid UTF-8 is refused with a message that says so", "caf\xe9", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := c.Do(ftp.CodeArgSyntax, "USER %s", tc.user)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("reply %q does not say %q", msg, tc.want)
			}
			if strings.ContainsAny(msg, "\x00\x1b\u0085") || strings.Contains(msg, "\xe9") {
				t.Errorf("reply %q echoes the raw argument", msg)
			}
		})
	}
	t.Run("a UTF-8 name is accepted and echoed", func(t *testing.T) {
		if msg := c.Do(ftp.CodeNeedPassword, "USER jürgen"); !strings.Contains(msg, "jürgen") {
			t.Errorf("reply %q", msg)
		}
	})
	t.Run("USER after login is refused (RFC 959 leaves it to the server)", func(t *testing.T) {
		c.Do(ftp.CodeNeedPassword, "USER u")
		c.Do(ftp.CodeLoggedIn, "PASS p")
		c.Do(ftp.CodeNotLoggedIn, "USER ro")
		c.Do(ftp.CodePathCreated, "PWD") // still logged in as u
	})
	t.Run("a file name with control characters is not echoed raw in 150", func(t *testing.T) {
		d := c.EPSV()
		defer d.Close()
		msg := c.Do(ftp.CodeFileStatusOK, "STOR a\x1bb.txt")
		if strings.Contains(msg, "\x1b") {
			t.Errorf("150 %q echoes ESC", msg)
		}
		d.Close()
		c.Expect(ftp.CodeClosingData)
	})
}

// clampFS stores modification times as a file system with 32-bit
// timestamps does: anything past 2038 silently becomes 2038.
type clampFS struct{ *memfs.FS }

var limit2038 = time.Date(2038, 1, 19, 3, 14, 7, 0, time.UTC)

func (f clampFS) Chtimes(ctx context.Context, name string, t time.Time) error {
	if t.After(limit2038) {
		t = limit2038
	}
	return f.FS.Chtimes(ctx, name, t)
}

var _ storage.Chtimeser = clampFS{}

func TestMFMTNeverConfirmsATimeThatWasNotStored(t *testing.T) {
	check := func(t *testing.T, fsys storage.FS) {
		srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: ftpservertest.Auth(
			ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(ftp.CodeFileStatus, "MFMT 20200102030405 f.txt")
		last := "20200102030405"
		for _, ts := range []string{"20300101000000", "99991231235959", "00010101000000"} {
			c.Send("MFMT %s f.txt", ts)
			code, msg := c.Read()
			mdtm := c.Do(ftp.CodeFileStatus, "MDTM f.txt")
			switch code {
			case ftp.CodeFileStatus:
				if mdtm != ts {
					t.Errorf("MFMT %s answered %d %q but MDTM says %s", ts, code, msg, mdtm)
				}
				last = ts
			case ftp.CodeFileUnavailable:
				if mdtm != last {
					t.Errorf("MFMT %s was refused but the time changed from %s to %s", ts, last, mdtm)
				}
			default:
				t.Errorf("MFMT %s: %d %q", ts, code, msg)
			}
		}
	}
	t.Run("a file system that clamps is caught", func(t *testing.T) {
		m := memfs.New()
		m.WriteFile("f.txt", []byte("x"))
		fsys := clampFS{m}
		check(t, fsys)
		srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: ftpservertest.Auth(
			ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(ftp.CodeFileUnavailable, "MFMT 20990101000000 f.txt")
	})
	for _, b := range refusalBackends[1:3] {
		t.Run(b.name+" answers 213 only for a time it stored", func(t *testing.T) {
			fsys, _ := b.open(t, map[string]string{"f.txt": "x"})
			check(t, fsys)
		})
	}
}
