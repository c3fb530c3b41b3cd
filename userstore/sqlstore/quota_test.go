package sqlstore

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/quota"
	"github.com/ferryftp/ferry/userstore"
)

func upload(t *testing.T, fsys storage.FS, name, data string) {
	t.Helper()
	w, err := fsys.Create(context.Background(), name, storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestQuotaUsageIsSharedThroughTheDatabase runs two stores on one database,
// as two server nodes, and checks that the usage they keep adds up there.
func TestQuotaUsageIsSharedThroughTheDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "old"), make([]byte, 40), 0o644); err != nil {
			t.Fatal(err)
		}
		opts := Options{DefaultQuota: quota.Limits{MaxFiles: 50}}
		nodeA, nodeB := open(t, dsn, opts), open(t, dsn, opts)
		spec := userstore.StorageSpec{Root: root}
		for _, u := range []User{
			{Name: "q", PasswordHash: hash(t, "secret"), Storage: spec, Perms: ftpserver.PermAll, Quota: quota.Limits{MaxBytes: 100}},
			{Name: "exempt", PasswordHash: hash(t, "secret"), Storage: spec, Quota: quota.Limits{MaxFiles: -1}},
		} {
			if err := nodeA.Add(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}
		stored := func(want quota.Usage) {
			t.Helper()
			u, err := nodeA.Get(t.Context(), "q")
			if err != nil || !u.UsageKnown || u.Usage != want {
				t.Fatalf("stored usage %+v (known %v), %v; want %+v", u.Usage, u.UsageKnown, err, want)
			}
		}

		idA, err := login(nodeA, "q", "secret")
		if err != nil {
			t.Fatal(err)
		}
		st := idA.FS.(quota.Reporter).QuotaStatus()
		if st.Limits != (quota.Limits{MaxBytes: 100, MaxFiles: 50}) || st.Used != (quota.Usage{Bytes: 40, Files: 1}) {
			t.Fatalf("first login: %+v", st)
		}
		stored(quota.Usage{Bytes: 40, Files: 1})

		upload(t, idA.FS, "a", "0123456789")
		stored(quota.Usage{Bytes: 50, Files: 2})

		idB, err := login(nodeB, "q", "secret")
		if err != nil {
			t.Fatal(err)
		}
		if got := idB.FS.(quota.Reporter).QuotaStatus().Used; got != (quota.Usage{Bytes: 50, Files: 2}) {
			t.Fatalf("node B reads %+v", got)
		}
		upload(t, idB.FS, "b", "01234567890123456789")
		stored(quota.Usage{Bytes: 70, Files: 3})
		if err := idB.FS.Remove(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		stored(quota.Usage{Bytes: 60, Files: 2})

		// An edit of the user keeps the usage the servers keep.
		if err := nodeA.Update(t.Context(), "q", func(u *User) error { u.Quota.MaxBytes = 61; return nil }); err != nil {
			t.Fatal(err)
		}
		stored(quota.Usage{Bytes: 60, Files: 2})
		idA, err = login(nodeA, "q", "secret")
		if err != nil {
			t.Fatal(err)
		}
		if err := idA.FS.(quota.Reporter).CheckAllocate(2); err == nil {
			t.Error("node A allowed 2 bytes with 1 left after the other node's changes")
		}

		if err := nodeA.Rescan(t.Context(), "q"); err != nil {
			t.Fatal(err)
		}
		if u, _ := nodeA.Get(t.Context(), "q"); u.UsageKnown {
			t.Error("usage still known after Rescan")
		}
		if _, err := login(nodeB, "q", "secret"); err != nil {
			t.Fatal(err)
		}
		stored(quota.Usage{Bytes: 60, Files: 2})

		ex, err := login(nodeA, "exempt", "secret")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ex.FS.(quota.Reporter); ok {
			t.Error("a user with max_files -1 and no byte quota got a quota")
		}
		if err := nodeA.Rescan(t.Context(), "nobody"); err == nil {
			t.Error("Rescan of an unknown user succeeded")
		}
	})
}
