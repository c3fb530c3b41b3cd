package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/peers"
	"github.com/ferryftp/ferry/storage/localfs"
)

// clientServer starts ferry on a temporary folder with user alice/secret.
func clientServer(t *testing.T) (addr, root string) {
	t.Helper()
	root = t.TempDir()
	fsys, err := localfs.New(root, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := ftpservertest.Start(t, "", ftpserver.Options{
		Auth: ftpservertest.Auth(ftpservertest.User{Name: "alice", Password: "secret", FS: fsys, Perms: ftpserver.PermAll}),
	})
	return s.Addr, root
}

// ferryCLI runs a client command in-process with a timeout on the network.
func ferryCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--timeout", "10s")
	code = run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func mustWrite(t *testing.T, name string, data []byte) {
	t.Helper()
	os.MkdirAll(filepath.Dir(name), 0o755)
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSame(t *testing.T, name string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (%d bytes, want %d)", name, len(got), len(want))
	}
}

func TestClientCommandsAgainstFerry(t *testing.T) {
	addr, root := clientServer(t)
	base := "ftp://alice:secret@" + addr
	local := t.TempDir()
	data := randomData(2<<20 + 17)
	mustWrite(t, filepath.Join(local, "f.bin"), data)
	steps := []struct {
		name string
		args []string
		code int
		out  string // substring of stdout
	}{
		{"put uploads a file into a folder URL", []string{"put", filepath.Join(local, "f.bin"), base + "/"}, 0, ""},
		{"mkdir -p creates nested folders", []string{"mkdir", "-p", base + "/a/b/c"}, 0, ""},
		{"ls lists the root", []string{"ls", base + "/"}, 0, "f.bin"},
		{"ls -l shows sizes", []string{"ls", "-l", base + "/"}, 0, "2097169"},
		{"get downloads the file", []string{"get", base + "/f.bin", filepath.Join(local, "got.bin")}, 0, ""},
		{"get with segments downloads it over several connections", []string{"get", "--segments", "2", base + "/f.bin", filepath.Join(local, "seg.bin")}, 0, ""},
		{"get in active mode with PORT works", []string{"get", "--active", "--no-epsv", base + "/f.bin", filepath.Join(local, "act.bin")}, 0, ""},
		{"mv renames relative to the folder", []string{"mv", base + "/f.bin", "g.bin"}, 0, ""},
		{"get of a missing file exits 4", []string{"get", base + "/f.bin", local}, 4, ""},
		{"rm deletes a file", []string{"rm", base + "/g.bin"}, 0, ""},
		{"rm --dir removes an empty folder", []string{"rm", "--dir", base + "/a/b/c"}, 0, ""},
		{"rm -r removes a tree", []string{"rm", "-r", base + "/a"}, 0, ""},
		{"a wrong password exits 3", []string{"ls", "ftp://alice:wrong@" + addr + "/"}, 3, ""},
		{"an unknown flag exits 2", []string{"ls", "--nope", base}, 2, ""},
		{"a non-URL exits 2", []string{"ls", "/tmp"}, 2, ""},
		{"a bad rate exits 2", []string{"get", "--limit-rate", "fast", base + "/x"}, 2, ""},
		{"mirror with two local folders exits 2", []string{"mirror", local, local}, 2, ""},
		{"a refused connection exits 5", []string{"ls", "ftp://alice:secret@127.0.0.1:1/"}, 5, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out, errOut := ferryCLI(t, s.args...)
			if code != s.code || !strings.Contains(out, s.out) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, s.code, out, errOut)
			}
		})
	}
	for _, f := range []string{"got.bin", "seg.bin", "act.bin"} {
		mustSame(t, filepath.Join(local, f), data)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("server root not empty after rm: %v", entries)
	}
	t.Run("errors name the server's reply", func(t *testing.T) {
		_, _, errOut := ferryCLI(t, "get", base+"/nope.bin", local)
		if !strings.Contains(errOut, "550") || !strings.Contains(errOut, "RETR nope.bin") {
			t.Fatalf("stderr %q", errOut)
		}
	})
}

