package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDocExampleParses(t *testing.T) {
	doc, err := os.ReadFile("../../docs/proxy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```toml\n")
	if !ok {
		t.Fatal("docs/proxy.md has no toml block")
	}
	block, _, _ := strings.Cut(rest, "```")
	c, err := ParseProxy([]byte(block))
	if err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	o, err := c.ProxyOptions()
	if err != nil {
		t.Fatalf("the example is invalid: %v", err)
	}
	if o.Backend != "198.51.100.2:21" || o.DataPortMin != 50000 || o.IdleTimeout != 5*time.Minute ||
		len(o.Rules) != 3 || o.UserBackends["alice"] != "198.51.100.3:21" ||
		o.MaxUnauthSessions != 250 || o.MaxUnauthSessionsPerIP != 10 || o.MaxLoginFailures != 10 ||
		o.BanWindow != 10*time.Minute || o.BanDuration != 15*time.Minute {
		t.Errorf("options: %+v", o)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, file, want string }{
		{"an unknown key is an error", "backend = \"h:21\"\nbakend = \"x\"\n", `unknown key "bakend"`},
		{"an unknown key in a table is an error", "backend = \"h:21\"\n[client_tls]\nmod = \"x\"\n", `"client_tls.mod"`},
		{"an upper-case key is an error", "Backend = \"h:21\"\n", "lower case"},
		{"a bare number as a duration is an error", "backend = \"h:21\"\nidle_timeout = 5\n", "duration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseProxy([]byte(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	for _, c := range []struct{ name, file, want string }{
		{"an unknown mode is refused", "mode = \"sideways\"\n", "unknown mode"},
		{"reverse mode without a backend is refused", "mode = \"reverse\"\n", "backend"},
		{"a low data port range is refused", "backend = \"h:21\"\ndata_ports = \"20-30\"\n", "data_ports"},
		{"client TLS without a certificate is refused", "backend = \"h:21\"\n[client_tls]\nmode = \"explicit\"\n", "cert"},
		{"a rule with an unknown action is refused", "backend = \"h:21\"\n[[rule]]\naction = \"drop\"\n", "action"},
		{"PROXY protocol version 3 is refused", "backend = \"h:21\"\nproxy_protocol = 3\n", "PROXY protocol"},
		{"an admin listen address without a port is refused", "backend = \"h:21\"\n[admin]\nlisten = \"localhost\"\n", "admin.listen"},
		{"the console's keys are refused", "backend = \"h:21\"\n[admin]\nlisten = \"127.0.0.1:9\"\ntls = true\n", "admin.tls"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseProxy([]byte(c.file))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cfg.ProxyOptions(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	t.Run("a generated certificate is written next to the file and loaded", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "proxy.toml")
		os.WriteFile(path, []byte("backend = \"h:21\"\n[client_tls]\nmode = \"explicit\"\ncert = \"c.pem\"\nkey = \"k.pem\"\ngenerate = true\nhosts = [\"localhost\"]\n"), 0o644)
		cfg, err := LoadProxy(path)
		if err != nil {
			t.Fatal(err)
		}
		o, err := cfg.ProxyOptions()
		if err != nil {
			t.Fatal(err)
		}
		if o.ClientTLS == nil || len(o.ClientTLS.Certificates) != 1 {
			t.Fatal("no certificate")
		}
		if fi, err := os.Stat(filepath.Join(dir, "k.pem")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file: %v %v", fi, err)
		}
	})
}
