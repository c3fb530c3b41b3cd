package ftpserver_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

func TestSymlinksCannotLeaveTheRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(root, "sub", "ok.txt"), []byte("fine"), 0o644)
	for link, target := range map[string]string{
		"etc":      "/etc",
		"up":       "../outside",
		"abs":      outside,
		"passwd":   "/etc/passwd",
		"inside":   "sub",
		"okfile":   "sub/ok.txt",
		"sub/back": "../../outside/secret.txt",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := localfs.New(root, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: ftpservertest.Auth(
		ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")

	for _, p := range []string{"etc/passwd", "passwd", "up/secret.txt", "abs/secret.txt", "sub/back", "../outside/secret.txt"} {
		t.Run("RETR "+p+" is refused", func(t *testing.T) {
			d := c.EPSV()
			defer d.Close()
			c.Do(550, "RETR %s", p)
		})
	}
	for _, p := range []string{"etc", "up", "abs"} {
		t.Run("CWD and LIST into "+p+" are refused", func(t *testing.T) {
			c.Do(550, "CWD %s", p)
			d := c.EPSV()
			defer d.Close()
			c.Do(550, "LIST %s", p)
		})
	}
	t.Run("STOR through a link to outside is refused", func(t *testing.T) {
		d := c.EPSV()
		defer d.Close()
		c.Do(550, "STOR up/new.txt")
		if _, err := os.Stat(filepath.Join(outside, "new.txt")); err == nil {
			t.Error("a file was written outside the root")
		}
	})
	t.Run("links that stay inside work", func(t *testing.T) {
		if got := c.Retr("okfile"); got != "fine" {
			t.Errorf("got %q", got)
		}
		c.Do(250, "CWD inside")
		if got := c.Retr("ok.txt"); got != "fine" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("the root listing still works with escaping links in it", func(t *testing.T) {
		c.Do(250, "CWD /")
		if lines := c.Listing("LIST"); len(lines) != 7 {
			t.Errorf("LIST = %q", lines)
		}
	})
}
