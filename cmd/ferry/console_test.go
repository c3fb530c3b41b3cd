package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/console"
	"github.com/ferryftp/ferry/password"
)

// ferryAdmin runs `ferry admin ARGS` with stdin and returns the exit code
// and outputs.
func ferryAdmin(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(append([]string{"admin"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAdminCommand(t *testing.T) {
	f := filepath.Join(t.TempDir(), "admin.toml")
	if code, _, errOut := ferryAdmin("s3cret\n", "add", "alice", "--accounts", f); code != 0 {
		t.Fatalf("admin add: %d %s", code, errOut)
	}
	if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("accounts file: %v %v", fi, err)
	}
	code, tok, errOut := ferryAdmin("", "token", "ci", "--admin", "alice", "--scope", "full", "--accounts", f)
	if code != 0 || !strings.HasPrefix(tok, "fa_") {
		t.Fatalf("admin token: %d %q %s", code, tok, errOut)
	}
	tok = strings.TrimSpace(tok)
	data, _ := os.ReadFile(f)
	if bytes.Contains(data, []byte(tok)) || bytes.Contains(data, []byte("s3cret")) {
		t.Fatal("a secret is stored in clear")
	}
	acc, err := console.ParseAccounts(data)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := password.Verify(acc.Users[0].Password, "s3cret"); !ok || acc.Tokens[0].SHA256 != console.HashToken(tok) {
		t.Fatalf("accounts %+v", acc)
	}
	for _, bad := range [][]string{
		{"token", "ci", "--admin", "alice"}, // exists
		{"token", "x", "--admin", "bob"},    // no such admin
		{"token", "y", "--admin", "alice", "--scope", "root"},
		{"revoke", "nope"},
		{"del", "nope"},
	} {
		if code, _, _ := ferryAdmin("", append(bad, "--accounts", f)...); code != 1 {
			t.Errorf("admin %v: exit %d, want 1", bad, code)
		}
	}
	if code, _, _ := ferryAdmin("", "list"); code != 2 {
		t.Errorf("admin list without a file: exit %d, want 2", code)
	}
	_, list, _ := ferryAdmin("", "list", "--accounts", f)
	if list != "admin alice\ntoken ci admin=alice scope=full\n" {
		t.Errorf("list:\n%s", list)
	}
	if code, _, _ := ferryAdmin("", "revoke", "ci", "--accounts", f); code != 0 {
		t.Fatal("revoke failed")
	}
	if _, list, _ := ferryAdmin("", "list", "--accounts", f); strings.Contains(list, "token") {
		t.Errorf("token still listed after revoke:\n%s", list)
	}
}

func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9121": true, "[::1]:9121": true, "localhost:1": true, "127.8.0.1:1": true,
		":9121": false, "0.0.0.0:9121": false, "192.0.2.1:80": false, "[::]:1": false, "example.com:80": false,
	} {
		if got := loopbackAddr(addr); got != want {
			t.Errorf("loopbackAddr(%q) = %v", addr, got)
		}
	}
}

func TestServeConsoleRefusesPlainHTTPOffLoopback(t *testing.T) {
	var errOut bytes.Buffer
	f := filepath.Join(t.TempDir(), "admin.toml")
	code := run([]string{"serve", t.TempDir(), "--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0", "--admin-accounts", f},
		strings.NewReader(""), io.Discard, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--admin-insecure-http") {
		t.Errorf("exit %d, stderr %s", code, errOut.String())
	}
	errOut.Reset()
	code = run([]string{"serve", t.TempDir(), "--listen", "127.0.0.1:0", "--admin-accounts", f},
		strings.NewReader(""), io.Discard, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "admin listener") {
		t.Errorf("console without admin listener: exit %d, stderr %s", code, errOut.String())
	}
}

func TestServeConsoleAPI(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "admin.toml")
	if code, _, errOut := ferryAdmin("pw\n", "add", "alice", "--accounts", f); code != 0 {
		t.Fatal(errOut)
	}
	_, tok, _ := ferryAdmin("", "token", "mon", "--admin", "alice", "--accounts", f)
	tok = strings.TrimSpace(tok)
	addr, admin := freePort(t), freePort(t)
	cmd, logs := startFerry(t, bin, addr, "serve", dir, "--listen", addr, "--admin-listen", admin, "--admin-accounts", f)
	s := connect(t, addr)
	s.do("USER anonymous", 331)
	s.do("PASS x", 230)

	get := func(path, token string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+admin+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/api/v1/sessions", tok); code != 200 || !strings.Contains(body, `"user":"anonymous"`) {
		t.Errorf("sessions: %d %s", code, body)
	}
	if code, _ := get("/api/v1/sessions", ""); code != 401 {
		t.Errorf("sessions without a token: %d", code)
	}
	if code, body := get("/metrics", ""); code != 200 || !strings.Contains(body, "ferry_") {
		t.Errorf("/metrics: %d", code)
	}
	if code, _ := get("/healthz", ""); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry exited with %v; logs:\n%s", err, logs.String())
	}
}

