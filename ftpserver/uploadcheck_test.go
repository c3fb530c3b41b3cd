package ftpserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

func TestUploadCheckVetoes(t *testing.T) {
	var mu sync.Mutex
	var seen []ftpserver.UploadInfo
	check := func(ctx context.Context, u ftpserver.UploadInfo) error {
		mu.Lock()
		seen = append(seen, u)
		mu.Unlock()
		if u.Path == "/bad.txt" {
			return errors.New("infected")
		}
		return nil
	}
	rec := newRecorder()
	srv, fsys := newMemServer(t, ftpserver.Options{UploadCheck: check, Observer: rec.observer()}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")

	c.Stor("STOR", "good.txt", "fine")
	d := c.EPSV()
	c.Do(150, "STOR bad.txt")
	io.WriteString(d, "evil")
	d.Close()
	c.Expect(550)
	if _, err := fsys.ReadFile("bad.txt"); err == nil {
		t.Fatal("a rejected upload is still there")
	}
	if b, err := fsys.ReadFile("good.txt"); err != nil || string(b) != "fine" {
		t.Fatalf("the accepted upload: %q, %v", b, err)
	}
	c.Stor("STOR", "after.txt", "still fine") // the session goes on
	mu.Lock()
	if len(seen) != 3 || seen[0].Path != "/good.txt" || seen[0].Bytes != 4 || seen[0].User != "u" || seen[0].Verb != "STOR" {
		t.Fatalf("checks = %+v", seen)
	}
	mu.Unlock()
	x := find[ftpserver.TransferEvent](rec)
	if len(x) != 3 || x[0].Result != ftpserver.ResultOK || x[1].Result != ftpserver.ResultRejected || x[2].Result != ftpserver.ResultOK {
		t.Fatalf("transfer events = %+v", x)
	}
	c.Do(550, "SIZE bad.txt")
}

func TestUploadCheckTimesOut(t *testing.T) {
	check := func(ctx context.Context, u ftpserver.UploadInfo) error {
		<-ctx.Done()
		return ctx.Err()
	}
	srv, fsys := newMemServer(t, ftpserver.Options{UploadCheck: check, UploadCheckTimeout: 50e6}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	d := c.EPSV()
	c.Do(150, "STOR slow.txt")
	io.WriteString(d, "data")
	d.Close()
	c.Expect(550)
	if _, err := fsys.ReadFile("slow.txt"); err == nil {
		t.Fatal("an upload whose check timed out is still there")
	}
}

func TestFileOpLogoutAndDigestEvents(t *testing.T) {
	var mu sync.Mutex
	var ops []ftpserver.FileEvent
	var logouts []ftpserver.SessionEvent
	var xfers []ftpserver.TransferEvent
	obs := &ftpserver.Observer{
		FileOp:       func(e ftpserver.FileEvent) { mu.Lock(); ops = append(ops, e); mu.Unlock() },
		Logout:       func(e ftpserver.SessionEvent) { mu.Lock(); logouts = append(logouts, e); mu.Unlock() },
		TransferDone: func(e ftpserver.TransferEvent) { mu.Lock(); xfers = append(xfers, e); mu.Unlock() },
	}
	srv, _ := newMemServer(t, ftpserver.Options{Observer: obs}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Stor("STOR", "plain.txt", "no digest")
	c.Do(200, "OPTS HASH SHA-256")
	c.Stor("STOR", "h.txt", "hashed")
	c.Do(257, "MKD d")
	c.Do(350, "RNFR h.txt")
	c.Do(250, "RNTO d/h.txt")
	c.Do(250, "DELE d/h.txt")
	c.Do(250, "RMD d")
	c.Do(220, "REIN")
	mu.Lock()
	defer mu.Unlock()
	sum := sha256.Sum256([]byte("hashed"))
	if len(xfers) != 2 || xfers[0].SHA256 != "" || xfers[1].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("transfer events = %+v", xfers)
	}
	want := []ftpserver.FileEvent{{Op: "MKD", Path: "/d"}, {Op: "RNTO", Path: "/d/h.txt", From: "/h.txt"},
		{Op: "DELE", Path: "/d/h.txt"}, {Op: "RMD", Path: "/d"}}
	if len(ops) != len(want) {
		t.Fatalf("file events = %+v", ops)
	}
	for i, w := range want {
		if ops[i].Op != w.Op || ops[i].Path != w.Path || ops[i].From != w.From || ops[i].User != "u" {
			t.Fatalf("file event %d = %+v, want %+v", i, ops[i], w)
		}
	}
	if len(logouts) != 1 || logouts[0].User != "u" {
		t.Fatalf("logout events = %+v", logouts)
	}
}

func TestJoinObservers(t *testing.T) {
	if ftpserver.JoinObservers(nil, nil) != nil {
		t.Fatal("joining nothing is not nil")
	}
	var a, b int
	one := &ftpserver.Observer{Login: func(ftpserver.LoginEvent) { a++ }}
	two := &ftpserver.Observer{Login: func(ftpserver.LoginEvent) { b++ }, BanAdded: func(ftpserver.BanEvent) { b += 10 }}
	j := ftpserver.JoinObservers(one, nil, two)
	j.Login(ftpserver.LoginEvent{})
	j.BanAdded(ftpserver.BanEvent{})
	if a != 1 || b != 11 || j.TransferDone != nil {
		t.Fatalf("a=%d b=%d, TransferDone set: %v", a, b, j.TransferDone != nil)
	}
}

func TestUploadCheckOnLocalAtomicUploads(t *testing.T) {
	for _, atomic := range []bool{false, true} {
		root := t.TempDir()
		fsys, err := localfs.New(root, localfs.Options{Atomic: atomic})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fsys.Close() })
		check := func(ctx context.Context, u ftpserver.UploadInfo) error {
			// The check sees the complete file under its final name.
			b, err := os.ReadFile(root + u.Path)
			if err != nil || string(b) != "payload" {
				t.Errorf("atomic=%v: the check read %q, %v", atomic, b, err)
			}
			return errors.New("no")
		}
		srv := ftpservertest.Start(t, "", ftpserver.Options{UploadCheck: check, Auth: ftpservertest.Auth(
			ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		d := c.EPSV()
		c.Do(150, "STOR f.bin")
		io.WriteString(d, "payload")
		d.Close()
		c.Expect(550)
		if ents, err := os.ReadDir(root); err != nil || len(ents) != 0 {
			t.Fatalf("atomic=%v: the directory holds %v (%v) after the veto", atomic, ents, err)
		}
	}
}

func TestAPendingCheckHoldsOnlyItsOwnUpload(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	check := func(ctx context.Context, u ftpserver.UploadInfo) error {
		if u.Path == "/slow" {
			close(entered)
			<-release
		}
		return nil
	}
	srv, fsys := newMemServer(t, ftpserver.Options{UploadCheck: check}, nil)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before the server's Close, should the test fail
	a := ftpservertest.Dial(t, srv.Addr)
	a.Login("u", "p")
	d := a.EPSV()
	a.Do(150, "STOR slow")
	io.WriteString(d, "1")
	d.Close()
	<-entered
	b := ftpservertest.Dial(t, srv.Addr)
	b.Login("u", "p")
	b.Stor("STOR", "fast", "2") // 226 while the other check waits
	if got := b.Retr("fast"); got != "2" {
		t.Fatalf("RETR fast = %q", got)
	}
	a.Do(211, "STAT") // the waiting session still answers commands
	free()
	a.Expect(226)
	if _, err := fsys.ReadFile("slow"); err != nil {
		t.Fatal(err)
	}
}
