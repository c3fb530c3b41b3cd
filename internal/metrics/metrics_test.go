package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// sickAuth is an Authenticator whose user store is down.
type sickAuth struct{ ftpserver.Authenticator }

func (sickAuth) CheckHealth(context.Context) error { return errors.New("database down") }

func TestHealthAndReadiness(t *testing.T) {
	t.Run("healthz and readyz answer 200 for a serving server", func(t *testing.T) {
		f := startFerry(t, ftpserver.Options{}, nil)
		if code, body := f.get(t, "/healthz"); code != 200 || body != "ok\n" {
			t.Fatalf("/healthz = %d %q", code, body)
		}
		if code, body := f.get(t, "/readyz"); code != 200 {
			t.Fatalf("/readyz = %d %q", code, body)
		}
	})
	t.Run("readyz answers 503 with the reason when the user store fails", func(t *testing.T) {
		f := startFerry(t, ftpserver.Options{Auth: sickAuth{ftpservertest.Auth()}}, nil)
		code, body := f.get(t, "/readyz")
		if code != 503 || !strings.Contains(body, "database down") || strings.Count(body, "\n") != 1 {
			t.Fatalf("/readyz = %d %q", code, body)
		}
		if code, _ := f.get(t, "/healthz"); code != 200 {
			t.Fatalf("/healthz = %d while the store is down; the process is up", code)
		}
	})
	t.Run("readyz answers 503 once the server shuts down", func(t *testing.T) {
		f := startFerry(t, ftpserver.Options{}, nil)
		f.srv.Close()
		if code, body := f.get(t, "/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
			t.Fatalf("/readyz = %d %q", code, body)
		}
	})
}

// exercise logs in (one failure, one success), downloads, uploads, lists
// and fails a storage operation.
func exercise(t *testing.T, f *ferry) {
	t.Helper()
	c := ftpservertest.Dial(t, f.srv.Addr)
	c.Do(331, "USER u")
	c.Do(530, "PASS wrong")
	c.Login("u", "p")
	c.Do(200, "TYPE I")
	if got := c.Retr("f.bin"); len(got) != 4096 {
		t.Fatalf("RETR: %d bytes", len(got))
	}
	c.Stor("STOR", "up.bin", "0123456789")
	c.Listing("NLST")
	c.Do(550, "DELE missing")
	c.Do(221, "QUIT")
}

func TestScrapedMetrics(t *testing.T) {
	f := startFerry(t, ftpserver.Options{}, map[string][]byte{"f.bin": bytes.Repeat([]byte("x"), 4096)})
	exercise(t, f)
	code, body := f.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`ferry_logins_total{method="password",result="failed"} 1`,
		`ferry_logins_total{method="password",result="ok"} 1`,
		`ferry_transfers_total{direction="download",result="ok"} 1`,
		`ferry_transfers_total{direction="upload",result="ok"} 1`,
		`ferry_transfers_total{direction="listing",result="ok"} 1`,
		`ferry_transfer_bytes_total{direction="download"} 4096`,
		`ferry_transfer_bytes_total{direction="upload"} 10`,
		`ferry_storage_errors_total{code="550",op="DELE"} 1`,
		`ferry_data_connection_setup_seconds_count{mode="passive",tls="false"} 3`,
		`ferry_transfer_duration_seconds_count{direction="download"} 1`,
		`ferry_passive_ports 64512`,
		`ferry_sessions_opened_total 1`,
		`ferry_sessions{state="logged_in"} `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, leak := range []string{`"u"`, "f.bin", "up.bin", "127.0.0.1"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics names %s: labels must stay low-cardinality", leak)
		}
	}
	if t.Failed() {
		t.Logf("scraped:\n%s", body)
	}

	t.Run("promtool check metrics finds no problem", func(t *testing.T) {
		promtool := needTool(t, "promtool")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Fatalf("promtool check metrics: %v\n%s", err, out)
		}
	})
}
