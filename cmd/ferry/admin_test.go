package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/password"
)

// httpGet fetches url and returns status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// awaitMetric polls url until its body contains want, for up to 10s.
func awaitMetric(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, body := httpGet(t, url)
		if strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks %q after 10s:\n%s", url, want, body)
		}
		<-tick.C
	}
}

func TestServeAdminListenerFromTheConfigFile(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "files")
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "f.txt"), []byte("data"), 0o644)
	addr, admin := freePort(t), freePort(t)
	h, err := password.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "ferry.toml")
	good := fmt.Sprintf("listen = %q\n[admin]\nlisten = %q\n[[users]]\nname = \"ann\"\npassword = %q\nroot = %q\n", addr, admin, h, root)
	os.WriteFile(conf, []byte(good), 0o600)
	cmd, logs := startFerry(t, bin, addr, "serve", "--config", conf)
	base := "http://" + admin

	if code, body := httpGet(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	s := connect(t, addr)
	s.do("USER ann", 331)
	s.do("PASS wrong", 530)
	s.do("USER ann", 331)
	s.do("PASS pw", 230)
	if got := s.retr("f.txt"); got != "data" {
		t.Fatalf("RETR = %q", got)
	}
	_, body := httpGet(t, base+"/metrics")
	for _, want := range []string{
		`ferry_logins_total{method="password",result="failed"} 1`,
		`ferry_logins_total{method="password",result="ok"} 1`,
		`ferry_transfers_total{direction="download",result="ok"} 1`,
		`ferry_transfer_bytes_total{direction="download"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	t.Run("reloads are counted, the good and the bad", func(t *testing.T) {
		cmd.Process.Signal(syscall.SIGHUP)
		awaitMetric(t, base+"/metrics", `ferry_config_reloads_total{result="ok"} 1`)
		os.WriteFile(conf, []byte(good+"bogus_key = 1\n"), 0o600)
		cmd.Process.Signal(syscall.SIGHUP)
		awaitMetric(t, base+"/metrics", `ferry_config_reloads_total{result="failed"} 1`)
	})
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry exited with %v; logs:\n%s", err, logs.String())
	}
}

func TestServeAndProxyAdminListenFlag(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello"), 0o644)
	srvAddr, srvAdmin := freePort(t), freePort(t)
	startFerry(t, bin, srvAddr, "serve", dir, "--listen", srvAddr, "--admin-listen", srvAdmin)
	pxAddr, pxAdmin := freePort(t), freePort(t)
	startFerry(t, bin, pxAddr, "proxy", "--listen", pxAddr, "--backend", srvAddr, "--admin-listen", pxAdmin)

	s := connect(t, pxAddr)
	s.do("USER anonymous", 331)
	s.do("PASS guest@", 230)
	s.do("TYPE I", 200)
	if got := s.retr("hello.txt"); got != "hello" {
		t.Fatalf("RETR through the proxy = %q", got)
	}
	awaitMetric(t, "http://"+srvAdmin+"/metrics", `ferry_logins_total{method="anonymous",result="ok"} 1`)
	_, body := httpGet(t, "http://"+pxAdmin+"/metrics")
	for _, want := range []string{
		`ferry_proxy_sessions{state="logged_in"} 1`,
		`ferry_proxy_sessions_opened_total 2`, // startFerry's probe and this session
		`ferry_proxy_transfers_total 1`,
		`ferry_proxy_bytes_total{direction="down"} 5`,
		`ferry_proxy_rewritten_total{command="EPSV"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("proxy /metrics lacks %q:\n%s", want, body)
		}
	}
	if code, body := httpGet(t, "http://"+pxAdmin+"/readyz"); code != 200 {
		t.Errorf("proxy /readyz = %d %q", code, body)
	}
}
