package config

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/s3test"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/quota"
	"github.com/ferryftp/ferry/userstore/sqlstore"
	"github.com/minio/minio-go/v7"
)

func TestS3UserValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*User)
		want   string
	}{
		{"root and s3 together are refused", func(u *User) { u.S3 = &S3{Bucket: "b"} }, "set either root or [users.s3]"},
		{"a missing bucket is refused", func(u *User) { u.Root, u.S3 = "", &S3{} }, "users[0].s3.bucket"},
		{"bad credentials are refused", func(u *User) { u.Root, u.S3 = "", &S3{Bucket: "b", Credentials: "keys:abc"} }, "users[0].s3.credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.change(&c.Users[0])
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// roundTrip writes and reads a file through the identity's storage.
func roundTrip(t *testing.T, id *ftpserver.Identity, name string) {
	t.Helper()
	ctx := context.Background()
	w, err := id.FS.Create(ctx, name, storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "stored in S3")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := id.FS.Open(ctx, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "stored in S3" {
		t.Errorf("read back %q", b)
	}
}

func TestS3Users(t *testing.T) {
	s3 := s3test.Start(t)
	t.Setenv("TEST_S3_KEY", s3.AccessKey)
	t.Setenv("TEST_S3_SECRET", s3.SecretKey)
	table := &S3{Endpoint: s3.Endpoint, Bucket: s3.Bucket, Prefix: "cfg/", Credentials: "env:TEST_S3_KEY,TEST_S3_SECRET"}

	t.Run("a config-file user can keep files in S3", func(t *testing.T) {
		c := validConfig(t)
		c.Users[0].Root, c.Users[0].S3 = "", table
		opts, closeFn, err := c.ServerOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		id, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "alice", Password: "wonderland"})
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, id, "from-config.txt")
	})
	t.Run("readiness asks the S3 bucket of a config-file user", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			change func(*S3)
			want   string // "" for healthy
		}{
			{"the bucket answers", func(*S3) {}, ""},
			{"a bucket that does not exist", func(s *S3) { s.Bucket = "no-such-bucket" }, `bucket "no-such-bucket" does not exist`},
			{"an endpoint that is down", func(s *S3) { s.Endpoint = "http://127.0.0.1:1" }, "s3://"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := *table
				tc.change(&st)
				c := validConfig(t)
				c.Users[0].Root, c.Users[0].S3 = "", &st
				opts, closeFn, err := c.ServerOptions(nil)
				if err != nil {
					t.Fatal(err)
				}
				defer closeFn()
				hc, ok := opts.Auth.(ftpserver.HealthChecker)
				if !ok {
					t.Fatalf("%T has no CheckHealth", opts.Auth)
				}
				err = hc.CheckHealth(t.Context())
				switch {
				case tc.want == "" && err != nil:
					t.Fatalf("CheckHealth = %v", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Fatalf("CheckHealth = %v, want an error with %q", err, tc.want)
				}
			})
		}
	})
	t.Run("an S3 user's quota usage is scanned from the object listing at the first login", func(t *testing.T) {
		qt := *table
		qt.Prefix = "quota/"
		c := validConfig(t)
		c.Users[0].Root, c.Users[0].S3 = "", &qt
		c.Users[0].MaxBytes = 1000
		c.Limits.UserMaxFiles = 5
		status := func() quota.Status {
			t.Helper()
			opts, closeFn, err := c.ServerOptions(nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeFn() })
			id, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "alice", Password: "wonderland"})
			if err != nil {
				t.Fatal(err)
			}
			r, ok := id.FS.(quota.Reporter)
			if !ok {
				t.Fatal("the S3 user with a quota has no quota")
			}
			if st := r.QuotaStatus(); st.Used == (quota.Usage{}) {
				if err := id.FS.Mkdir(t.Context(), "sub"); err != nil {
					t.Fatal(err)
				}
				roundTrip(t, id, "sub/counted.txt")
			}
			return r.QuotaStatus()
		}
		if st := status(); st.Limits != (quota.Limits{MaxBytes: 1000, MaxFiles: 5}) || st.Used != (quota.Usage{Bytes: 12, Files: 1}) {
			t.Fatalf("after an upload: %+v", st)
		}
		// A new store (a restart) scans the bucket again.
		if st := status(); st.Used != (quota.Usage{Bytes: 12, Files: 1}) {
			t.Fatalf("scanned: %+v", st)
		}
	})
	t.Run("a database user can keep files in S3, and file users do not fall through to the database", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "users.db")
		db, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := table.spec()
		spec.Prefix = "db/"
		for _, u := range []sqlstore.User{
			{Name: "dbuser", PasswordHash: hashOf(t, "dbpw"), Storage: spec, Perms: ftpserver.PermAll},
			{Name: "alice", PasswordHash: hashOf(t, "other"), Storage: spec, Perms: ftpserver.PermAll},
		} {
			if err := db.Add(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		c := validConfig(t)
		c.UsersDB = dsn
		opts, closeFn, err := c.ServerOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		id, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "dbuser", Password: "dbpw"})
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, id, "from-db.txt")
		if _, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "alice", Password: "other"}); err == nil {
			t.Error("the database password of a config-file user was accepted")
		}
	})
}

