package ftpserver_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

func TestListings(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{
		"docs/a.txt": "aaa", "docs/b.log": "b", "docs/.hidden": "h", "top.txt": "t",
	})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")

	t.Run("LIST shows ls -l lines without dot files", func(t *testing.T) {
		lines := c.Listing("LIST docs")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "-rw") || !strings.HasSuffix(lines[0], " a.txt") {
			t.Errorf("LIST = %q", lines)
		}
	})
	t.Run("LIST -la shows dot files", func(t *testing.T) {
		if lines := c.Listing("LIST -la docs"); len(lines) != 3 {
			t.Errorf("LIST -la = %q", lines)
		}
	})
	t.Run("NLST of a directory prefixes names with it", func(t *testing.T) {
		if got := c.Listing("NLST docs"); !slices.Equal(got, []string{"docs/a.txt", "docs/b.log"}) {
			t.Errorf("NLST = %q", got)
		}
	})
	t.Run("NLST of the working directory gives bare names", func(t *testing.T) {
		if got := c.Listing("NLST"); !slices.Equal(got, []string{"docs", "top.txt"}) {
			t.Errorf("NLST = %q", got)
		}
	})
	t.Run("a glob pattern filters LIST and NLST", func(t *testing.T) {
		if got := c.Listing("NLST docs/*.txt"); !slices.Equal(got, []string{"docs/a.txt"}) {
			t.Errorf("NLST glob = %q", got)
		}
		if got := c.Listing("LIST docs/*.log"); len(got) != 1 || !strings.HasSuffix(got[0], " b.log") {
			t.Errorf("LIST glob = %q", got)
		}
	})
	t.Run("MLSD gives facts for every entry", func(t *testing.T) {
		got := c.Listing("MLSD docs")
		if len(got) != 3 {
			t.Fatalf("MLSD = %q", got)
		}
		for _, l := range got {
			if !strings.Contains(l, "type=file;") || !strings.Contains(l, "modify=") || !strings.Contains(l, "perm=") {
				t.Errorf("MLSD line %q lacks facts", l)
			}
		}
		if !strings.Contains(got[1], "size=3;") || !strings.HasSuffix(got[1], " a.txt") {
			t.Errorf("MLSD line %q", got[1])
		}
	})
	t.Run("MLSD of a file is refused", func(t *testing.T) {
		c.Do(550, "MLSD top.txt")
	})
	t.Run("MLST describes one path on the control connection", func(t *testing.T) {
		msg := c.Do(250, "MLST docs/a.txt")
		if !strings.Contains(msg, "type=file;size=3;") || !strings.Contains(msg, " /docs/a.txt") {
			t.Errorf("MLST = %q", msg)
		}
		c.Do(200, "OPTS MLST type;")
		if msg := c.Do(250, "MLST docs"); !strings.Contains(msg, "type=dir; /docs") {
			t.Errorf("MLST after OPTS = %q", msg)
		}
	})
	t.Run("STAT with a path lists over the control connection", func(t *testing.T) {
		if msg := c.Do(212, "STAT docs"); !strings.Contains(msg, "a.txt") || !strings.Contains(msg, "b.log") {
			t.Errorf("STAT = %q", msg)
		}
		c.Do(213, "STAT top.txt")
		c.Do(550, "STAT nope")
	})
	t.Run("listing a missing directory gets 550", func(t *testing.T) {
		d := c.EPSV()
		defer d.Close()
		c.Do(550, "LIST nope")
	})
}

