package interop

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// curlArgs returns curl's common flags (silent but showing errors, verbose
// transcript on stderr, bounded in time, logged in as the test user)
// followed by extra.
func curlArgs(extra ...string) []string {
	return append([]string{"-sS", "-v", "--connect-timeout", "10", "--max-time", "50",
		"-u", testUser + ":" + testPass}, extra...)
}

// curlModes are the data-connection modes curl is run in. PASV and PORT
// exist for IPv4 only.
var curlModes = []struct {
	name     string
	args     []string
	ipv4Only bool
}{
	{"in passive mode with EPSV", nil, false},
	{"in passive mode with PASV", []string{"--disable-epsv"}, true},
	{"in active mode with EPRT", []string{"--ftp-port", "-"}, false},
	{"in active mode with PORT", []string{"--ftp-port", "-", "--disable-eprt"}, true},
}

// TestCurl moves the sample files down and up with curl in every data
// connection mode over IPv4 and IPv6, resumes a download (REST) and an
// upload (APPE), lists directories with LIST and NLST, and checks that a
// PORT to a foreign address is refused.
func TestCurl(t *testing.T) {
	curl := needTool(t, "curl", "curl")
	for _, fam := range []family{ipv4, ipv6} {
		for _, m := range curlModes {
			if m.ipv4Only && fam == ipv6 {
				continue
			}
			t.Run("downloads and uploads every sample over "+fam.name+" "+m.name, func(t *testing.T) {
				t.Parallel()
				fam.need(t)
				s := startServer(t, fam.listen)
				writeSamples(t, s.Root)
				local := t.TempDir()

				args := curlArgs(m.args...)
				for _, smp := range samples {
					args = append(args, "-o", filepath.Join(local, smp.name), s.url(smp.name))
				}
				mustRun(t, local, "", curl, args...)
				checkSamples(t, local)

				args = curlArgs(append(m.args, "--ftp-create-dirs")...)
				for _, smp := range samples {
					args = append(args, "-T", filepath.Join(local, smp.name), s.url("up/"+smp.name))
				}
				mustRun(t, local, "", curl, args...)
				checkSamples(t, filepath.Join(s.Root, "up"))
			})
		}

		t.Run("resumes a download with REST over "+fam.name, func(t *testing.T) {
			t.Parallel()
			fam.need(t)
			s := startServer(t, fam.listen)
			writeSamples(t, s.Root)
			want := samples[0].data
			local := filepath.Join(t.TempDir(), "partial.bin")
			half := len(want) / 2
			truncateCopy(t, local, want, half)
			r := mustRun(t, filepath.Dir(local), "", curl, curlArgs("-C", "-", "-o", local, s.url(samples[0].name))...)
			if !strings.Contains(r.stderr, fmt.Sprintf("> REST %d", half)) {
				t.Errorf("curl did not send REST %d:\n%s", half, tail(r.stderr))
			}
			checkFile(t, local, want)
		})

		t.Run("resumes an upload with APPE over "+fam.name, func(t *testing.T) {
			t.Parallel()
			fam.need(t)
			s := startServer(t, fam.listen)
			local := t.TempDir()
			writeSamples(t, local)
			want := samples[0].data
			truncateCopy(t, filepath.Join(s.Root, "resumed.bin"), want, len(want)/3)
			r := mustRun(t, local, "", curl, curlArgs("-C", "-", "-T", filepath.Join(local, samples[0].name), s.url("resumed.bin"))...)
			if !strings.Contains(r.stderr, "> APPE resumed.bin") {
				t.Errorf("curl did not resume with APPE:\n%s", tail(r.stderr))
			}
			checkFile(t, filepath.Join(s.Root, "resumed.bin"), want)
		})

		t.Run("lists a directory with LIST over "+fam.name, func(t *testing.T) {
			t.Parallel()
			fam.need(t)
			s := startServer(t, fam.listen)
			writeSamples(t, filepath.Join(s.Root, "dir"))
			r := mustRun(t, s.Root, "", curl, curlArgs(s.url("dir/"))...)
			lines := strings.Split(strings.TrimRight(r.stdout, "\r\n"), "\n")
			if len(lines) != len(samples) {
				t.Errorf("LIST gave %d lines, want %d:\n%s", len(lines), len(samples), r.stdout)
			}
			for _, smp := range samples {
				found := false
				for _, l := range lines {
					found = found || strings.HasSuffix(strings.TrimRight(l, "\r"), " "+smp.name)
				}
				if !found {
					t.Errorf("LIST output lacks a line ending in %q:\n%s", smp.name, r.stdout)
				}
			}
		})

		t.Run("lists names only with NLST over "+fam.name, func(t *testing.T) {
			t.Parallel()
			fam.need(t)
			s := startServer(t, fam.listen)
			writeSamples(t, filepath.Join(s.Root, "dir"))
			r := mustRun(t, s.Root, "", curl, curlArgs("--list-only", s.url("dir/"))...)
			got := strings.Split(strings.ReplaceAll(strings.TrimRight(r.stdout, "\r\n"), "\r", ""), "\n")
			sort.Strings(got)
			if !slices.Equal(got, sampleNames()) {
				t.Errorf("NLST gave %q, want %q", got, sampleNames())
			}
		})
	}

	t.Run("fails when the active address is a foreign one", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, ipv4.listen)
		writeSamples(t, s.Root)
		out := filepath.Join(t.TempDir(), "out.bin")
		r := runTool(t, filepath.Dir(out), "", curl, curlArgs("--ftp-port", "127.0.0.2", "-o", out, s.url(samples[0].name))...)
		var ee *exec.ExitError
		if !errors.As(r.err, &ee) {
			t.Fatalf("curl with --ftp-port 127.0.0.2: got %v, want a non-zero exit\nstderr:\n%s", r.err, tail(r.stderr))
		}
		if !strings.Contains(r.stderr, "< 501") {
			t.Errorf("server did not answer the foreign EPRT/PORT with 501:\n%s", tail(r.stderr))
		}
		if strings.Contains(r.stderr, "< 150") {
			t.Errorf("server opened a data connection to a foreign address:\n%s", tail(r.stderr))
		}
		if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
			t.Errorf("curl received %d bytes through a foreign active address", fi.Size())
		}
		t.Logf("curl exit code %d", ee.ExitCode())
	})
}

