package main

import (
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpclient"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/peers"
	"github.com/ferryftp/ferry/storage/localfs"
)

// cliTarget is a server the CLI tests run against: ferry, and peers.
type cliTarget struct {
	name  string
	start func(t *testing.T) (base, root string, chown func())
}

func cliTargets() []cliTarget {
	ts := []cliTarget{{"ferry", func(t *testing.T) (string, string, func()) {
		addr, root := clientServer(t)
		return "ftp://alice:secret@" + addr, root, func() {}
	}}}
	for _, kind := range []string{peers.Vsftpd, peers.PureFTPd} {
		ts = append(ts, cliTarget{kind, func(t *testing.T) (string, string, func()) {
			s := peers.Start(t, kind, peers.Options{})
			return "ftp://" + s.User + ":" + s.Password + "@" + s.Addr, s.Root, func() {
				if err := s.Chown(); err != nil {
					t.Fatal(err)
				}
			}
		}})
	}
	return ts
}

func TestGlobsExpandAgainstTheServersListing(t *testing.T) {
	for _, tg := range cliTargets() {
		t.Run("against "+tg.name, func(t *testing.T) {
			base, root, chown := tg.start(t)
			files := map[string][]byte{
				"dir/a.csv": []byte("a,1"), "dir/b.csv": []byte("b,2"), "dir/c.txt": []byte("c"),
				"tmp/x.part": []byte("x"), "tmp/y.part": []byte("y"), "tmp/keep.bin": []byte("k"),
			}
			for n, d := range files {
				mustWrite(t, filepath.Join(root, n), d)
			}
			chown()
			dest := t.TempDir()
			if code, out, errOut := ferryCLI(t, "get", base+"/dir/*.csv", dest+"/"); code != 0 {
				t.Fatalf("get glob exit %d: %s %s", code, out, errOut)
			}
			mustSame(t, filepath.Join(dest, "a.csv"), files["dir/a.csv"])
			mustSame(t, filepath.Join(dest, "b.csv"), files["dir/b.csv"])
			if _, err := os.Stat(filepath.Join(dest, "c.txt")); err == nil {
				t.Fatal("c.txt was downloaded by *.csv")
			}
			code, _, errOut := ferryCLI(t, "get", base+"/dir/*.xml", dest)
			if code != exitNotFound || !strings.Contains(errOut, `matches "*.xml"`) {
				t.Fatalf("a glob matching nothing: exit %d, stderr %q", code, errOut)
			}
			if code, out, errOut := ferryCLI(t, "rm", base+"/tmp/*.part"); code != 0 {
				t.Fatalf("rm glob exit %d: %s %s", code, out, errOut)
			}
			left, _ := os.ReadDir(filepath.Join(root, "tmp"))
			if len(left) != 1 || left[0].Name() != "keep.bin" {
				t.Fatalf("after rm *.part the folder holds %v", left)
			}
		})
	}
}

