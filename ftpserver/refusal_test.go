package ftpserver_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/s3test"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/memfs"
	"github.com/ferryftp/ferry/storage/s3fs"
)

// refusalBackend is a storage backend under test, with a way to see every
// byte it holds (hidden temporary files included).
type refusalBackend struct {
	name string
	// open returns a fresh backend holding files, and its host folder
	// ("" for backends without one).
	open func(t *testing.T, files map[string]string) (storage.FS, string)
}

var refusalBackends = []refusalBackend{
	{"memfs", func(t *testing.T, files map[string]string) (storage.FS, string) {
		fsys := memfs.New()
		for name, data := range files {
			if err := fsys.MkdirAll(path.Dir(name)); err != nil {
				t.Fatal(err)
			}
			if err := fsys.WriteFile(name, []byte(data)); err != nil {
				t.Fatal(err)
			}
		}
		return fsys, ""
	}},
	{"localfs direct", func(t *testing.T, files map[string]string) (storage.FS, string) {
		return openLocal(t, files, false)
	}},
	{"localfs atomic", func(t *testing.T, files map[string]string) (storage.FS, string) {
		return openLocal(t, files, true)
	}},
	{"s3fs", func(t *testing.T, files map[string]string) (storage.FS, string) {
		srv := s3test.Start(t)
		fsys, err := s3fs.New(t.Context(), s3fs.Options{
			Endpoint: "http://" + srv.Endpoint, Bucket: srv.Bucket, Prefix: "refusal",
			AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PartSize: s3fs.MinPartSize,
		})
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if dir := path.Dir(name); dir != "." {
				if err := fsys.Mkdir(t.Context(), dir); err != nil && !errors.Is(err, fs.ErrExist) {
					t.Fatal(err)
				}
			}
			w, err := fsys.Create(t.Context(), name, storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, data)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return fsys, ""
	}},
}

func openLocal(t *testing.T, files map[string]string, atomic bool) (storage.FS, string) {
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := localfs.New(root, localfs.Options{Atomic: atomic})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys, root
}

