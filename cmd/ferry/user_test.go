package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpclient"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/pgtest"
	"github.com/ferryftp/ferry/storage/quota"
	"github.com/ferryftp/ferry/userstore"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// userCLI runs `ferry user ARGS...` with stdin and returns the exit code
// and output.
func userCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"user"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func mustUserCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := userCLI(t, stdin, args...)
	if code != 0 {
		t.Fatalf("ferry user %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func openStore(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dbLogin(s *sqlstore.Store, user, pass string) (*ftpserver.Identity, error) {
	return s.Authenticate(context.Background(), ftpserver.LoginInfo{User: user, Password: pass})
}

// forEachUserDB runs fn with an empty SQLite database and, when PostgreSQL
// is installed (required with FERRY_REQUIRE_POSTGRES=1), a PostgreSQL one.
func forEachUserDB(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "users.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.Start(t).NewDatabase(t)) })
}

func TestUserCommands(t *testing.T) {
	forEachUserDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		root := t.TempDir()
		db := "--db=" + dsn

		out := mustUserCLI(t, "secret\n", "add", "alice", db, "--root", root, "--password-stdin", "--max-sessions", "4")
		if !strings.Contains(out, "added user alice") {
			t.Errorf("add printed %q", out)
		}
		s := openStore(t, dsn)
		id, err := dbLogin(s, "alice", "secret")
		if err != nil || id.Perms != ftpserver.PermAll || id.MaxSessions != 4 {
			t.Fatalf("after add: %+v, %v", id, err)
		}

		for _, tc := range []struct {
			name  string
			stdin string
			args  []string
			code  int
			want  string
		}{
			{"adding a name that exists fails", "x\n", []string{"add", "alice", db, "--root", root, "--password-stdin"}, 1, "already exists"},
			{"add without a password source off a terminal is a usage error", "", []string{"add", "bob", db, "--root", root}, 2, "needs a password"},
			{"add without storage is a usage error", "x\n", []string{"add", "bob", db, "--password-stdin"}, 2, "--root DIR or --s3-bucket"},
			{"a local root and S3 at once is a usage error", "x\n", []string{"add", "bob", db, "--root", root, "--s3-bucket", "b", "--password-stdin"}, 2, "exclude each other"},
			{"bad credentials references are usage errors", "x\n", []string{"add", "bob", db, "--s3-bucket", "b", "--s3-credentials", "AKIA:x", "--password-stdin"}, 2, "--s3-credentials"},
			{"an unknown permission is a usage error", "x\n", []string{"add", "bob", db, "--root", root, "--perms", "fly", "--password-stdin"}, 2, "unknown permission"},
			{"an empty password is refused", "\n", []string{"add", "bob", db, "--root", root, "--password-stdin"}, 1, "empty password"},
			{"a malformed --password-hash is a usage error", "", []string{"add", "bob", db, "--root", root, "--password-hash", "plain"}, 2, "--password-hash"},
			{"set with nothing to change is a usage error", "", []string{"set", "alice", db}, 2, "nothing to change"},
			{"set on a missing user fails", "", []string{"set", "nobody", db, "--read-only"}, 1, "no such user"},
			{"passwd on a missing user fails before reading a password", "", []string{"passwd", "nobody", db}, 1, "no such user"},
			{"del on a missing user fails", "", []string{"del", "nobody", db}, 1, "no such user"},
			{"two names are a usage error", "", []string{"del", "a", "b", db}, 2, "one user name"},
			{"an unknown subcommand is a usage error", "", []string{"frob", db}, 2, "unknown command"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, _, errOut := userCLI(t, tc.stdin, tc.args...)
				if code != tc.code || !strings.Contains(errOut, tc.want) {
					t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
				}
			})
		}

		t.Run("an S3 user is added with a credentials reference", func(t *testing.T) {
			mustUserCLI(t, "s3pw\n", "add", "bob", db, "--s3-endpoint", "http://127.0.0.1:8333", "--s3-bucket", "media",
				"--s3-prefix", "bob/", "--s3-region", "eu-1", "--s3-credentials", "env:BOB_AK,BOB_SK", "--read-only", "--password-stdin")
			u, err := s.Get(ctx, "bob")
			want := userstore.StorageSpec{Kind: "s3", Endpoint: "http://127.0.0.1:8333", Bucket: "media", Prefix: "bob/",
				Region: "eu-1", Credentials: userstore.Credentials{AccessKeyEnv: "BOB_AK", SecretKeyEnv: "BOB_SK"}}
			if err != nil || u.Storage != want || u.Perms != ftpserver.PermReadOnly {
				t.Fatalf("bob = %+v, %v", u, err)
			}
		})
		t.Run("list shows users but no hashes", func(t *testing.T) {
			out := mustUserCLI(t, "", "list", db)
			if !strings.Contains(out, "alice") || !strings.Contains(out, "s3://media/bob/") || strings.Contains(out, "$argon2") {
				t.Fatalf("list:\n%s", out)
			}
			out = mustUserCLI(t, "", "list", "--json", db)
			var users []map[string]any
			if err := json.Unmarshal([]byte(out), &users); err != nil {
				t.Fatal(err)
			}
			if len(users) != 2 || users[0]["name"] != "alice" || users[1]["enabled"] != true || strings.Contains(out, "$argon2") {
				t.Fatalf("list --json:\n%s", out)
			}
			st := users[1]["storage"].(map[string]any)
			if st["type"] != "s3" || st["credentials"] != "env:BOB_AK,BOB_SK" {
				t.Fatalf("bob's storage: %v", st)
			}
		})
		t.Run("passwd reads a line of stdin and takes effect at the next login", func(t *testing.T) {
			mustUserCLI(t, "changed\n", "passwd", "alice", db)
			if _, err := dbLogin(s, "alice", "secret"); !errors.Is(err, ftpserver.ErrAuthFailed) {
				t.Fatalf("old password: %v", err)
			}
			if _, err := dbLogin(s, "alice", "changed"); err != nil {
				t.Fatalf("new password: %v", err)
			}
		})
		t.Run("set changes only the flags given", func(t *testing.T) {
			mustUserCLI(t, "", "set", "alice", db, "--perms", "list,read,mkdir", "--tls-required")
			u, _ := s.Get(ctx, "alice")
			if u.Perms != ftpserver.PermList|ftpserver.PermRead|ftpserver.PermMkdir || !u.RequireTLS || u.MaxSessions != 4 || u.Storage.Root != root {
				t.Fatalf("alice = %+v", u)
			}
			mustUserCLI(t, "", "set", "alice", db, "--s3-bucket", "b2", "--s3-credentials", "profile:alice")
			u, _ = s.Get(ctx, "alice")
			if u.Storage != (userstore.StorageSpec{Kind: "s3", Bucket: "b2", Credentials: userstore.Credentials{Profile: "alice"}}) {
				t.Fatalf("moved to S3: %+v", u.Storage)
			}
			mustUserCLI(t, "", "set", "alice", db, "--s3-prefix", "p/")
			if u, _ = s.Get(ctx, "alice"); u.Storage.Bucket != "b2" || u.Storage.Prefix != "p/" {
				t.Fatalf("prefix change: %+v", u.Storage)
			}
			mustUserCLI(t, "", "set", "alice", db, "--download-rate", "2MiB/s")
			if u, _ = s.Get(ctx, "alice"); u.Rates != (ftpserver.Rates{Download: 2 << 20}) {
				t.Fatalf("download rate: %+v", u.Rates)
			}
			if out := mustUserCLI(t, "", "list", db); !strings.Contains(out, "0 / 2MiB/s") {
				t.Errorf("list does not show the rate:\n%s", out)
			}
			if code, _, _ := userCLI(t, "", "set", "alice", db, "--upload-rate", "fast"); code == 0 {
				t.Error("--upload-rate fast was accepted")
			}
			mustUserCLI(t, "", "set", "alice", db, "--download-rate", "0")
			mustUserCLI(t, "", "set", db, "alice", "--root", root, "--tls-required=false", "--max-sessions", "0")
			if u, _ = s.Get(ctx, "alice"); u.Storage != (userstore.StorageSpec{Kind: "local", Root: root}) || u.RequireTLS || u.MaxSessions != 0 {
				t.Fatalf("back to local: %+v", u)
			}
		})
		t.Run("set and list quotas; --rescan-usage forgets the usage", func(t *testing.T) {
			mustUserCLI(t, "", "set", "alice", db, "--max-bytes", "10GiB", "--max-files", "-1")
			u, _ := s.Get(ctx, "alice")
			if u.Quota != (quota.Limits{MaxBytes: 10 << 30, MaxFiles: -1}) {
				t.Fatalf("quota: %+v", u.Quota)
			}
			if _, err := dbLogin(s, "alice", "changed"); err != nil { // scans the root
				t.Fatal(err)
			}
			out := mustUserCLI(t, "", "list", db)
			if !strings.Contains(out, "10GiB/unlimited files") || !strings.Contains(out, "0B/0 files") {
				t.Errorf("list does not show the quota and usage:\n%s", out)
			}
			if out := mustUserCLI(t, "", "list", "--json", db); !strings.Contains(out, `"max_bytes": 10737418240`) || !strings.Contains(out, `"used_files": 0`) {
				t.Errorf("list --json:\n%s", out)
			}
			mustUserCLI(t, "", "set", "alice", db, "--rescan-usage")
			if u, _ := s.Get(ctx, "alice"); u.UsageKnown {
				t.Error("usage still known after --rescan-usage")
			}
			for _, bad := range [][]string{{"--max-bytes", "lots"}, {"--max-files", "-2"}} {
				if code, _, _ := userCLI(t, "", append([]string{"set", "alice", db}, bad...)...); code == 0 {
					t.Errorf("%v was accepted", bad)
				}
			}
			mustUserCLI(t, "", "set", "alice", db, "--max-bytes", "0", "--max-files", "0")
		})
		t.Run("a disabled user is refused until enabled again", func(t *testing.T) {
			mustUserCLI(t, "", "set", "alice", db, "--disabled")
			if _, err := dbLogin(s, "alice", "changed"); !errors.Is(err, ftpserver.ErrAuthFailed) {
				t.Fatalf("disabled: %v", err)
			}
			mustUserCLI(t, "", "set", "alice", db, "--enabled")
			if _, err := dbLogin(s, "alice", "changed"); err != nil {
				t.Fatalf("enabled: %v", err)
			}
		})
		t.Run("del removes the user", func(t *testing.T) {
			mustUserCLI(t, "", "del", "bob", db)
			if _, err := s.Get(ctx, "bob"); !errors.Is(err, sqlstore.ErrNotFound) {
				t.Fatalf("Get = %v", err)
			}
		})
	})
}

