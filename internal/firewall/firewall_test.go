package firewall

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// serverInput is a server behind NAT with explicit and implicit FTPS ports.
func serverInput() Input {
	a := netip.MustParseAddr("192.0.2.10")
	return Input{
		Settings: []string{
			`listen = "192.0.2.10:21": control port 21`,
			`tls.implicit_listen = "192.0.2.10:990": implicit FTPS control port 990`,
			`passive.port_min/port_max = 30000-30999: passive data ports`,
			`active.port = 0: active data from control port - 1 (20, 989)`,
			`passive.public_addr = 203.0.113.7: announced in PASV replies (NAT)`,
		},
		Listeners: []Listener{
			{Addr: a, Port: 21, ActivePort: 20, Setting: `listen = "192.0.2.10:21"`},
			{Addr: a, Port: 990, ActivePort: 989, Setting: `tls.implicit_listen = "192.0.2.10:990"`},
		},
		PassiveMin: 30000, PassiveMax: 30999,
		ClientPortMin: 1024,
		PublicAddr:    netip.MustParseAddr("203.0.113.7"),
		NATTarget:     a,
		Interface:     "fxp0",
	}
}

// defaultsInput is ferry serve with nothing set: any address, the kernel's
// passive ports.
func defaultsInput() Input {
	return Input{
		Settings:  []string{`listen = ":21": control port 21`},
		Listeners: []Listener{{Port: 21, ActivePort: 20, Setting: `listen = ":21"`}},
	}
}

// proxyInput is a reverse proxy in front of one server.
func proxyInput() Input {
	return Input{
		Proxy: true,
		Settings: []string{
			`listen = "192.0.2.1:21": control port 21`,
			`data_ports = "50000-50099": data listeners (client side and server side)`,
			`active_source_port = 20: active data to clients from port 20`,
			`mode = reverse`, `backend "198.51.100.2:21"`, `server_data = same`,
		},
		Listeners:     []Listener{{Addr: netip.MustParseAddr("192.0.2.1"), Port: 21, ActivePort: 20, Setting: `listen = "192.0.2.1:21"`}},
		PassiveMin:    50000,
		PassiveMax:    50099,
		ClientPortMin: 1024,
		Backends:      []Backend{{Host: "198.51.100.2", Port: 21}},
		ServerPassive: true, ServerActive: true,
	}
}

var cases = []struct {
	name string
	in   func() Input
}{
	{"server", serverInput},
	{"defaults", defaultsInput},
	{"proxy", proxyInput},
}

func TestGolden(t *testing.T) {
	for _, c := range cases {
		for _, f := range Formats {
			t.Run(c.name+" as "+f, func(t *testing.T) {
				got, _, err := Generate(c.in(), f)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", c.name+"."+f+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if got != string(want) {
					t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, got)
				}
			})
		}
	}
}

func TestEveryOutputNamesItsSettings(t *testing.T) {
	for _, c := range cases {
		in := c.in()
		for _, f := range Formats {
			got, _, _ := Generate(in, f)
			for _, s := range in.Settings {
				if !strings.Contains(got, "#   "+s+"\n") {
					t.Errorf("%s %s: header lacks %q", c.name, f, s)
				}
			}
		}
	}
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        func() Input
		format    string
		want      []string
		notWant   []string
		wantWarns int
	}{
		{"the passive range and the active source port are explicit", serverInput, "nft",
			[]string{"ip daddr 192.0.2.10 tcp dport 30000-30999 ct state new accept", "ip saddr 192.0.2.10 tcp sport 20 tcp dport 1024-65535 ct state new accept",
				"tcp sport 989 tcp dport 1024-65535"}, nil, 0},
		{"the helper variant opens no data ports", serverInput, "nft-helper",
			[]string{`tcp dport 21 ct helper set "ftp-standard"`, `tcp dport 990 ct helper set "ftp-standard"`},
			[]string{"dport 30000-30999", "sport 20"}, 0},
		{"without a passive range every unprivileged port opens, with a warning", defaultsInput, "iptables",
			[]string{"-A FERRY_IN -p tcp --dport 1024:65535 -m conntrack --ctstate NEW -j ACCEPT", "# WARNING: no passive.port_min/port_max set"}, nil, 1},
		{"disabled active mode has no outbound data rule", func() Input { in := serverInput(); in.DisableActive = true; return in }, "pf",
			[]string{"Active mode is off"}, []string{"pass out"}, 0},
		{"ephemeral active ports allow any source port, with a warning", func() Input {
			in := defaultsInput()
			in.Listeners[0].ActivePort = 0
			return in
		}, "nft", []string{"tcp dport 1024-65535 ct state new accept", "WARNING: active data connections come from ephemeral ports"}, []string{"sport"}, 2},
		{"allow_low_port reaches every client port", func() Input { in := serverInput(); in.ClientPortMin = 1; return in }, "ipf",
			[]string{"from 192.0.2.10 port = 20 to any port >= 1 flags S/SA keep state"}, nil, 0},
		{"the proxy reaches its backend and its data ports on both sides", proxyInput, "iptables",
			[]string{"-A FERRY_OUT -p tcp -d 198.51.100.2 --dport 21 -m conntrack", "-A FERRY_OUT -p tcp -d 198.51.100.2 --dport 1024:65535",
				"-A FERRY_IN -p tcp -s 198.51.100.2 --dport 50000:50099"}, nil, 0},
		{"ipnat redirects the control port and the passive range", serverInput, "ipnat",
			[]string{"rdr fxp0 203.0.113.7/32 port 21 -> 192.0.2.10 port 21 tcp", "rdr fxp0 203.0.113.7/32 port 30000-30999 -> 192.0.2.10 port 30000 tcp",
				"map fxp0 192.0.2.10/32 -> 203.0.113.7/32", "proxy port ftp ftp/tcp", "ferry proxy"}, nil, 0},
		{"ipnat without public_addr says what to set", defaultsInput, "ipnat",
			[]string{"set passive.public_addr"}, []string{"\nrdr "}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warns, err := Generate(tc.in(), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("output has %q:\n%s", w, got)
				}
			}
			if len(warns) != tc.wantWarns {
				t.Errorf("%d warnings, want %d: %q", len(warns), tc.wantWarns, warns)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	if _, _, err := Generate(Input{}, "nft"); err == nil {
		t.Error("no listener: no error")
	}
	if _, _, err := Generate(defaultsInput(), "ipchains"); err == nil || !strings.Contains(err.Error(), "nft") {
		t.Errorf("unknown format: %v", err)
	}
	in := defaultsInput()
	in.Listeners[0].Port = 70000
	if _, _, err := Generate(in, "nft"); err == nil {
		t.Error("port 70000: no error")
	}
}
