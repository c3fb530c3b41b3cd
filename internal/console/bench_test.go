package console_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// BenchmarkDashboard1000Sessions renders the dashboard (the first paint:
// the server-rendered page) with 1,000 logged-in sessions connected.
func BenchmarkDashboard1000Sessions(b *testing.B) {
	e := newEnvWith(b, nil, ftpserver.Options{MaxSessions: 2000, MaxSessionsPerIP: 2000,
		MaxUnauthSessions: 2000, MaxUnauthSessionsPerIP: 2000}, nil)
	for range 1000 {
		c := ftpservertest.Dial(b, e.ftp.Addr)
		c.Login("u", "p")
		c.Do(ftp.CodeOK, "NOOP")
	}
	if n := len(e.ftp.Sessions()); n != 1000 {
		b.Fatalf("%d sessions", n)
	}
	br := newBrowser(b, e)
	br.login()
	req, _ := http.NewRequest("GET", e.http.URL+"/", nil)
	b.ReportAllocs()
	var page int64
	for b.Loop() {
		resp, err := br.c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < 100000 {
			b.Fatalf("dashboard: %d, %d bytes", resp.StatusCode, n)
		}
		page = n
	}
	b.ReportMetric(float64(page), "page-bytes")
}
