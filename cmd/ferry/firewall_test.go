package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// firewallCLI runs ferry firewall in process.
func firewallCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(append([]string{"firewall"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// serveConfig writes a ferry serve configuration with an anonymous root.
func serveConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(p, []byte(body+"\n[anonymous]\nenabled = true\nroot = \""+dir+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFirewallCommand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    func(t *testing.T) []string
		code    int
		want    []string
		notWant []string
		stderr  string
	}{
		{"quick mode follows --listen, --passive-ports and --implicit-listen",
			func(*testing.T) []string {
				return []string{"--listen", "192.0.2.5:2121", "--passive-ports", "30000-30010", "--implicit-listen", ":990", "--format", "iptables"}
			}, 0,
			[]string{`#   --listen = "192.0.2.5:2121": control port 2121`, "-A FERRY_IN -p tcp -d 192.0.2.5 --dport 2121 ", "--dport 30000:30010",
				"-A FERRY_OUT -p tcp -s 192.0.2.5 --sport 2120 --dport 1024:65535", "--dport 990 ", "--sport 989 "}, nil, ""},
		{"the config file's ports, active port and NAT settings are used",
			func(t *testing.T) []string {
				return []string{"--config", serveConfig(t, "listen = \"192.0.2.5:21\"\n[passive]\nport_min = 40000\nport_max = 40099\npublic_addr = \"203.0.113.9\"\n"+
					"[[passive.public_addr_by_net]]\nnet = \"192.0.2.0/24\"\naddr = \"192.0.2.5\"\n[active]\nport = 2000\n"), "--format", "ipnat", "--interface", "vtnet0"}
			}, 0,
			[]string{"active.port = 2000: active data from port 2000", "passive.public_addr_by_net: 192.0.2.5 announced to 192.0.2.0/24",
				"rdr vtnet0 203.0.113.9/32 port 40000-40099 -> 192.0.2.5 port 40000 tcp", "config file "}, nil, ""},
		{"--listen overrides the file, as it does for ferry serve",
			func(t *testing.T) []string {
				return []string{"--config", serveConfig(t, "listen = \":21\""), "--listen", ":2121"}
			}, 0, []string{"tcp dport 2121 ct state new accept", "tcp sport 2120 "}, []string{"dport 21 "}, "no passive.port_min/port_max set"},
		{"disable_active leaves the outbound data rule out",
			func(t *testing.T) []string {
				return []string{"--config", serveConfig(t, "[passive]\nport_min = 40000\nport_max = 40001\n[security]\ndisable_active = true\n"), "--format", "pf"}
			}, 0, []string{"security.disable_active = true"}, []string{"pass out"}, ""},
		{"an ephemeral active port and allow_low_port widen the outbound rule, with a warning",
			func(t *testing.T) []string {
				return []string{"--config", serveConfig(t, "[passive]\nport_min = 40000\nport_max = 40001\n[active]\nport = -1\n[security]\nallow_low_port = true\n")}
			}, 0, []string{"\t\ttcp dport 1-65535 ct state new accept"}, []string{"sport"}, "ephemeral ports"},
		{"the proxy's listen, data ports and backend come from its flags",
			func(*testing.T) []string {
				return []string{"--proxy", "--listen", "192.0.2.1:21", "--backend", "198.51.100.2:21", "--data-ports", "50000-50099", "--server-data", "passive"}
			}, 0, []string{"ip daddr 198.51.100.2 tcp dport 21 ct state new accept", "ip daddr 198.51.100.2 tcp dport 1024-65535", "ip daddr 192.0.2.1 tcp dport 50000-50099"},
			[]string{"ip saddr 198.51.100.2"}, "ephemeral ports"},
		{"the proxy's config file gives its destinations",
			func(t *testing.T) []string {
				p := filepath.Join(t.TempDir(), "proxy.toml")
				os.WriteFile(p, []byte("listen = [\":2121\"]\nmode = \"explicit\"\nallow_destinations = [\"198.51.100.*:21\", \"ftp.example.org:2100\"]\ndata_ports = \"50000-50009\"\nactive_source_port = 20\n"), 0o644)
				return []string{"--proxy", "--config", p}
			}, 0, []string{"ip daddr 198.51.100.0/24 tcp dport 21 ct state new accept", "ip daddr ftp.example.org tcp dport 2100", "tcp sport 20 tcp dport 1024-65535",
				"ip saddr ftp.example.org tcp dport 50000-50009"}, nil, ""},
		{"--config with a quick-mode flag is a usage error",
			func(t *testing.T) []string { return []string{"--config", serveConfig(t, ""), "--passive-ports", "1-2"} }, 2, nil, nil, "cannot be combined"},
		{"a bad passive range is a usage error", func(*testing.T) []string { return []string{"--passive-ports", "3000-2000"} }, 2, nil, nil, "--passive-ports"},
		{"an unknown format is a usage error", func(*testing.T) []string { return []string{"--format", "ipchains"} }, 2, nil, nil, "unknown format"},
		{"a host name in --listen is a usage error", func(*testing.T) []string { return []string{"--listen", "ftp.example.org:21"} }, 2, nil, nil, "IP address"},
		{"a config file that does not validate names the key",
			func(t *testing.T) []string {
				return []string{"--config", serveConfig(t, "[passive]\nport_min = 80\nport_max = 90\n")}
			}, 1, nil, nil, "passive.port_min"},
		{"the reverse proxy needs a backend", func(*testing.T) []string { return []string{"--proxy"} }, 2, nil, nil, "--backend"},
		{"serve-only flags are refused with --proxy",
			func(*testing.T) []string {
				return []string{"--proxy", "--backend", "h:21", "--public-addr", "203.0.113.1"}
			}, 2, nil, nil, "--public-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := firewallCLI(tc.args(t)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.stderr)
			}
		})
	}
}
