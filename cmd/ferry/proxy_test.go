package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestProxyExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"proxy without a backend is a usage error", []string{"proxy", "--listen", "127.0.0.1:0"}, 2},
		{"proxy with an unknown mode is a usage error", []string{"proxy", "--mode", "sideways"}, 2},
		{"proxy with a bad port range is a usage error", []string{"proxy", "--backend", "h:21", "--data-ports", "5-1"}, 2},
		{"proxy with client TLS and no certificate is a usage error", []string{"proxy", "--backend", "h:21", "--client-tls", "explicit"}, 2},
		{"proxy with a missing config file is a runtime error", []string{"proxy", "--config", "/does/not/exist.toml"}, 1},
		{"proxy help succeeds", []string{"proxy", "--help"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := run(tc.args, strings.NewReader(""), &out, &errOut); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.code, errOut.String())
			}
		})
	}
	t.Run("a config file with an unknown key is a runtime error naming the key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "proxy.toml")
		os.WriteFile(path, []byte("backend = \"127.0.0.1:21\"\nbakend = \"x\"\n"), 0o644)
		var out, errOut bytes.Buffer
		if got := run([]string{"proxy", "--config", path}, strings.NewReader(""), &out, &errOut); got != 1 || !strings.Contains(errOut.String(), "bakend") {
			t.Errorf("exit %d, stderr %q", got, errOut.String())
		}
	})
}

func TestProxyRelaysToServeAndStopsOnSIGTERM(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello through the proxy"), 0o644)
	srvAddr := freePort(t)
	startFerry(t, bin, srvAddr, "serve", dir, "--listen", srvAddr)
	cfg := filepath.Join(t.TempDir(), "proxy.toml")
	pxAddr := freePort(t)
	os.WriteFile(cfg, []byte("listen = [\""+pxAddr+"\"]\nbackend = \""+srvAddr+"\"\n[[rule]]\naction = \"deny\"\ncommands = [\"DELE\"]\n"), 0o644)
	cmd, logs := startFerry(t, bin, pxAddr, "proxy", "--config", cfg)

	s := connect(t, pxAddr)
	s.do("USER anonymous", 331)
	s.do("PASS guest@example.com", 230)
	if got := s.retr("hello.txt"); got != "hello through the proxy" {
		t.Errorf("got %q", got)
	}
	s.do("DELE hello.txt", 550)
	s.do("QUIT", 221)

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry proxy exited with %v; logs:\n%s", err, logs.String())
	}
	for _, want := range []string{"msg=transfer", "command=RETR", "msg=session", "command denied by policy"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
