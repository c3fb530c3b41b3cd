package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/console"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage/memfs"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// env is a running FTP server with a console over it.
type env struct {
	ftp      *ftpservertest.Server
	http     *httptest.Server
	accounts string // the accounts file
	full     string // a full-scope token of "alice"
	read     string // a read-only token of "alice"
	logs     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// adminPassword is the password of the test admin "alice".
const adminPassword = "correct horse"

var hashOnce = sync.OnceValue(func() string {
	h, err := password.Hash(adminPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// newEnv starts an FTP server whose user "u"/"p" sees files, with sessions
// limited to rates, and a console whose accounts file holds alice and her
// two tokens.
func newEnv(t testing.TB, files map[string]string, rates ftpserver.Rates) *env {
	t.Helper()
	return newEnvWith(t, files, ftpserver.Options{SessionRates: rates}, nil)
}

// newEnvDB is newEnv with a SQLite user store next to the test user "u"
// (shown as a user of the configuration file).
func newEnvDB(t testing.TB) (*env, *sqlstore.Store) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "users.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newEnvWith(t, nil, ftpserver.Options{}, db), db
}

func newEnvWith(t testing.TB, files map[string]string, o ftpserver.Options, db *sqlstore.Store) *env {
	t.Helper()
	fsys := memfs.New()
	for name, data := range files {
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			if err := fsys.MkdirAll(name[:i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := fsys.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	act := console.NewActivity(100)
	o.Observer = act.Observe(nil)
	o.Auth = authWith(ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}), db)
	srv := ftpservertest.Start(t, "", o)
	e := &env{ftp: srv, accounts: filepath.Join(t.TempDir(), "admin.toml"), logs: &syncBuffer{}}
	full, fullSum := console.NewToken()
	read, readSum := console.NewToken()
	e.full, e.read = full, read
	e.writeAccounts(t, &console.Accounts{
		Users: []console.User{{Name: "alice", Password: hashOnce()}},
		Tokens: []console.Token{
			{Name: "ops", Admin: "alice", Scope: console.ScopeFull, SHA256: fullSum},
			{Name: "monitor", Admin: "alice", Scope: console.ScopeRead, SHA256: readSum},
		},
	})
	opts := console.Options{Server: srv, Accounts: console.NewAccountsFile(e.accounts),
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Activity: act}
	if db != nil {
		opts.Users = db
		opts.FileUsers = func() []console.FileUser {
			return []console.FileUser{{Name: "u", Root: "/memfs", Perms: ftpserver.PermAll}}
		}
	}
	c := console.New(opts)
	e.http = httptest.NewServer(c.Handler())
	t.Cleanup(e.http.Close)
	return e
}

// authWith tries the test users, then db when there is one.
func authWith(test ftpserver.Authenticator, db *sqlstore.Store) ftpserver.Authenticator {
	if db == nil {
		return test
	}
	return ftpserver.AuthenticatorFunc(func(ctx context.Context, l ftpserver.LoginInfo) (*ftpserver.Identity, error) {
		if l.User == "u" {
			return test.Authenticate(ctx, l)
		}
		return db.Authenticate(ctx, l)
	})
}

func (e *env) writeAccounts(t testing.TB, a *console.Accounts) {
	t.Helper()
	data, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.accounts, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// do sends an API request with token (none when empty) and returns the
// status and body.
func (e *env) do(t testing.TB, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sessions lists the sessions through the API.
func (e *env) sessions(t testing.TB) []console.SessionJSON {
	t.Helper()
	code, body := e.do(t, "GET", "/api/v1/sessions", e.read, "")
	if code != http.StatusOK {
		t.Fatalf("GET sessions: %d %s", code, body)
	}
	var out []console.SessionJSON
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) sessionOf(t testing.TB, user string) console.SessionJSON {
	t.Helper()
	for _, s := range e.sessions(t) {
		if s.User == user {
			return s
		}
	}
	t.Fatalf("no session of %q", user)
	return console.SessionJSON{}
}