func TestServeConsoleUsersFromConfig(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "admin.toml")
	ferryAdmin("pw\n", "add", "alice", "--accounts", f)
	_, tok, _ := ferryAdmin("", "token", "ops", "--admin", "alice", "--scope", "full", "--accounts", f)
	tok = strings.TrimSpace(tok)
	h, err := password.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	addr, admin := freePort(t), freePort(t)
	conf := filepath.Join(dir, "ferry.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen = %q\nusers_db = %q\n[admin]\nlisten = %q\naccounts = %q\n"+
		"[[users]]\nname = \"ann\"\npassword = %q\nroot = %q\n", addr, filepath.Join(dir, "users.db"), admin, f, h, dir)), 0o600)
	cmd, logs := startFerry(t, bin, addr, "serve", "--config", conf)

	api := func(method, path, body string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+admin+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	root := t.TempDir()
	if code, body := api("POST", "/api/v1/users", `{"name":"zed","password":"zpw","root":"`+root+`"}`); code != 201 {
		t.Fatalf("add user: %d %s\n%s", code, body, logs.String())
	}
	if code, body := api("POST", "/api/v1/users", `{"name":"ann","password":"x","root":"`+root+`"}`); code != 409 {
		t.Errorf("add over the file's user: %d %s", code, body)
	}
	code, body := api("GET", "/api/v1/users", "")
	if code != 200 || !strings.Contains(body, `"name":"zed","source":"users_db"`) || !strings.Contains(body, `"name":"ann","source":"config file"`) {
		t.Errorf("users: %d %s", code, body)
	}
	s := connect(t, addr)
	s.do("USER zed", 331)
	s.do("PASS zpw", 230)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry exited with %v; logs:\n%s", err, logs.String())
	}
}

func TestServeConsoleOverTLS(t *testing.T) {
	var errOut bytes.Buffer
	if code := run([]string{"serve", t.TempDir(), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--admin-tls"},
		strings.NewReader(""), io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "FTPS certificate") {
		t.Errorf("--admin-tls without FTPS: exit %d, %s", code, errOut.String())
	}

	bin := buildFerry(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "admin.toml")
	ferryAdmin("pw\n", "add", "alice", "--accounts", f)
	addr, admin := freePort(t), freePort(t)
	cmd, logs := startFerry(t, bin, addr, "serve", dir, "--listen", addr, "--tls-optional",
		"--admin-listen", admin, "--admin-accounts", f, "--admin-tls")
	client := &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The login form's token comes with a cookie of its own (double submit).
	page, err := client.Get("https://" + admin + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(body)
	if m == nil || len(page.Cookies()) != 1 || !page.Cookies()[0].Secure {
		t.Fatalf("login page: token %q, cookies %+v", m, page.Cookies())
	}
	req, _ := http.NewRequest("POST", "https://"+admin+"/login",
		strings.NewReader(url.Values{"name": {"alice"}, "password": {"pw"}, "csrf": {string(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(page.Cookies()[0])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ck := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(ck) != 1 || !ck[0].Secure || !ck[0].HttpOnly {
		t.Errorf("login over HTTPS: %d, cookies %+v", resp.StatusCode, ck)
	}
	if resp.TLS == nil {
		t.Error("not TLS")
	}
	if resp, err := client.Get("https://" + admin + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/metrics over HTTPS: %v", err)
	} else {
		resp.Body.Close()
	}
	// Go's server answers plain HTTP on a TLS listener with a bare 400.
	if resp, err := http.Get("http://" + admin + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS admin listener: %d", resp.StatusCode)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry exited with %v; logs:\n%s", err, logs.String())
	}
}