func TestFileCommands(t *testing.T) {
	srv, fsys := newMemServer(t, ftpserver.Options{}, map[string]string{"f.txt": "hello world"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")

	t.Run("SIZE and MDTM describe a file", func(t *testing.T) {
		if msg := c.Do(213, "SIZE f.txt"); msg != "11" {
			t.Errorf("SIZE = %q", msg)
		}
		if msg := c.Do(213, "MDTM f.txt"); len(msg) < 14 {
			t.Errorf("MDTM = %q", msg)
		}
		c.Do(550, "SIZE missing")
	})
	t.Run("MFMT sets the modification time", func(t *testing.T) {
		c.Do(213, "MFMT 20200102030405 f.txt")
		if msg := c.Do(213, "MDTM f.txt"); msg != "20200102030405" {
			t.Errorf("MDTM after MFMT = %q", msg)
		}
		c.Do(501, "MFMT yesterday f.txt")
	})
	t.Run("HASH answers with each algorithm", func(t *testing.T) {
		sum := sha256.Sum256([]byte("hello world"))
		want := "SHA-256 0-11 " + hex.EncodeToString(sum[:]) + " f.txt"
		if msg := c.Do(213, "HASH f.txt"); msg != want {
			t.Errorf("HASH = %q, want %q", msg, want)
		}
		for algo, digest := range map[string]string{
			"MD5":   "5eb63bbbe01eeed093cb22bb8f5acdc3",
			"SHA-1": "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed",
			"CRC32": "0d4a1185",
		} {
			c.Do(200, "OPTS HASH %s", algo)
			if msg := c.Do(213, "HASH f.txt"); !strings.Contains(msg, " "+digest+" ") {
				t.Errorf("HASH %s = %q", algo, msg)
			}
		}
		c.Do(501, "OPTS HASH SHA-512")
		c.Do(200, "OPTS HASH CRC32")
		if msg := c.Do(211, "FEAT"); !strings.Contains(msg, "HASH SHA-256;SHA-1;MD5;CRC32*") {
			t.Errorf("FEAT = %q", msg)
		}
	})
	t.Run("MKD, CWD, CDUP, PWD and RMD manage directories", func(t *testing.T) {
		if msg := c.Do(257, `MKD new "dir"`); !strings.HasPrefix(msg, `"/new ""dir"""`) {
			t.Errorf("MKD = %q", msg)
		}
		c.Do(250, `CWD new "dir"`)
		if msg := c.Do(257, "XPWD"); !strings.HasPrefix(msg, `"/new ""dir"""`) {
			t.Errorf("PWD = %q", msg)
		}
		c.Do(250, "CDUP")
		c.Do(250, `XRMD new "dir"`)
		c.Do(550, "CWD f.txt")
		c.Do(550, "RMD missing")
	})
	t.Run("RNFR and RNTO rename", func(t *testing.T) {
		c.Do(350, "RNFR f.txt")
		c.Do(250, "RNTO g.txt")
		if _, err := fsys.ReadFile("g.txt"); err != nil {
			t.Error(err)
		}
		c.Do(550, "RNFR f.txt")
	})
	t.Run("DELE removes a file", func(t *testing.T) {
		c.Do(250, "DELE g.txt")
		c.Do(550, "DELE g.txt")
	})
	t.Run("SITE CHMOD, SITE HELP and unknown SITE commands", func(t *testing.T) {
		c.Stor("STOR", "m.txt", "x")
		c.Do(200, "SITE CHMOD 600 m.txt")
		c.Do(501, "SITE CHMOD 999 m.txt")
		c.Do(214, "SITE HELP")
		c.Do(502, "SITE EXEC ls")
	})
	t.Run("TYPE, STRU, MODE, ALLO, SMNT, ACCT and SYST", func(t *testing.T) {
		c.Do(200, "TYPE L 8")
		c.Do(200, "TYPE A N")
		c.Do(504, "TYPE E")
		c.Do(200, "STRU F")
		c.Do(504, "STRU R")
		c.Do(200, "MODE S")
		c.Do(504, "MODE B")
		c.Do(202, "ALLO 100")
		c.Do(202, "SMNT /")
		c.Do(202, "ACCT x")
		c.Do(215, "SYST")
		c.Do(214, "HELP")
		c.Do(214, "HELP RETR")
		c.Do(200, "OPTS UTF8 ON")
	})
}

func TestPermissions(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"f.txt": "x"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("ro", "p")
	if got := c.Retr("f.txt"); got != "x" {
		t.Errorf("read-only user read %q", got)
	}
	for _, cmd := range []string{"STOR g", "APPE g", "STOU", "DELE f.txt", "MKD d", "RMD d", "RNFR f.txt", "SITE CHMOD 644 f.txt", "MFMT 20200101000000 f.txt"} {
		t.Run(cmd+" is denied to a read-only user", func(t *testing.T) {
			c.Do(550, "%s", cmd)
		})
	}
}

func TestPathsStayInsideTheRoot(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"in.txt": "inside"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	for _, p := range []string{"../../..", "/..", "../../etc", "a/../../.."} {
		t.Run("CWD "+p+" cannot leave the root", func(t *testing.T) {
			c.Send("CWD %s", p)
			c.Read()
			if msg := c.Do(257, "PWD"); !strings.HasPrefix(msg, `"/"`) {
				t.Errorf("PWD after CWD %s = %q", p, msg)
			}
		})
	}
	if got := c.Retr("../../../in.txt"); got != "inside" {
		t.Errorf("got %q", got)
	}
}