// snapshot is every file a backend holds, with its bytes: through the FS
// and, for a backend with a host folder, every file in that folder
// (temporary upload files included).
func snapshot(t *testing.T, fsys storage.FS, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	if root != "" {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			got["host:"+filepath.ToSlash(rel)] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var walk func(dir string)
	walk = func(dir string) {
		entries, err := fsys.ReadDir(context.Background(), dir)
		if err != nil {
			t.Fatalf("ReadDir %s: %v", dir, err)
		}
		for _, e := range entries {
			name := path.Join(dir, e.Name())
			if e.IsDir() {
				got[name+"/"] = ""
				walk(name)
				continue
			}
			rc, err := fsys.Open(context.Background(), name, 0)
			if err != nil {
				t.Fatalf("Open %s: %v", name, err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			got[name] = string(b)
		}
	}
	walk(".")
	return got
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if w, ok := after[k]; !ok {
			t.Errorf("%s is gone", k)
		} else if w != v {
			t.Errorf("%s changed: %q, was %q", k, w, v)
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s appeared (%q)", k, v)
		}
	}
}

// refusedUpload is one way an upload can be refused before its data
// connection is up. run sends the commands and checks the replies.
type refusedUpload struct {
	name  string
	user  string // "u" when empty
	tls   bool   // over FTPS with PROT P required, after PBSZ 0
	protP bool   // send PROT P first
	run   func(t *testing.T, c *ftpservertest.Client)
}

// expectRefused reads replies until a final one and checks that it is a
// refusal (4xx/5xx), allowing a 150 first.
func expectRefused(t *testing.T, c *ftpservertest.Client) int {
	t.Helper()
	code, msg := c.Read()
	if code == ftp.CodeFileStatusOK {
		code, msg = c.Read()
	}
	if code < 400 {
		t.Fatalf("got %d %q, want a refusal", code, msg)
	}
	return code
}

// clientTLSNoResume is a client TLS config with its own, empty session
// cache: its data connections cannot resume the control connection's session.
func clientTLSNoResume() *tls.Config { return clientTLS(0) }

var refusedUploads = []refusedUpload{
	{name: "STOR without PORT or PASV answers 425", run: func(t *testing.T, c *ftpservertest.Client) {
		c.Do(ftp.CodeCantOpenData, "STOR keep.txt")
	}},
	{name: "APPE without PORT or PASV answers 425", run: func(t *testing.T, c *ftpservertest.Client) {
		c.Do(ftp.CodeCantOpenData, "APPE keep.txt")
	}},
	{name: "STOU without PORT or PASV answers 425 and leaves no file", run: func(t *testing.T, c *ftpservertest.Client) {
		c.Do(ftp.CodeCantOpenData, "STOU")
		c.Do(ftp.CodeCantOpenData, "STOU new")
	}},
	{name: "REST then STOR without PORT or PASV answers 425", run: func(t *testing.T, c *ftpservertest.Client) {
		c.Do(ftp.CodePending, "REST 3")
		c.Do(ftp.CodeCantOpenData, "STOR keep.txt")
	}},
	{name: "REST past the end then STOR answers 554", run: func(t *testing.T, c *ftpservertest.Client) {
		c.Do(ftp.CodePending, "REST 1000")
		d := c.EPSV()
		defer d.Close()
		c.Send("STOR keep.txt")
		if code := expectRefused(t, c); code != ftp.CodeInvalidRestart {
			t.Errorf("got %d, want 554", code)
		}
	}},
	{name: "a passive port nobody connects to times out with 425", run: func(t *testing.T, c *ftpservertest.Client) {
		c.Do(ftp.CodeExtendedPassive, "EPSV")
		c.Send("STOR keep.txt")
		if code := expectRefused(t, c); code != ftp.CodeCantOpenData {
			t.Errorf("got %d, want 425", code)
		}
	}},
	{name: "a foreign data peer's bytes do not land and the upload times out", run: func(t *testing.T, c *ftpservertest.Client) {
		port, err := ftp.ParseEPSVReply(c.Do(ftp.CodeExtendedPassive, "EPSV"))
		if err != nil {
			t.Fatal(err)
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		thief, err := d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
		if err != nil {
			t.Fatal(err)
		}
		defer thief.Close()
		c.Send("STOR keep.txt")
		io.WriteString(thief, "stolen")
		if code := expectRefused(t, c); code != ftp.CodeCantOpenData {
			t.Errorf("got %d, want 425", code)
		}
	}},
	{name: "ABOR before the data connection opens", run: func(t *testing.T, c *ftpservertest.Client) {
		c.Do(ftp.CodeExtendedPassive, "EPSV")
		c.Send("STOR keep.txt")
		c.Send("ABOR")
		expectRefused(t, c)
		c.Expect(ftp.CodeClosingData)
	}},
	{name: "an active connection that is refused answers 425", run: func(t *testing.T, c *ftpservertest.Client) {
		l := activeListener(t, "127.0.0.1:0")
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		c.Do(ftp.CodeOK, "EPRT |1|127.0.0.1|%d|", port)
		c.Send("STOR keep.txt")
		if code := expectRefused(t, c); code != ftp.CodeCantOpenData {
			t.Errorf("got %d, want 425", code)
		}
	}},
	{name: "a read-only user's uploads answer 550", user: "ro", run: func(t *testing.T, c *ftpservertest.Client) {
		d := c.EPSV()
		defer d.Close()
		c.Do(ftp.CodeFileUnavailable, "STOR keep.txt")
		c.Do(ftp.CodeFileUnavailable, "STOU")
		c.Do(ftp.CodeFileUnavailable, "APPE keep.txt")
	}},
	{name: "a clear data connection when PROT P is required answers 521", tls: true, run: func(t *testing.T, c *ftpservertest.Client) {
		c.Do(ftp.CodeProtectionDenied, "PROT C")
		d := c.EPSV()
		defer d.Close()
		c.Do(ftp.CodeProtectionRequired, "STOR keep.txt")
	}},
	{name: "a data connection that fails its TLS handshake", tls: true, protP: true, run: func(t *testing.T, c *ftpservertest.Client) {
		d := c.EPSV()
		defer d.Close()
		c.Send("STOR keep.txt")
		io.WriteString(d, "this is not a TLS ClientHello\r\n\r\n")
		expectRefused(t, c)
	}},
	{name: "a data connection that does not resume the TLS session", tls: true, protP: true, run: func(t *testing.T, c *ftpservertest.Client) {
		d := c.EPSV()
		defer d.Close()
		c.Send("STOR keep.txt")
		go func() {
			tc := tls.Client(d, clientTLSNoResume())
			if tc.Handshake() == nil {
				io.WriteString(tc, "unresumed")
				tc.Close()
			}
		}()
		expectRefused(t, c)
	}},
}

// TestRefusedUploadsChangeNothing holds every backend to the rule that an
// upload refused before its data connection is up leaves storage exactly
// as it was: the target's bytes, and no new or temporary file.
func TestRefusedUploadsChangeNothing(t *testing.T) {
	files := map[string]string{"keep.txt": "original bytes", "dir/other.txt": "other"}
	for _, b := range refusalBackends {
		t.Run(b.name, func(t *testing.T) {
			fsys, root := b.open(t, files)
			before := snapshot(t, fsys, root)
			if len(before) < 3 {
				t.Fatalf("snapshot too small: %v", before)
			}
			opts := ftpserver.Options{DataTimeout: 500 * time.Millisecond}
			opts.Auth = ftpservertest.Auth(
				ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll},
				ftpservertest.User{Name: "ro", Password: "p", FS: fsys, Perms: ftpserver.PermReadOnly},
			)
			plain := ftpservertest.Start(t, "", opts)
			tlsOpts := opts
			tlsOpts.TLS = &tls.Config{Certificates: []tls.Certificate{testCert.TLS}}
			tlsOpts.RequireProtP = ftpserver.ProtRequired
			secure := ftpservertest.Start(t, "", tlsOpts)
			for _, r := range refusedUploads {
				t.Run(r.name, func(t *testing.T) {
					user := r.user
					if user == "" {
						user = "u"
					}
					var c *ftpservertest.Client
					if r.tls {
						c = ftpservertest.Dial(t, secure.Addr)
						c.StartTLS(clientTLS(0))
						c.Login(user, "p")
						c.Do(ftp.CodeOK, "PBSZ 0")
						if r.protP {
							c.Do(ftp.CodeOK, "PROT P")
						}
					} else {
						c = ftpservertest.Dial(t, plain.Addr)
						c.Login(user, "p")
					}
					r.run(t, c)
					// The session still works, and nothing changed.
					c.Do(ftp.CodeOK, "NOOP")
					sameSnapshot(t, before, snapshot(t, fsys, root))
				})
			}
			t.Run("an accepted upload still works afterwards", func(t *testing.T) {
				c := ftpservertest.Dial(t, plain.Addr)
				c.Login("u", "p")
				c.Stor("STOR", "keep.txt", "new bytes")
				if got := c.Retr("keep.txt"); got != "new bytes" {
					t.Errorf("got %q", got)
				}
			})
		})
	}
}
