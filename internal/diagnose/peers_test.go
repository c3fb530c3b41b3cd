package diagnose_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/diagnose"
	"github.com/ferryftp/ferry/internal/peers"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/")

// normalise replaces what changes from run to run (ports, sizes, times,
// certificate dates) so reports can be compared with golden files.
func normalise(s string) string {
	for _, r := range []struct{ re, with string }{
		{`(\d+\.\d+\.\d+\.\d+|\]):\d+`, "${1}:PORT"},
		{`port \d+ \(`, "port P ("},
		{`LIST \d+ bytes`, "LIST N bytes"},
		{`file is [+-][0-9.]+m?s from`, "file is OFFSET from"},
		{`\d{4}-\d{2}-\d{2}`, "DATE"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.with)
	}
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".txt")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s (run with -update after checking):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

func TestPeersReports(t *testing.T) {
	if testing.Short() {
		t.Skip("peers in -short mode")
	}
	// The certificate is valid for an hour, so it is reported as expiring.
	cert := peers.SelfSignedCert(t)
	cases := []struct {
		name string
		kind string
		opts peers.Options
		tls  diagnose.TLSMode
		ok   []string
		warn map[string]string
	}{
		{"vsftpd-plain", peers.Vsftpd, peers.Options{}, diagnose.TLSAuto,
			[]string{"passive.pasv", "passive.epsv", "active.port", "active.eprt", "list", "write"},
			map[string]string{"tls.auth": "no-tls", "mlsd": "no-mlsd"}},
		{"vsftpd-tls", peers.Vsftpd, peers.Options{CertFile: cert.CertFile, KeyFile: cert.KeyFile}, diagnose.TLSAuto,
			[]string{"tls.auth", "passive.pasv", "passive.epsv", "active.port", "list", "write", "tls.required"},
			map[string]string{"tls.reuse": "tls-reuse-required", "mlsd": "no-mlsd", "tls.certificate": "cert-expiring"}},
		{"pure-ftpd-plain", peers.PureFTPd, peers.Options{}, diagnose.TLSAuto,
			[]string{"passive.pasv", "passive.epsv", "active.port", "active.eprt", "list", "mlsd", "write", "clock"},
			map[string]string{"tls.auth": "no-tls"}},
		{"pure-ftpd-tls", peers.PureFTPd, peers.Options{CertFile: cert.CertFile, KeyFile: cert.KeyFile}, diagnose.TLSAuto,
			[]string{"tls.auth", "passive.pasv", "passive.epsv", "active.port", "list", "mlsd", "write", "alg", "tls.reuse"},
			map[string]string{"tls.certificate": "cert-expiring"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := peers.Start(t, tc.kind, tc.opts)
			os.WriteFile(filepath.Join(s.Root, "hello.txt"), []byte("hello\n"), 0o644)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rep := diagnose.Run(ctx, diagnose.Options{
				Addr: s.Addr, User: s.User, Password: s.Password, TLS: tc.tls, RootCAs: cert.Pool,
				ServerName: "localhost", WriteTest: true, DataTimeout: 5 * time.Second,
			})
			var b strings.Builder
			rep.WriteText(&b)
			t.Logf("\n%s", b.String())
			for _, id := range tc.ok {
				expect(t, rep, id, diagnose.OK, "")
			}
			for id, fault := range tc.warn {
				expect(t, rep, id, diagnose.Warning, fault)
			}
			if rep.Failures != 0 {
				t.Errorf("%d failures, want 0", rep.Failures)
			}
			golden(t, tc.name, normalise(b.String()))
		})
	}
}