// lftpScript returns an lftp -c script that logs in to s in passive or
// active mode and runs cmds. It keeps lftp from retrying forever and from
// trying TLS, and makes it exit non-zero when a command fails.
func lftpScript(s *server, passive bool, cmds ...string) string {
	mode := "off"
	if passive {
		mode = "on"
	}
	settings := []string{
		"set net:max-retries 1", "set net:timeout 10", "set net:reconnect-interval-base 1",
		"set ftp:ssl-allow no", "set cmd:fail-exit yes", "set ftp:passive-mode " + mode,
	}
	host := s.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return strings.Join(append(append(settings,
		fmt.Sprintf("open -u %s,%s ftp://%s:%s", testUser, testPass, host, s.Port)),
		cmds...), "; ")
}

// TestLftp mirrors trees down and up with lftp in passive and active mode
// and resumes a download with get -c.
//
// Active mode over IPv6 covers lftp's "EPRT |2|::|port|": lftp 4.9 names
// the unspecified address there, which the server takes as the control peer.
func TestLftp(t *testing.T) {
	lftp := needTool(t, "lftp", "lftp")
	cases := []struct {
		name    string
		fam     family
		passive bool
	}{
		{"in passive mode over IPv4", ipv4, true},
		{"in active mode over IPv4", ipv4, false},
		{"in passive mode over IPv6", ipv6, true},
		{"in active mode over IPv6", ipv6, false},
	}
	for _, c := range cases {
		t.Run("mirrors a tree down and up "+c.name, func(t *testing.T) {
			t.Parallel()
			c.fam.need(t)
			s := startServer(t, c.fam.listen)
			src := writeTree(t, s.Root, "tree")
			local := filepath.Join(t.TempDir(), "copy")
			r := mustRun(t, filepath.Dir(local), "", lftp, "-d", "-c", lftpScript(s, c.passive, "mirror /tree "+local))
			checkLftpMode(t, r, c.passive)
			checkTree(t, src, local)

			r = mustRun(t, filepath.Dir(local), "", lftp, "-d", "-c", lftpScript(s, c.passive, "mirror -R "+local+" /uploaded"))
			checkLftpMode(t, r, c.passive)
			checkTree(t, src, filepath.Join(s.Root, "uploaded"))
		})
	}

	t.Run("resumes a download with get -c", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, ipv4.listen)
		writeSamples(t, s.Root)
		want := samples[0].data
		local := filepath.Join(t.TempDir(), "partial.bin")
		half := len(want) / 2
		truncateCopy(t, local, want, half)
		r := mustRun(t, filepath.Dir(local), "", lftp, "-d", "-c", lftpScript(s, true, "get -c /"+samples[0].name+" -o "+local))
		if !strings.Contains(r.stdout+r.stderr, fmt.Sprintf("REST %d", half)) {
			t.Errorf("lftp did not send REST %d:\n%s", half, tail(r.stderr))
		}
		checkFile(t, local, want)
	})
}

// checkLftpMode fails t unless lftp's debug transcript shows data
// connections in the wanted mode only, without falling back to the other.
func checkLftpMode(t *testing.T, r result, passive bool) {
	t.Helper()
	out := r.stdout + r.stderr
	pasv := strings.Contains(out, "---> EPSV") || strings.Contains(out, "---> PASV")
	port := strings.Contains(out, "---> EPRT") || strings.Contains(out, "---> PORT")
	if pasv != passive || port == passive || strings.Contains(out, "Switching passive mode") {
		t.Errorf("lftp did not stay in %s mode:\n%s", map[bool]string{true: "passive", false: "active"}[passive], tail(out))
	}
}