func TestAnUnavailableBucketFailsOnlyItsUsersLogins(t *testing.T) {
	s3 := s3test.Start(t)
	t.Setenv("TEST_S3_KEY", s3.AccessKey)
	t.Setenv("TEST_S3_SECRET", s3.SecretKey)
	for _, tc := range []struct {
		name  string
		table *S3
		want  string // in the log line and the login error
	}{
		{"a bucket that does not exist", &S3{Endpoint: s3.Endpoint, Bucket: "no-such-bucket", Credentials: "env:TEST_S3_KEY,TEST_S3_SECRET"}, "no-such-bucket"},
		{"wrong credentials", &S3{Endpoint: s3.Endpoint, Bucket: s3.Bucket, Credentials: "env:TEST_S3_WRONG_KEY,TEST_S3_SECRET"}, "access key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TEST_S3_WRONG_KEY", "not-the-key")
			c := validConfig(t)
			bob := c.Users[0]
			bob.Name, bob.Root, bob.S3 = "carol", "", tc.table
			c.Users = append(c.Users, bob)
			var logs bytes.Buffer
			opts, closeFn, err := c.ServerOptions(slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("the server did not start because of one user's bucket: %v", err)
			}
			defer closeFn()
			if l := logs.String(); !strings.Contains(l, "S3 storage unavailable") || !strings.Contains(l, "user=carol") || !strings.Contains(l, tc.want) {
				t.Errorf("the start-up log does not name the user and the problem:\n%s", l)
			}
			if _, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "alice", Password: "wonderland"}); err != nil {
				t.Errorf("another user's login failed: %v", err)
			}
			_, err = opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "carol", Password: "wonderland"})
			if err == nil || errors.Is(err, ftpserver.ErrAuthFailed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the bucket's user logged in or got a wrong-password error: %v", err)
			}
			if _, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "carol", Password: "wrong"}); !errors.Is(err, ftpserver.ErrAuthFailed) {
				t.Errorf("a wrong password for the bucket's user got %v, want ErrAuthFailed", err)
			}
		})
	}
	t.Run("a bucket that appears later is opened at the next login", func(t *testing.T) {
		c := validConfig(t)
		c.Users[0].Root, c.Users[0].S3 = "", &S3{Endpoint: s3.Endpoint, Bucket: "late-bucket", Credentials: "env:TEST_S3_KEY,TEST_S3_SECRET"}
		opts, closeFn, err := c.ServerOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		if _, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "alice", Password: "wonderland"}); err == nil {
			t.Fatal("logged in to a bucket that does not exist")
		}
		mc, err := s3.Client()
		if err != nil {
			t.Fatal(err)
		}
		if err := mc.MakeBucket(t.Context(), "late-bucket", minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		id, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "alice", Password: "wonderland"})
		if err != nil {
			t.Fatalf("the login after the bucket appeared failed: %v", err)
		}
		roundTrip(t, id, "late.txt")
	})
}
