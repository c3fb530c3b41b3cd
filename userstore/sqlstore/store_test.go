package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/pgtest"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
	"github.com/ferryftp/ferry/userstore"
)

// hashes are made once: argon2id is slow under the race detector.
var (
	hashOnce sync.Once
	hashes   map[string]string
)

func hash(t testing.TB, pw string) string {
	t.Helper()
	hashOnce.Do(func() {
		hashes = map[string]string{}
		for _, p := range []string{"secret", "new-secret"} {
			h, err := password.Hash(p)
			if err != nil {
				panic(err)
			}
			hashes[p] = h
		}
	})
	h, ok := hashes[pw]
	if !ok {
		t.Fatalf("no precomputed hash for %q", pw)
	}
	return h
}

// backend is a database the tests run against: newDSN returns an empty one.
type backend struct {
	name   string
	newDSN func(t *testing.T) string
}

// forEachBackend runs fn against SQLite and, when it is installed (or
// FERRY_REQUIRE_POSTGRES=1), PostgreSQL.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, backend{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "ferry.db") }})
	})
	t.Run("postgres", func(t *testing.T) {
		c := pgtest.Start(t)
		fn(t, backend{"postgres", func(t *testing.T) string { return c.NewDatabase(t) }})
	})
}

func open(t *testing.T, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, opts)
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

func login(s *Store, user, pass string) (*ftpserver.Identity, error) {
	return s.Authenticate(context.Background(), ftpserver.LoginInfo{User: user, Password: pass})
}

func TestStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dsn := b.newDSN(t)
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hi"), 0o644); err != nil {
			t.Fatal(err)
		}
		built := 0
		factory := func(ctx context.Context, spec userstore.StorageSpec) (storage.FS, error) {
			built++
			if spec.Bucket != "media" || spec.Credentials.AccessKeyEnv != "AK" {
				t.Errorf("factory got %+v", spec)
			}
			return memfs.New(), nil
		}
		a := open(t, dsn, Options{StorageFactory: factory, MaxConcurrentChecks: 2})
		b2 := open(t, dsn, Options{}) // a second node: no S3

		creds, _ := userstore.ParseCredentials("env:AK,SK")
		users := []User{
			{Name: "alice", PasswordHash: hash(t, "secret"), Storage: userstore.StorageSpec{Root: root},
				Perms: ftpserver.PermAll, MaxSessions: 3, RequireTLS: true, Rates: ftpserver.Rates{Upload: 1 << 20, Download: 5 << 20}},
			{Name: "bob", PasswordHash: hash(t, "secret"), Storage: userstore.StorageSpec{Root: root}},
			{Name: "carol", PasswordHash: hash(t, "secret"), Disabled: true, Storage: userstore.StorageSpec{Root: root}},
			{Name: "s3user", PasswordHash: hash(t, "secret"), Storage: userstore.StorageSpec{Kind: userstore.StorageS3,
				Endpoint: "http://127.0.0.1:9000", Bucket: "media", Prefix: "u/", Region: "us-east-1", Credentials: creds},
				Perms: ftpserver.PermReadOnly | ftpserver.PermWrite},
		}
		for _, u := range users {
			if err := a.Add(ctx, u); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("a name that is taken is refused", func(t *testing.T) {
			if err := b2.Add(ctx, users[0]); !errors.Is(err, ErrExists) {
				t.Fatalf("Add = %v, want ErrExists", err)
			}
		})
		t.Run("list returns every user by name with what was stored", func(t *testing.T) {
			got, err := b2.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 4 || got[0].Name != "alice" || got[3].Name != "s3user" {
				t.Fatalf("List = %+v", got)
			}
			al := got[0]
			if al.Perms != ftpserver.PermAll || al.MaxSessions != 3 || !al.RequireTLS || al.Disabled || al.Rates != (ftpserver.Rates{Upload: 1 << 20, Download: 5 << 20}) ||
				al.Storage.Kind != userstore.StorageLocal || al.Storage.Root != root || al.Created.IsZero() || !al.Created.Equal(al.Updated) {
				t.Fatalf("alice = %+v", al)
			}
			if got[1].Perms != ftpserver.PermReadOnly {
				t.Fatalf("a user added without perms got %v, want read-only", got[1].Perms)
			}
			if !got[2].Disabled {
				t.Fatal("carol is not disabled")
			}
			s3 := got[3].Storage
			if s3 != users[3].Storage || s3.Credentials.String() != "env:AK,SK" {
				t.Fatalf("s3user storage = %+v", s3)
			}
		})
		t.Run("logins", func(t *testing.T) {
			for _, tc := range []struct {
				name, user, pass string
				ok               bool
			}{
				{"the right password logs in", "alice", "secret", true},
				{"a wrong password is refused", "alice", "Secret", false},
				{"a name is matched case-sensitively", "Alice", "secret", false},
				{"an unknown user is refused", "mallory", "secret", false},
				{"a disabled user is refused like a wrong password", "carol", "secret", false},
				{"a name that cannot exist is refused", "a b", "secret", false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					id, err := login(a, tc.user, tc.pass)
					if !tc.ok {
						if !errors.Is(err, ftpserver.ErrAuthFailed) || id != nil {
							t.Fatalf("Authenticate = %v, %v; want ErrAuthFailed", id, err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if id.User != "alice" || id.Perms != ftpserver.PermAll || id.MaxSessions != 3 || !id.RequireTLS || id.Anonymous ||
						id.Rates != (ftpserver.Rates{Upload: 1 << 20, Download: 5 << 20}) {
						t.Fatalf("identity = %+v", id)
					}
					fi, err := id.FS.Stat(ctx, "hello.txt")
					if err != nil || fi.Size() != 2 {
						t.Fatalf("Stat(hello.txt) = %v, %v", fi, err)
					}
				})
			}
		})
		t.Run("users with the same root share one file system", func(t *testing.T) {
			x, err1 := login(a, "alice", "secret")
			y, err2 := login(a, "bob", "secret")
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if x.FS != y.FS {
				t.Fatal("different file systems for one root")
			}
		})
		t.Run("an S3 user gets the factory's file system, built once", func(t *testing.T) {
			for range 2 {
				id, err := login(a, "s3user", "secret")
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := id.FS.(*memfs.FS); !ok || id.Perms != ftpserver.PermReadOnly|ftpserver.PermWrite {
					t.Fatalf("identity = %+v", id)
				}
			}
			if built != 1 {
				t.Fatalf("factory called %d times, want 1", built)
			}
		})
		t.Run("an S3 user on a node without a factory gets an error, not a refusal", func(t *testing.T) {
			_, err := login(b2, "s3user", "secret")
			if err == nil || errors.Is(err, ftpserver.ErrAuthFailed) || !strings.Contains(err.Error(), "no storage factory") {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a change through one store is seen at the next login through another", func(t *testing.T) {
			if _, err := login(b2, "bob", "secret"); err != nil {
				t.Fatal(err)
			}
			if err := a.SetPassword(ctx, "bob", hash(t, "new-secret")); err != nil {
				t.Fatal(err)
			}
			if _, err := login(b2, "bob", "secret"); !errors.Is(err, ftpserver.ErrAuthFailed) {
				t.Fatalf("old password: %v", err)
			}
			if _, err := login(b2, "bob", "new-secret"); err != nil {
				t.Fatalf("new password: %v", err)
			}
			if err := a.Update(ctx, "bob", func(u *User) error { u.Disabled = true; return nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := login(b2, "bob", "new-secret"); !errors.Is(err, ftpserver.ErrAuthFailed) {
				t.Fatalf("disabled: %v", err)
			}
			if err := b2.Update(ctx, "bob", func(u *User) error {
				u.Disabled, u.Perms = false, ftpserver.PermList
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if id, err := login(a, "bob", "new-secret"); err != nil || id.Perms != ftpserver.PermList {
				t.Fatalf("re-enabled: %v, %v", id, err)
			}
			if err := a.Delete(ctx, "bob"); err != nil {
				t.Fatal(err)
			}
			if _, err := login(b2, "bob", "new-secret"); !errors.Is(err, ftpserver.ErrAuthFailed) {
				t.Fatalf("deleted: %v", err)
			}
		})
		t.Run("updates keep the creation time and move the update time", func(t *testing.T) {
			before, _ := a.Get(ctx, "alice")
			if err := a.Update(ctx, "alice", func(u *User) error { u.MaxSessions = 5; u.Rates.Download = 0; return nil }); err != nil {
				t.Fatal(err)
			}
			after, err := a.Get(ctx, "alice")
			if err != nil || after.MaxSessions != 5 || after.Rates != (ftpserver.Rates{Upload: 1 << 20}) ||
				!after.Created.Equal(before.Created) || !after.Updated.After(before.Updated) {
				t.Fatalf("before %+v after %+v (%v)", before, after, err)
			}
		})
		t.Run("missing users are reported", func(t *testing.T) {
			if _, err := a.Get(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get = %v", err)
			}
			if err := a.Delete(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete = %v", err)
			}
			if err := a.SetPassword(ctx, "nobody", hash(t, "secret")); !errors.Is(err, ErrNotFound) {
				t.Errorf("SetPassword = %v", err)
			}
		})
		t.Run("an invalid update changes nothing", func(t *testing.T) {
			err := a.Update(ctx, "alice", func(u *User) error {
				u.MaxSessions = 9
				u.Storage = userstore.StorageSpec{Kind: userstore.StorageS3} // no bucket
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), "needs a bucket") {
				t.Fatalf("Update = %v", err)
			}
			if u, _ := a.Get(ctx, "alice"); u.MaxSessions != 5 || u.Storage.Root != root {
				t.Fatalf("alice changed: %+v", u)
			}
		})
		t.Run("reopening does not migrate again", func(t *testing.T) {
			c := open(t, dsn, Options{})
			if got, err := c.List(ctx); err != nil || len(got) != 3 {
				t.Fatalf("List = %d users, %v", len(got), err)
			}
			var n int
			if err := c.db.QueryRow("SELECT COUNT(*) FROM ferry_schema_migrations").Scan(&n); err != nil || n != SchemaVersion() {
				t.Fatalf("%d migrations recorded (%v), want %d", n, err, SchemaVersion())
			}
		})
		if b.name == "postgres" {
			t.Run("nodes starting at once on a new database both migrate safely", func(t *testing.T) {
				dsn := b.newDSN(t)
				errs := make(chan error, 4)
				for range 4 {
					go func() {
						s, err := Open(ctx, dsn, Options{})
						if err == nil {
							err = s.Close()
						}
						errs <- err
					}()
				}
				for range 4 {
					if err := <-errs; err != nil {
						t.Error(err)
					}
				}
			})
		}
	})
}

func TestUserValidation(t *testing.T) {
	h := hash(t, "secret")
	for _, tc := range []struct {
		name string
		u    User
		want string
	}{
		{"a name with a space", User{Name: "a b", PasswordHash: h, Storage: userstore.StorageSpec{Root: "/srv"}}, "contains a space"},
		{"a malformed hash", User{Name: "u", PasswordHash: "secret", Storage: userstore.StorageSpec{Root: "/srv"}}, "password hash"},
		{"no storage", User{Name: "u", PasswordHash: h}, "no storage"},
		{"a relative root", User{Name: "u", PasswordHash: h, Storage: userstore.StorageSpec{Root: "srv"}}, "not an absolute path"},
		{"a local root with S3 settings", User{Name: "u", PasswordHash: h, Storage: userstore.StorageSpec{Root: "/srv", Bucket: "b"}}, "cannot have S3 settings"},
		{"S3 without a bucket", User{Name: "u", PasswordHash: h, Storage: userstore.StorageSpec{Kind: userstore.StorageS3}}, "needs a bucket"},
		{"S3 with a root", User{Name: "u", PasswordHash: h, Storage: userstore.StorageSpec{Kind: userstore.StorageS3, Bucket: "b", Root: "/x"}}, "cannot have a local root"},
		{"an unknown storage kind", User{Name: "u", PasswordHash: h, Storage: userstore.StorageSpec{Kind: "ftp", Root: "/x"}}, "unknown storage kind"},
		{"negative max sessions", User{Name: "u", PasswordHash: h, MaxSessions: -1, Storage: userstore.StorageSpec{Root: "/srv"}}, "negative"},
		{"negative rate", User{Name: "u", PasswordHash: h, Rates: ftpserver.Rates{Download: -1}, Storage: userstore.StorageSpec{Root: "/srv"}}, "negative"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			err := tc.u.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseCredentials(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want userstore.Credentials
		err  bool
	}{
		{"", userstore.Credentials{}, false},
		{"env:AK,SK", userstore.Credentials{AccessKeyEnv: "AK", SecretKeyEnv: "SK"}, false},
		{"env:AK,SK,TOK", userstore.Credentials{AccessKeyEnv: "AK", SecretKeyEnv: "SK", SessionTokenEnv: "TOK"}, false},
		{"profile:backup", userstore.Credentials{Profile: "backup"}, false},
		{"env:AK", userstore.Credentials{}, true},
		{"env:AK,1SK", userstore.Credentials{}, true},
		{"env:AK,SK,T,X", userstore.Credentials{}, true},
		{"profile:", userstore.Credentials{}, true},
		{"profile:a b", userstore.Credentials{}, true},
		{"AKIAXXXX:secret", userstore.Credentials{}, true},
	} {
		got, err := userstore.ParseCredentials(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("userstore.ParseCredentials(%q) = %+v, %v", tc.in, got, err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("String() = %q, want %q", got.String(), tc.in)
		}
	}
}

func TestCredentialsFromEnvNamesTheMissingVariable(t *testing.T) {
	t.Setenv("FERRY_TEST_AK", "ak")
	t.Setenv("FERRY_TEST_SK", "")
	c := userstore.Credentials{AccessKeyEnv: "FERRY_TEST_AK", SecretKeyEnv: "FERRY_TEST_SK"}
	if _, _, _, err := c.FromEnv(); err == nil || !strings.Contains(err.Error(), "FERRY_TEST_SK is not set") {
		t.Fatalf("FromEnv = %v", err)
	}
	t.Setenv("FERRY_TEST_SK", "sk")
	if ak, sk, tok, err := c.FromEnv(); ak != "ak" || sk != "sk" || tok != "" || err != nil {
		t.Fatalf("FromEnv = %q %q %q %v", ak, sk, tok, err)
	}
}

func TestSQLiteDetails(t *testing.T) {
	dir := t.TempDir()
	t.Run("a new database file is private to its owner", func(t *testing.T) {
		path := filepath.Join(dir, "new.db")
		open(t, path, Options{})
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode = %v, %v", fi.Mode(), err)
		}
	})
	t.Run("MustExist refuses a missing file and creates nothing", func(t *testing.T) {
		path := filepath.Join(dir, "missing.db")
		if _, err := Open(context.Background(), path, Options{MustExist: true}); !errors.Is(err, ErrNoDatabase) {
			t.Fatalf("Open = %v", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("the file was created")
		}
	})
	t.Run("a version 1 database is upgraded and keeps its users", func(t *testing.T) {
		path := filepath.Join(dir, "v1.db")
		v1 := open(t, path, Options{})
		// Undo migrations 3 and 2, as a database made by an older ferry has it.
		for _, q := range []string{
			"ALTER TABLE ferry_users DROP COLUMN max_bytes",
			"ALTER TABLE ferry_users DROP COLUMN max_files",
			"ALTER TABLE ferry_users DROP COLUMN used_bytes",
			"ALTER TABLE ferry_users DROP COLUMN used_files",
			"ALTER TABLE ferry_users DROP COLUMN usage_known",
			"ALTER TABLE ferry_users DROP COLUMN upload_rate",
			"ALTER TABLE ferry_users DROP COLUMN download_rate",
			"DELETE FROM ferry_schema_migrations WHERE version > 1",
			`INSERT INTO ferry_users (name, password_hash, root, created_at, updated_at)
				VALUES ('old', '` + mustHash(t) + `', '/srv/old', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		} {
			if _, err := v1.db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		v1.Close()
		s := open(t, path, Options{})
		u, err := s.Get(t.Context(), "old")
		if err != nil || u.Rates != (ftpserver.Rates{}) || u.Storage.Root != "/srv/old" {
			t.Fatalf("after the upgrade: %+v, %v", u, err)
		}
		if err := s.Update(t.Context(), "old", func(u *User) error { u.Rates.Upload = 4096; return nil }); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.Get(t.Context(), "old"); u.Rates.Upload != 4096 {
			t.Errorf("upload rate after Update: %d", u.Rates.Upload)
		}
	})
	t.Run("a path with URI characters is a plain file name", func(t *testing.T) {
		path := filepath.Join(dir, "we?ird#name%.db")
		open(t, path, Options{})
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a schema newer than this build is refused", func(t *testing.T) {
		path := filepath.Join(dir, "future.db")
		s := open(t, path, Options{})
		if _, err := s.db.Exec("INSERT INTO ferry_schema_migrations (version, name, applied_at) VALUES (99, 'x', CURRENT_TIMESTAMP)"); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(context.Background(), path, Options{}); err == nil || !strings.Contains(err.Error(), "newer than this ferry") {
			t.Fatalf("Open = %v", err)
		}
	})
}

func TestRedactHidesPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:hunter2@db/ferry":          "postgres://u:xxxxx@db/ferry",
		"postgres://u@db/ferry?password=hunter2": "postgres://u@db/ferry?password=xxxxx",
		"ferry.db":                               "ferry.db",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	s := &Store{dialect: postgres}
	if got := s.q("SELECT a FROM t WHERE b = ? AND c = ?"); got != "SELECT a FROM t WHERE b = $1 AND c = $2" {
		t.Fatal(got)
	}
}

func mustHash(t *testing.T) string {
	h, err := password.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	return h
}