// TestTnftp drives tnftp non-interactively (-n, commands on stdin) through
// get, put and ls in passive and active mode.
func TestTnftp(t *testing.T) {
	tnftp := needTool(t, "tnftp", "tnftp")
	cases := []struct {
		name    string
		fam     family
		passive bool
	}{
		{"in passive mode over IPv4", ipv4, true},
		{"in active mode over IPv4", ipv4, false},
		{"in passive mode over IPv6", ipv6, true},
		{"in active mode over IPv6", ipv6, false},
	}
	for _, c := range cases {
		t.Run("gets, puts and lists "+c.name, func(t *testing.T) {
			t.Parallel()
			c.fam.need(t)
			s := startServer(t, c.fam.listen)
			writeSamples(t, s.Root)
			local := t.TempDir()
			mode := map[bool]string{true: "on", false: "off"}[c.passive]
			var b strings.Builder
			fmt.Fprintf(&b, "open %s %s\nuser %s %s\nbinary\npassive %s\nmkdir up\n", s.Host, s.Port, testUser, testPass, mode)
			for _, smp := range samples {
				fmt.Fprintf(&b, "get \"%s\" \"%s\"\n", smp.name, filepath.Join(local, smp.name))
			}
			for _, smp := range samples {
				fmt.Fprintf(&b, "put \"%s\" \"up/%s\"\n", filepath.Join(local, smp.name), smp.name)
			}
			listing := filepath.Join(local, "listing.txt")
			fmt.Fprintf(&b, "ls . \"%s\"\nbye\n", listing)
			r := mustRun(t, local, b.String(), tnftp, "-n", "-v")
			checkSamples(t, local)
			checkSamples(t, filepath.Join(s.Root, "up"))
			got, err := os.ReadFile(listing)
			if err != nil {
				t.Fatalf("tnftp ls wrote no listing: %v\n%s", err, tail(r.stdout))
			}
			for _, smp := range samples {
				if !strings.Contains(string(got), smp.name) {
					t.Errorf("tnftp ls lacks %q:\n%s", smp.name, got)
				}
			}
			want := map[bool][]string{true: {"229 ", "227 "}, false: {"EPRT command successful", "PORT command successful"}}[c.passive]
			if !strings.Contains(r.stdout, want[0]) && !strings.Contains(r.stdout, want[1]) {
				t.Errorf("tnftp transcript shows no %q or %q:\n%s", want[0], want[1], tail(r.stdout))
			}
			for _, bad := range []string{"\n425 ", "\n426 ", "\n450 ", "\n451 ", "\n500 ", "\n501 ", "\n502 ", "\n550 ", "\n553 "} {
				if strings.Contains(r.stdout, bad) {
					t.Errorf("tnftp transcript has a %s reply:\n%s", strings.TrimSpace(bad), tail(r.stdout))
				}
			}
		})
	}
}

// TestWget fetches files with wget in passive and active mode and a tree
// with wget -r.
func TestWget(t *testing.T) {
	wget := needTool(t, "wget", "wget")
	common := []string{"--tries=1", "--timeout=10", "-nv", "--restrict-file-names=nocontrol"}
	cases := []struct {
		name string
		fam  family
		args []string
	}{
		{"in passive mode over IPv4", ipv4, nil},
		{"in active mode over IPv4", ipv4, []string{"--no-passive-ftp"}},
		{"in passive mode over IPv6", ipv6, nil},
		{"in active mode over IPv6", ipv6, []string{"--no-passive-ftp"}},
	}
	for _, c := range cases {
		t.Run("fetches every sample "+c.name, func(t *testing.T) {
			t.Parallel()
			c.fam.need(t)
			s := startServer(t, c.fam.listen)
			writeSamples(t, s.Root)
			local := t.TempDir()
			args := append(append(slices.Clone(common), c.args...), "-P", local)
			for _, smp := range samples {
				args = append(args, s.userURL(smp.name))
			}
			mustRun(t, local, "", wget, args...)
			checkSamples(t, local)
		})
	}
	for _, passive := range []bool{true, false} {
		name := map[bool]string{true: "in passive mode", false: "in active mode"}[passive]
		t.Run("fetches a tree recursively "+name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, ipv4.listen)
			src := writeTree(t, s.Root, "tree")
			local := t.TempDir()
			args := append(slices.Clone(common), "-r", "-nH", "-P", local, s.userURL("tree")+"/")
			if !passive {
				args = append(args, "--no-passive-ftp")
			}
			mustRun(t, local, "", wget, args...)
			checkTree(t, src, filepath.Join(local, "tree"))
		})
	}
}
