package userstore

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/quota"
)

func TestQuotaIsScannedAtFirstLoginAndSharedBySessions(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"a": 10, "sub/b": 20} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	anonDir := t.TempDir()
	s := newStore(t, []User{
		{Name: "q", PasswordHash: mustHash(t, "p"), Root: dir, Quota: quota.Limits{MaxBytes: 40, MaxFiles: 5}},
		{Name: "free", PasswordHash: mustHash(t, "p"), Root: dir},
	}, &Anonymous{Root: anonDir, Quota: quota.Limits{MaxFiles: 1}})

	id1, err := login(s, "q", "p")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := login(s, "q", "p")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := id1.FS.(quota.Reporter)
	if !ok {
		t.Fatal("the FS of a user with a quota is not a quota.Reporter")
	}
	if got := r.QuotaStatus().Used; got != (quota.Usage{Bytes: 30, Files: 2}) {
		t.Fatalf("scanned usage %+v, want 30 bytes in 2 files", got)
	}
	// A write through the second session is seen by the first.
	w, err := id2.FS.Create(context.Background(), "c", storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "12345"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := r.QuotaStatus().Used; got != (quota.Usage{Bytes: 35, Files: 3}) {
		t.Fatalf("usage after a 5-byte upload in another session %+v", got)
	}
	if err := r.CheckAllocate(6); err != quota.ErrBytesExceeded {
		t.Fatalf("CheckAllocate(6) with 5 bytes free = %v", err)
	}

	free, err := login(s, "free", "p")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := free.FS.(quota.Reporter); ok {
		t.Error("a user without a quota got a quota wrapper")
	}
	anon, err := login(s, "anonymous", "x@y")
	if err != nil {
		t.Fatal(err)
	}
	if st := anon.FS.(quota.Reporter).QuotaStatus(); st.MaxFiles != 1 || st.Used != (quota.Usage{}) {
		t.Errorf("anonymous quota %+v", st)
	}
}

func TestSessionsOfAUserShareOneQuotaFS(t *testing.T) {
	s := newStore(t, []User{{Name: "q", PasswordHash: mustHash(t, "p"), Root: t.TempDir(), Quota: quota.Limits{MaxFiles: 3}}}, nil)
	a, err := login(s, "q", "p")
	if err != nil {
		t.Fatal(err)
	}
	b, err := login(s, "q", "p")
	if err != nil {
		t.Fatal(err)
	}
	if a.FS != b.FS {
		t.Error("two logins of one user got different file systems (the hash cache would not be shared)")
	}
}