func TestPasswordsComeFromEnvironmentAndNetrc(t *testing.T) {
	addr, root := clientServer(t)
	mustWrite(t, filepath.Join(root, "x.txt"), []byte("x"))
	t.Run("FERRY_PASSWORD supplies the password", func(t *testing.T) {
		t.Setenv("FERRY_PASSWORD", "secret")
		if code, out, errOut := ferryCLI(t, "ls", "ftp://alice@"+addr+"/"); code != 0 || !strings.Contains(out, "x.txt") {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})
	t.Run("~/.netrc supplies login and password", func(t *testing.T) {
		netrc := filepath.Join(t.TempDir(), "netrc")
		host := strings.Split(addr, ":")[0]
		mustWrite(t, netrc, []byte("machine other login bob password no\nmachine "+host+" login alice password secret\n"))
		os.Chmod(netrc, 0o600)
		t.Setenv("NETRC", netrc)
		if code, out, errOut := ferryCLI(t, "ls", "ftp://"+addr+"/"); code != 0 || !strings.Contains(out, "x.txt") {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})
	t.Run("a user without any password and no terminal is a usage error", func(t *testing.T) {
		t.Setenv("NETRC", filepath.Join(t.TempDir(), "none"))
		if code, _, _ := ferryCLI(t, "ls", "ftp://alice@"+addr+"/"); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
	})
}

func TestInterruptedGetResumesWithContinue(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	addr, root := clientServer(t)
	data := randomData(6 << 20)
	mustWrite(t, filepath.Join(root, "big.bin"), data)
	bin := buildFerry(t)
	dest := filepath.Join(t.TempDir(), "big.bin")
	url := "ftp://alice:secret@" + addr + "/big.bin"
	// A slow download, killed part-way like a dropped session.
	cmd := exec.Command(bin, "get", "--limit-rate", "4M", url, dest)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(dest); err == nil && st.Size() >= 1<<20 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	st, err := os.Stat(dest)
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(data)) {
		t.Fatalf("partial file: %v, %v", st, err)
	}
	partial := st.Size()
	code, _, errOut := ferryCLI(t, "get", "-c", "--debug", url, dest)
	if code != 0 {
		t.Fatalf("get -c exit %d: %s", code, errOut)
	}
	mustSame(t, dest, data)
	if !strings.Contains(errOut, "> REST ") {
		t.Fatalf("get -c did not send REST (partial %d bytes):\n%s", partial, errOut)
	}
}

func TestMirrorCommandCopiesTreesBothWays(t *testing.T) {
	type target struct {
		name string
		url  func(t *testing.T) (base, root string)
	}
	targets := []target{
		{"ferry", func(t *testing.T) (string, string) {
			addr, root := clientServer(t)
			return "ftp://alice:secret@" + addr, root
		}},
	}
	for _, kind := range []string{peers.Vsftpd, peers.PureFTPd} {
		targets = append(targets, target{kind, func(t *testing.T) (string, string) {
			s := peers.Start(t, kind, peers.Options{})
			return "ftp://" + s.User + ":" + s.Password + "@" + s.Addr, s.Root
		}})
	}
	for _, tg := range targets {
		t.Run("ferry mirror up and down against "+tg.name+" gives identical bytes", func(t *testing.T) {
			base, root := tg.url(t)
			src := t.TempDir()
			files := map[string][]byte{"a.txt": []byte("a"), "d/b.bin": randomData(300_000), "d/e/c": randomData(5)}
			for n, d := range files {
				mustWrite(t, filepath.Join(src, n), d)
			}
			if code, out, errOut := ferryCLI(t, "mirror", "--parallel", "2", src, base+"/m"); code != 0 {
				t.Fatalf("mirror up exit %d: %s %s", code, out, errOut)
			}
			dst := t.TempDir()
			if code, out, errOut := ferryCLI(t, "mirror", base+"/m", dst); code != 0 {
				t.Fatalf("mirror down exit %d: %s %s", code, out, errOut)
			}
			for n, d := range files {
				mustSame(t, filepath.Join(root, "m", n), d)
				mustSame(t, filepath.Join(dst, n), d)
			}
			os.Remove(filepath.Join(src, "a.txt"))
			code, out, _ := ferryCLI(t, "mirror", "--delete", "--dry-run", src, base+"/m")
			if code != 0 || !strings.Contains(out, "delete a.txt") {
				t.Fatalf("dry run exit %d: %s", code, out)
			}
			if _, err := os.Stat(filepath.Join(root, "m", "a.txt")); err != nil {
				t.Fatal("the dry run deleted a file")
			}
		})
	}
}

func TestProgressAndRateLimit(t *testing.T) {
	addr, root := clientServer(t)
	mustWrite(t, filepath.Join(root, "p.bin"), randomData(1<<20))
	url := "ftp://alice:secret@" + addr + "/p.bin"
	t.Run("no progress is drawn when stderr is not a terminal", func(t *testing.T) {
		code, _, errOut := ferryCLI(t, "get", url, filepath.Join(t.TempDir(), "a"))
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("--progress draws size, percentage, speed and ETA", func(t *testing.T) {
		code, _, errOut := ferryCLI(t, "get", "--progress", url, filepath.Join(t.TempDir(), "b"))
		if code != 0 || !strings.Contains(errOut, "100.0%") || !strings.Contains(errOut, "/s ETA") || !strings.Contains(errOut, "1.0 MiB") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("--limit-rate slows the transfer down", func(t *testing.T) {
		start := time.Now()
		code, _, errOut := ferryCLI(t, "get", "--limit-rate", "2M", url, filepath.Join(t.TempDir(), "c"))
		if el := time.Since(start); code != 0 || el < 400*time.Millisecond {
			t.Fatalf("exit %d after %v (want >= 0.4s at 2 MiB/s for 1 MiB): %s", code, el, errOut)
		}
	})
}