func TestMirrorFiltersApplyTheSameWayUpAndDown(t *testing.T) {
	old := time.Now().Add(-72 * time.Hour)
	files := []struct {
		name string
		size int
		old  bool
	}{
		{"keep.csv", 2000, false}, {"small.csv", 10, false}, {"big.csv", 9000, false},
		{"stale.csv", 2000, true}, {"other.txt", 2000, false}, {"sub/deep.csv", 3000, false},
	}
	want := map[string]string{ // what the filters say in a dry run
		"small.csv": "skip small.csv (--min-size 1024)",
		"big.csv":   "skip big.csv (--max-size 8192)",
		"stale.csv": "skip stale.csv (--newer-than ",
		"other.txt": "skip other.txt (not --include *.csv)",
	}
	filters := []string{"--include", "*.csv", "--min-size", "1k", "--max-size", "8k", "--newer-than", "1d"}
	check := func(t *testing.T, dir string, out string) {
		t.Helper()
		for _, f := range files {
			_, err := os.Stat(filepath.Join(dir, f.name))
			if _, skipped := want[f.name]; skipped == (err == nil) {
				t.Errorf("%s: present=%v, want %v", f.name, err == nil, !skipped)
			}
		}
		for _, line := range want {
			if !strings.Contains(out, line) {
				t.Errorf("dry run output lacks %q:\n%s", line, out)
			}
		}
	}
	for _, tg := range cliTargets() {
		t.Run("against "+tg.name, func(t *testing.T) {
			base, root, chown := tg.start(t)
			src := t.TempDir()
			for _, f := range files {
				mustWrite(t, filepath.Join(src, f.name), randomData(f.size))
				mustWrite(t, filepath.Join(root, "down", f.name), randomData(f.size))
				if f.old {
					os.Chtimes(filepath.Join(src, f.name), old, old)
					os.Chtimes(filepath.Join(root, "down", f.name), old, old)
				}
			}
			chown()
			t.Run("up", func(t *testing.T) {
				args := append([]string{"mirror", "--dry-run"}, filters...)
				code, dry, errOut := ferryCLI(t, append(args, src, base+"/up")...)
				if code != 0 {
					t.Fatalf("dry run exit %d: %s", code, errOut)
				}
				args = append([]string{"mirror"}, filters...)
				if code, out, errOut := ferryCLI(t, append(args, src, base+"/up")...); code != 0 {
					t.Fatalf("mirror up exit %d: %s %s", code, out, errOut)
				}
				check(t, filepath.Join(root, "up"), dry)
			})
			t.Run("down", func(t *testing.T) {
				dst := t.TempDir()
				args := append([]string{"mirror", "--dry-run"}, filters...)
				code, dry, errOut := ferryCLI(t, append(args, base+"/down", dst)...)
				if code != 0 {
					t.Fatalf("dry run exit %d: %s", code, errOut)
				}
				args = append([]string{"mirror", "--segments", "2"}, filters...)
				if code, out, errOut := ferryCLI(t, append(args, base+"/down", dst)...); code != 0 {
					t.Fatalf("mirror down exit %d: %s %s", code, out, errOut)
				}
				check(t, dst, dry)
				// --delete leaves what the filters skip alone.
				mustWrite(t, filepath.Join(dst, "local-only.txt"), []byte("x"))
				args = append([]string{"mirror", "--delete"}, filters...)
				if code, out, errOut := ferryCLI(t, append(args, base+"/down", dst)...); code != 0 {
					t.Fatalf("mirror --delete exit %d: %s %s", code, out, errOut)
				}
				if _, err := os.Stat(filepath.Join(dst, "local-only.txt")); err != nil {
					t.Error("--delete removed a file --include leaves out")
				}
			})
		})
	}
	t.Run("bad filter values are usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"--min-size", "lots"}, {"--newer-than", "yesterday"}} {
			code, _, errOut := ferryCLI(t, append(append([]string{"mirror"}, args...), t.TempDir(), "ftp://127.0.0.1:1/x")...)
			if code != exitUsage || !strings.Contains(errOut, args[0]+" wants") {
				t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
			}
		}
	})
}

func TestMirrorDownloadsBigFilesInSegments(t *testing.T) {
	addr, root := clientServer(t)
	data := randomData(5 << 20)
	mustWrite(t, filepath.Join(root, "m", "big.bin"), data)
	dst := t.TempDir()
	code, _, errOut := ferryCLI(t, "mirror", "--segments", "3", "--debug", "ftp://alice:secret@"+addr+"/m", dst)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mustSame(t, filepath.Join(dst, "big.bin"), data)
	if n := strings.Count(errOut, "> RETR "); n != 3 {
		t.Fatalf("%d RETR commands, want 3 (one per segment)", n)
	}
}

// segmentStatus reads a segmented download's status file.
func segmentStatus(t *testing.T, name string) (segs [][3]int64) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("status file: %v", err)
	}
	re := regexp.MustCompile(`"Start":(\d+),"End":(\d+),"Done":(\d+)`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		var s [3]int64
		for i := range s {
			s[i], _ = strconv.ParseInt(m[i+1], 10, 64)
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		t.Fatalf("no segments in %s", b)
	}
	return segs
}

func TestInterruptedSegmentedGetResumesSegmentBySegment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	addr, root := clientServer(t)
	data := randomData(8 << 20)
	mustWrite(t, filepath.Join(root, "big.bin"), data)
	bin := buildFerry(t)
	dest := filepath.Join(t.TempDir(), "big.bin")
	url := "ftp://alice:secret@" + addr + "/big.bin"
	cmd := exec.Command(bin, "get", "--segments", "4", "--limit-rate", "2M", url, dest)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	state := dest + ftpclient.SegmentStateSuffix
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(state); err == nil && strings.Contains(string(b), `"Done":`) && !strings.Contains(string(b), `"Done":0,`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if !strings.Contains(stderr.String(), "interrupted; resume with -c") {
		t.Fatalf("Ctrl-C message: %q", stderr.String())
	}
	segs := segmentStatus(t, state)
	incomplete, resumed := 0, 0
	for _, s := range segs {
		if s[0]+s[2] < s[1] {
			incomplete++
			if s[0]+s[2] > 0 {
				resumed++
			}
		}
	}
	if incomplete == 0 {
		t.Fatal("the download finished before the interrupt")
	}
	code, _, errOut := ferryCLI(t, "get", "-c", "--segments", "4", "--debug", url, dest)
	if code != 0 {
		t.Fatalf("get -c exit %d: %s", code, errOut)
	}
	mustSame(t, dest, data)
	if n := strings.Count(errOut, "> RETR "); n != incomplete {
		t.Errorf("%d RETR on resume, want %d (one per unfinished segment)", n, incomplete)
	}
	if n := strings.Count(errOut, "> REST "); n != resumed {
		t.Errorf("%d REST on resume, want %d", n, resumed)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("status file left after success: %v", err)
	}
}

