package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/diagnose"
	"github.com/ferryftp/ferry/storage/localfs"
)

func diagnoseCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(append([]string{"diagnose"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDiagnoseCommandLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no URL is a usage error", nil, "Usage: ferry diagnose"},
		{"two URLs are a usage error", []string{"ftp://a/", "ftp://b/"}, "Usage: ferry diagnose"},
		{"a non-FTP URL is a usage error", []string{"http://example.com/"}, "not an ftp://"},
		{"--tls with --no-tls is a usage error", []string{"--tls", "--no-tls", "ftp://a/"}, "choose one"},
		{"--no-tls with ftps:// is a usage error", []string{"--no-tls", "ftps://a/"}, "implicit TLS"},
		{"a bad --active-addr is a usage error", []string{"--active-addr", "nope", "ftp://a/"}, "--active-addr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := diagnoseCLI(tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func diagnoseServer(t *testing.T, opts ftpserver.Options) string {
	t.Helper()
	fsys, err := localfs.New(t.TempDir(), localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Auth = ftpservertest.Auth(ftpservertest.User{Name: "alice", Password: "secret", FS: fsys, Perms: ftpserver.PermAll})
	return ftpservertest.Start(t, "", opts).Addr
}

func TestDiagnoseAgainstFerry(t *testing.T) {
	t.Run("a healthy server exits 0, and 1 with --strict because it offers no TLS", func(t *testing.T) {
		addr := diagnoseServer(t, ftpserver.Options{})
		code, out, stderr := diagnoseCLI("--write-test", "ftp://alice:secret@"+addr+"/")
		if code != 0 || !strings.Contains(out, "0 failed") || !strings.Contains(out, "[ok  ] Write test") {
			t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
		}
		if code, out, _ := diagnoseCLI("--strict", "ftp://alice:secret@"+addr+"/"); code != 1 {
			t.Errorf("--strict: exit %d, want 1\n%s", code, out)
		}
	})
	t.Run("--json gives a report scripts can read", func(t *testing.T) {
		addr := diagnoseServer(t, ftpserver.Options{DisableActive: true})
		code, out, _ := diagnoseCLI("--json", "ftp://alice:secret@"+addr+"/")
		var rep diagnose.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if code != 0 || rep.Failures != 0 {
			t.Errorf("exit %d, %d failures", code, rep.Failures)
		}
		s := rep.Step("active.port")
		if s == nil || s.Status != diagnose.Warning || s.Fault != "active-refused" {
			t.Errorf("active.port = %+v, want a warning active-refused", s)
		}
	})
	t.Run("a wrong password is a failure", func(t *testing.T) {
		addr := diagnoseServer(t, ftpserver.Options{})
		code, out, _ := diagnoseCLI("ftp://alice:wrong@" + addr + "/")
		if code != 1 || !strings.Contains(out, "[FAIL] Login") {
			t.Errorf("exit %d\n%s", code, out)
		}
	})
	t.Run("a closed port is named as refused", func(t *testing.T) {
		code, out, _ := diagnoseCLI("--json", "ftp://127.0.0.1:1/")
		var rep diagnose.Report
		json.Unmarshal([]byte(out), &rep)
		if code != 1 || rep.Step("connect") == nil || rep.Step("connect").Fault != "connect-refused" {
			t.Errorf("exit %d\n%s", code, out)
		}
	})
}
