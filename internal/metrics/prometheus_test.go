package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/proc"
)

// startPrometheus runs the prometheus binary on a free loopback port,
// scraping target every second, until the test ends. It returns the base
// URL of its HTTP API once it is ready.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin := needTool(t, "prometheus")
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"+
		"scrape_configs:\n  - job_name: ferry\n    static_configs:\n      - targets: [%q]\n", target)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = proc.StartGroup(true)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		proc.Kill(cmd.Process.Pid)
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	poll(t, 30*time.Second, "prometheus to be ready", func() bool {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", logs.String())
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base
}

// poll calls cond every 100ms until it holds, failing the test after limit.
func poll(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		<-tick.C
	}
}

// query runs an instant PromQL query and returns the value of its single
// sample, or false when there is none yet.
func query(t *testing.T, base, q string) (float64, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/query?query="+url.QueryEscape(q), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v: %s", q, err, b)
	}
	if len(r.Data.Result) != 1 {
		return 0, false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

func TestPrometheusScrapesATransfer(t *testing.T) {
	f := startFerry(t, ftpserver.Options{}, nil)
	prom := startPrometheus(t, f.admin.Addr().String())

	// An upload that stays open until Prometheus has seen it running.
	c := ftpservertest.Dial(t, f.srv.Addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")
	d := c.EPSV()
	c.Do(150, "STOR big.bin")
	chunk := bytes.Repeat([]byte("ferry"), 64<<10/5)
	if _, err := d.Write(chunk); err != nil {
		t.Fatal(err)
	}
	poll(t, 30*time.Second, "Prometheus to see the running transfer", func() bool {
		v, ok := query(t, prom, `ferry_sessions{job="ferry",state="transferring"}`)
		return ok && v == 1
	})
	var size int
	for i := 0; i < 16; i++ {
		n, err := d.Write(chunk)
		if err != nil {
			t.Fatal(err)
		}
		size += n
	}
	size += len(chunk)
	d.Close()
	c.Expect(226)
	c.Do(221, "QUIT")

	poll(t, 30*time.Second, "Prometheus to see the finished upload", func() bool {
		n, ok1 := query(t, prom, `ferry_transfers_total{direction="upload",result="ok"}`)
		b, ok2 := query(t, prom, `ferry_transfer_bytes_total{direction="upload"}`)
		s, ok3 := query(t, prom, `ferry_sessions{state="transferring"}`)
		return ok1 && ok2 && ok3 && n >= 1 && b >= float64(size) && s == 0
	})
	if b, _ := query(t, prom, `ferry_transfer_bytes_total{direction="upload"}`); b != float64(size) {
		t.Errorf("Prometheus has %v upload bytes, want %d", b, size)
	}
}