func TestLimitRateIsSharedAcrossSegments(t *testing.T) {
	addr, root := clientServer(t)
	mustWrite(t, filepath.Join(root, "s.bin"), randomData(3<<20))
	start := time.Now()
	code, _, errOut := ferryCLI(t, "get", "--segments", "3", "--limit-rate", "2M", "ftp://alice:secret@"+addr+"/s.bin", filepath.Join(t.TempDir(), "s"))
	// 3 MiB at 2 MiB/s in all takes about 1.5 s; at 2 MiB/s per segment it
	// would take 0.5 s. Only a lower bound is checked.
	if el := time.Since(start); code != 0 || el < 1200*time.Millisecond {
		t.Fatalf("exit %d after %v (want >= 1.2s): %s", code, el, errOut)
	}
}

func TestQuoteSendsRawCommands(t *testing.T) {
	for _, tg := range cliTargets() {
		t.Run("SITE CHMOD against "+tg.name, func(t *testing.T) {
			base, root, chown := tg.start(t)
			mustWrite(t, filepath.Join(root, "d", "f.txt"), []byte("x"))
			chown()
			code, out, errOut := ferryCLI(t, "quote", base+"/d", "SITE CHMOD 600 f.txt")
			if code != 0 || !strings.HasPrefix(out, "200") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			if st, err := os.Stat(filepath.Join(root, "d", "f.txt")); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("mode after SITE CHMOD: %v %v", st.Mode(), err)
			}
			code, out, _ = ferryCLI(t, "quote", base+"/", "NOOP", "DELE nope.txt")
			if code != exitNotFound || !strings.Contains(out, "550") {
				t.Fatalf("refused command: exit %d, stdout %q", code, out)
			}
		})
	}
	t.Run("data commands are refused with advice", func(t *testing.T) {
		addr, _ := clientServer(t)
		code, _, errOut := ferryCLI(t, "quote", "ftp://alice:secret@"+addr+"/", "RETR x")
		if code != exitUsage || !strings.Contains(errOut, "ferry get") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestMessagesSayWhatToDo(t *testing.T) {
	addr, root := clientServer(t)
	os.Mkdir(filepath.Join(root, "folder"), 0o755)
	cert := peers.SelfSignedCert(t)
	kp, err := tls.LoadX509KeyPair(cert.CertFile, cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	fsys, _ := localfs.New(t.TempDir(), localfs.Options{})
	tlsSrv := ftpservertest.Start(t, "", ftpserver.Options{
		Auth:    ftpservertest.Auth(ftpservertest.User{Name: "alice", Password: "secret", FS: fsys, Perms: ftpserver.PermAll}),
		TLS:     &tls.Config{Certificates: []tls.Certificate{kp}},
		TLSMode: ftpserver.TLSRequired,
	})
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"get of a folder names ferry mirror", []string{"get", "ftp://alice:secret@" + addr + "/folder", t.TempDir()}, exitUsage, "use ferry mirror"},
		{"a server that requires TLS names --tls", []string{"ls", "ftp://alice:secret@" + tlsSrv.Addr + "/"}, exitLogin, "add --tls"},
		{"an untrusted certificate names --ca and --insecure", []string{"ls", "--tls", "ftp://alice:secret@" + tlsSrv.Addr + "/"}, exitLogin, "--ca FILE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := ferryCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q", code, tc.code, errOut)
			}
		})
	}
	t.Run("--insecure then works", func(t *testing.T) {
		if code, _, errOut := ferryCLI(t, "ls", "--tls", "--insecure", "ftp://alice:secret@"+tlsSrv.Addr+"/"); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("--help prints flags as --flag", func(t *testing.T) {
		_, _, errOut := ferryCLI(t, "mirror", "--help")
		for _, want := range []string{"  --segments N", "  --include GLOB", "  --limit-rate RATE"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("help lacks %q", want)
			}
		}
		if strings.Contains(errOut, "\n  -segments") {
			t.Error("help still prints -segments")
		}
	})
	t.Run("the progress line names the verification phase", func(t *testing.T) {
		mustWrite(t, filepath.Join(root, "p.bin"), randomData(100_000))
		code, _, errOut := ferryCLI(t, "get", "--progress", "ftp://alice:secret@"+addr+"/p.bin", filepath.Join(t.TempDir(), "p"))
		if code != 0 || !strings.Contains(errOut, "verifying CRC32") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}