func TestUserDatabaseSelection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "env.db")
	t.Setenv("FERRY_DB", path)
	t.Run("a missing SQLite file is an error, not a new database, except for add", func(t *testing.T) {
		code, _, errOut := userCLI(t, "", "list")
		if code != 1 || !strings.Contains(errOut, "does not exist") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("list created the database")
		}
	})
	t.Run("FERRY_DB selects the database and --db overrides it", func(t *testing.T) {
		_, _, errOut := userCLI(t, "pw\n", "add", "carol", "--root", dir, "--password-stdin")
		if !strings.Contains(errOut, "created user database") {
			t.Errorf("stderr %q", errOut)
		}
		if out := mustUserCLI(t, "", "list"); !strings.Contains(out, "carol") {
			t.Fatalf("list via FERRY_DB:\n%s", out)
		}
		other := filepath.Join(dir, "other.db")
		mustUserCLI(t, "pw\n", "add", "dave", "--db", other, "--root", dir, "--password-stdin")
		if out := mustUserCLI(t, "", "list", "--db", other); strings.Contains(out, "carol") || !strings.Contains(out, "dave") {
			t.Fatalf("list --db:\n%s", out)
		}
	})
}

// TestDatabaseUserLogsInOverFTP adds a user with the CLI and logs in over
// FTP twice: through a server using the store directly, and through
// `ferry serve --config` options with users_db next to a [[users]] entry.
func TestDatabaseUserLogsInOverFTP(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "files")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "ferry.db")
	mustUserCLI(t, "pw\n", "add", "erin", "--db", dbPath, "--root", root, "--password-stdin")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	transfer := func(t *testing.T, addr, user, pass, name string) {
		t.Helper()
		c, err := ftpclient.Dial(ctx, addr, ftpclient.Options{User: user, Password: pass})
		if err != nil {
			t.Fatalf("login as %s: %v", user, err)
		}
		defer c.Close()
		if _, err := c.Stor(ctx, name, 0, strings.NewReader("payload")); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := c.Retr(ctx, name, 0, &buf); err != nil || buf.String() != "payload" {
			t.Fatalf("Retr = %q, %v", buf.String(), err)
		}
		c.Quit(ctx)
	}

	t.Run("with the store as the authenticator", func(t *testing.T) {
		srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: openStore(t, dbPath)})
		transfer(t, srv.Addr, "erin", "pw", "a.txt")
		if _, err := ftpclient.Dial(ctx, srv.Addr, ftpclient.Options{User: "erin", Password: "wrong"}); err == nil {
			t.Fatal("a wrong password logged in")
		}
		if got, err := os.ReadFile(filepath.Join(root, "a.txt")); err != nil || string(got) != "payload" {
			t.Fatalf("file on disk: %q, %v", got, err)
		}
	})
	t.Run("with users_db in the config file beside [[users]]", func(t *testing.T) {
		hash := strings.TrimSpace(mustRun(t, "fileuser-pw\n", "passwd"))
		cfg := filepath.Join(dir, "ferry.toml")
		if err := os.WriteFile(cfg, []byte(`users_db = "ferry.db"
[[users]]
name = "frank"
password = "`+hash+`"
root = "files"
`), 0o644); err != nil {
			t.Fatal(err)
		}
		opts, closeFn, _, err := loadConfig(cfg, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeFn() }) // runs after the server's cleanup stops it
		srv := ftpservertest.Start(t, "", opts)
		transfer(t, srv.Addr, "erin", "pw", "b.txt")
		transfer(t, srv.Addr, "frank", "fileuser-pw", "c.txt")
		mustUserCLI(t, "", "set", "erin", "--db", dbPath, "--disabled")
		if _, err := ftpclient.Dial(ctx, srv.Addr, ftpclient.Options{User: "erin", Password: "pw"}); err == nil {
			t.Fatal("a disabled database user logged in")
		}
	})
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(args, strings.NewReader(stdin), &out, &errOut); code != 0 {
		t.Fatalf("ferry %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}
