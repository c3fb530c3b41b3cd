package userstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/password"
	"golang.org/x/crypto/bcrypt"
)

func mustHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustBcrypt(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func newStore(t *testing.T, users []User, anon *Anonymous, opts ...Option) *Static {
	t.Helper()
	s, err := NewStatic(users, anon, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func login(s *Static, user, pass string) (*ftpserver.Identity, error) {
	return s.Authenticate(context.Background(), ftpserver.LoginInfo{User: user, Password: pass})
}

func TestAuthenticate(t *testing.T) {
	dir := t.TempDir()
	pub := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	users := []User{
		{Name: "alice", PasswordHash: mustHash(t, "wonderland"), Root: dir,
			Perms: ftpserver.PermAll, MaxSessions: 3},
		{Name: "bob", PasswordHash: mustBcrypt(t, "builder"), Root: dir,
			Perms: ftpserver.PermList | ftpserver.PermRead | ftpserver.PermMkdir},
		{Name: "carol", PasswordHash: mustHash(t, "c"), Root: dir},
	}
	withAnon := newStore(t, users, &Anonymous{Root: pub})
	noAnon := newStore(t, users, nil)

	type want struct {
		ok          bool
		user        string
		perms       ftpserver.Perms
		anonymous   bool
		maxSessions int
	}
	for _, tc := range []struct {
		name       string
		store      *Static
		user, pass string
		want       want
	}{
		{"an argon2id user with the right password logs in with their perms", noAnon, "alice", "wonderland",
			want{ok: true, user: "alice", perms: ftpserver.PermAll, maxSessions: 3}},
		{"a bcrypt user with the right password logs in with their perms", noAnon, "bob", "builder",
			want{ok: true, user: "bob", perms: ftpserver.PermList | ftpserver.PermRead | ftpserver.PermMkdir}},
		{"a user without perms gets read-only access", noAnon, "carol", "c",
			want{ok: true, user: "carol", perms: ftpserver.PermReadOnly}},
		{"an argon2id user with a wrong password is refused", noAnon, "alice", "Wonderland", want{}},
		{"a bcrypt user with a wrong password is refused", noAnon, "bob", "", want{}},
		{"a user name is matched case-sensitively", noAnon, "Alice", "wonderland", want{}},
		{"an unknown user is refused", noAnon, "mallory", "wonderland", want{}},
		{"anonymous is refused when anonymous logins are off", noAnon, "anonymous", "me@example.com", want{}},
		{"anonymous logs in read-only with any password when enabled", withAnon, "anonymous", "me@example.com",
			want{ok: true, user: "anonymous", perms: ftpserver.PermReadOnly, anonymous: true}},
		{"the name ftp is anonymous too, in any case", withAnon, "FTP", "",
			want{ok: true, user: "anonymous", perms: ftpserver.PermReadOnly, anonymous: true}},
		{"regular users still need their password when anonymous is on", withAnon, "alice", "x", want{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := login(tc.store, tc.user, tc.pass)
			if !tc.want.ok {
				if !errors.Is(err, ftpserver.ErrAuthFailed) || id != nil {
					t.Fatalf("Authenticate = %v, %v; want ErrAuthFailed", id, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{ok: true, user: id.User, perms: id.Perms, anonymous: id.Anonymous, maxSessions: id.MaxSessions}
			if got != tc.want {
				t.Fatalf("identity = %+v, want %+v", got, tc.want)
			}
			if id.FS == nil {
				t.Fatal("identity has no FS")
			}
		})
	}
}

func TestIdentityServesTheUsersRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, []User{{Name: "u", PasswordHash: mustHash(t, "p"), Root: dir}}, nil)
	id, err := login(s, "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := id.FS.Stat(context.Background(), "hello.txt")
	if err != nil || fi.Size() != 2 {
		t.Fatalf("Stat(hello.txt) = %v, %v", fi, err)
	}
}

func TestUsersWithTheSameRootShareOneFS(t *testing.T) {
	dir := t.TempDir()
	h := mustHash(t, "p")
	s := newStore(t, []User{
		{Name: "a", PasswordHash: h, Root: dir},
		{Name: "b", PasswordHash: h, Root: dir + "/."},
	}, nil)
	a, err1 := login(s, "a", "p")
	b, err2 := login(s, "b", "p")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if a.FS != b.FS {
		t.Fatal("users with the same root got different file systems")
	}
	if n := len(s.resolver.fss); n != 1 {
		t.Fatalf("opened %d file systems, want 1", n)
	}
}

func TestNewStaticRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h := mustHash(t, "p")
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name  string
		users []User
		anon  *Anonymous
		want  string
	}{
		{"a root that does not exist is refused", []User{{Name: "u", PasswordHash: h, Root: missing}}, nil,
			`user "u": root ` + missing + " does not exist"},
		{"a root that is a file is refused", []User{{Name: "u", PasswordHash: h, Root: file}}, nil,
			`user "u": root ` + file + " is not a directory"},
		{"an empty root is refused", []User{{Name: "u", PasswordHash: h}}, nil, "root is empty"},
		{"an anonymous root that does not exist is refused", nil, &Anonymous{Root: missing},
			"anonymous: root " + missing + " does not exist"},
		{"a malformed hash is refused", []User{{Name: "u", PasswordHash: "secret", Root: dir}}, nil,
			`user "u": password hash: malformed`},
		{"an empty hash is refused", []User{{Name: "u", Root: dir}}, nil, `user "u": password hash: malformed`},
		{"a duplicate user is refused", []User{{Name: "u", PasswordHash: h, Root: dir}, {Name: "u", PasswordHash: h, Root: dir}}, nil,
			`user "u" is listed twice`},
		{"a name with a space is refused", []User{{Name: "a b", PasswordHash: h, Root: dir}}, nil, "contains a space"},
		{"a name with a control character is refused", []User{{Name: "a\x00", PasswordHash: h, Root: dir}}, nil, "control character"},
		{"an empty name is refused", []User{{PasswordHash: h, Root: dir}}, nil, "name is empty"},
		{"a user named like an anonymous login is refused", []User{{Name: "Ftp", PasswordHash: h, Root: dir}}, &Anonymous{Root: dir},
			"clashes with an anonymous login name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewStatic(tc.users, tc.anon)
			if err == nil {
				s.Close()
				t.Fatal("NewStatic succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestAnonymousNamesCanBeChanged(t *testing.T) {
	rates := ftpserver.Rates{Download: 64 << 10}
	s := newStore(t, nil, &Anonymous{Root: t.TempDir(), Names: []string{"guest"}, Perms: ftpserver.PermAll, MaxSessions: 5, Rates: rates})
	id, err := login(s, "Guest", "x")
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "guest" || !id.Anonymous || id.Perms != ftpserver.PermAll || id.MaxSessions != 5 || id.Rates != rates {
		t.Fatalf("identity = %+v", id)
	}
	if _, err := login(s, "anonymous", "x"); !errors.Is(err, ftpserver.ErrAuthFailed) {
		t.Fatalf("anonymous login err = %v, want ErrAuthFailed", err)
	}
}

func TestEachLoginGetsItsOwnIdentity(t *testing.T) {
	s := newStore(t, nil, &Anonymous{Root: t.TempDir()})
	a, _ := login(s, "ftp", "")
	a.Perms = ftpserver.PermAll
	b, _ := login(s, "ftp", "")
	if b.Perms != ftpserver.PermReadOnly {
		t.Fatal("changing one identity changed the next")
	}
}

func TestAuthenticateAfterCloseFails(t *testing.T) {
	s, err := NewStatic(nil, &Anonymous{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := login(s, "ftp", ""); err == nil || errors.Is(err, ftpserver.ErrAuthFailed) {
		t.Fatalf("Authenticate after Close = %v, want a non-auth error", err)
	}
}

func TestAuthenticateHonoursTheContext(t *testing.T) {
	// Waiting for a busy hash slot is tested in password.Checker.
	s := newStore(t, []User{{Name: "u", PasswordHash: mustHash(t, "p"), Root: t.TempDir()}}, nil,
		WithMaxConcurrentChecks(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Authenticate(ctx, ftpserver.LoginInfo{User: "u", Password: "p"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := login(s, "u", "p"); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentLogins(t *testing.T) {
	s := newStore(t, []User{{Name: "u", PasswordHash: mustHash(t, "p"), Root: t.TempDir()}}, nil)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			pass := "p"
			if i%2 == 1 {
				pass = "wrong"
			}
			_, err := login(s, "u", pass)
			if i%2 == 1 && errors.Is(err, ftpserver.ErrAuthFailed) {
				err = nil
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	s, err := NewStatic([]User{{Name: "u", PasswordHash: mustHash(b, "p"), Root: b.TempDir()}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, bm := range []struct{ name, user string }{{"known user", "u"}, {"unknown user", "x"}} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				login(s, bm.user, "p")
			}
		})
	}
}
