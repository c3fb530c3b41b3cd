package interop

import (
	"bytes"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/userstore"
)

// replayDataTimeout bounds how long the replay server waits for a data
// connection; replayed sessions open passive ports they never use.
const replayDataTimeout = 3 * time.Second

// TestReplaySeedSessions replays every recorded client session in
// ../shared/fuzz-seeds/ftp-sessions against one live server, line by line,
// and checks that each line is answered with well-formed replies and that
// the server still accepts a fresh login after each session and after all
// of them.
func TestReplaySeedSessions(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "..", "shared", "fuzz-seeds", "ftp-sessions")
	files, err := filepath.Glob(filepath.Join(dir, "*.raw"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("skipping: no recorded sessions in %s (the shared folder beside the checkout)", dir)
	}

	var users []userstore.User
	for _, name := range []string{"ubuntu", "fuzzing"} {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "test.txt"), []byte("replayed sessions read and rename this file\n"))
		users = append(users, userstore.User{Name: name, PasswordHash: hashOf(t, name), Root: root, Perms: ftpserver.PermAll})
	}
	anonRoot := t.TempDir()
	writeFile(t, filepath.Join(anonRoot, "test.txt"), []byte("anonymous\n"))
	store, err := userstore.NewStatic(users, &userstore.Anonymous{Root: anonRoot}, userstore.WithLocalFS(localfs.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := ftpservertest.Start(t, ipv4.listen, ftpserver.Options{
		Auth:             store,
		DataTimeout:      replayDataTimeout,
		MaxSessionsPerIP: -1,
	})

	t.Run("every session", func(t *testing.T) {
		for _, f := range files {
			t.Run("is answered line by line in "+filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				replay(t, s.Addr, raw)
				freshLogin(t, s.Addr)
			})
		}
	})
	t.Run("a fresh login works after every session", func(t *testing.T) {
		freshLogin(t, s.Addr)
	})
}

// freshLogin checks that the server at addr still serves a normal session.
func freshLogin(t *testing.T, addr string) {
	t.Helper()
	c := dialCtrl(t, addr, 15*time.Second)
	c.Login("ubuntu", "ubuntu")
	c.Do(257, "PWD")
	c.Do(221, "QUIT")
}

// pasvRE and epsvRE find the data port in 227 and 229 replies.
var (
	pasvRE = regexp.MustCompile(`(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)`)
	epsvRE = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)
)

// replay sends raw to the server at addr one CRLF line at a time. Every
// line must get a final reply within a deadline, every reply must be a
// well-formed RFC 959 reply, and passive data ports the server announces
// are connected to and drained so that no transfer waits for long.
func replay(t *testing.T, addr string, raw []byte) {
	t.Helper()
	c := dialCtrl(t, addr, 2*time.Minute)
	host, _, _ := net.SplitHostPort(addr)
	lines := strings.SplitAfter(string(raw), "\n")
	for i, line := range lines {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(c.Conn(), line); err != nil {
			t.Fatalf("line %d %q: send: %v", i+1, line, err)
		}
		if !strings.HasSuffix(line, "\n") {
			break // a trailing partial line is not a command yet
		}
		for {
			c.Conn().SetReadDeadline(time.Now().Add(replayDataTimeout + 5*time.Second))
			code, msg, err := c.ReadResponse()
			if err != nil {
				if _, ok := err.(textproto.ProtocolError); ok {
					t.Fatalf("line %d %q: malformed reply: %v", i+1, line, err)
				}
				t.Fatalf("line %d %q: no reply: %v", i+1, line, err)
			}
			if code < 100 || code > 599 {
				t.Fatalf("line %d %q: reply code %d out of range", i+1, line, code)
			}
			switch code {
			case 227:
				if m := pasvRE.FindStringSubmatch(msg); m != nil {
					hi, _ := strconv.Atoi(m[5])
					lo, _ := strconv.Atoi(m[6])
					go drain(net.JoinHostPort(host, strconv.Itoa(hi<<8|lo)))
				}
			case 229:
				if m := epsvRE.FindStringSubmatch(msg); m != nil {
					go drain(net.JoinHostPort(host, m[1]))
				}
			}
			if code >= 200 {
				break
			}
		}
		if v := bytes.ToUpper(bytes.TrimSpace([]byte(line))); string(v) == "QUIT" {
			return
		}
	}
}

// drain connects to a passive data port and reads it to the end, within
// the replay's data timeout.
func drain(addr string) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(replayDataTimeout))
	io.Copy(io.Discard, conn)
}
