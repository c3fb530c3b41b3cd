package config

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/password"
)

const examplePath = "../../ferry.example.toml"

func TestTheExampleFileLoads(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	// As shipped: two users, no LAN address override, no S3 user (those
	// are commented-out examples).
	if c.Listen != ":21" || c.Limits.IdleTimeout.get() != 5*time.Minute || len(c.Users) != 2 ||
		len(c.Passive.PublicAddrByNet) != 0 {
		t.Fatalf("unexpected values: %+v", c)
	}
	// The commented-out examples, uncommented, are valid too.
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(t.TempDir(), "full.toml")
	if err := os.WriteFile(full, uncommentExamples(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(full)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Users) != 3 || c.Passive.PublicAddrByNet[0].Addr != "192.168.1.10" {
		t.Fatalf("unexpected values with the examples: %+v", c)
	}
	// The example's roots do not exist here; everything else must validate.
	for i := range c.Users {
		if c.Users[i].S3 == nil {
			c.Users[i].Root = t.TempDir()
		}
	}
	if s3 := c.Users[2].S3; s3 == nil || s3.Bucket != "ferry-uploads" || s3.Credentials != "env:SCANNER_AWS_KEY,SCANNER_AWS_SECRET" {
		t.Fatalf("the S3 user's storage: %+v", s3)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// uncommentExamples turns the example file's commented-out blocks ("# key =
// value", "# [table]") into live lines; prose comments stay comments.
func uncommentExamples(data []byte) []byte {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "# ")
		if ok && (strings.HasPrefix(rest, "[") || regexp.MustCompile(`^[a-z_0-9]+\s*=`).MatchString(rest)) {
			lines[i] = rest
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

func TestTheExampleFileShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := keyLines(uncommentExamples(data))
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := prefix + f.Tag.Get("toml")
			ft := f.Type
			for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			// anonymous.perms excludes anonymous.write, and users[].perms
			// excludes read_only; the example shows one of each pair.
			if key == "anonymous.perms" || key == "anonymous.max_sessions" {
				continue
			}
			if _, ok := lines[key]; !ok && key != "users.perms" && key != "users.read_only" {
				t.Errorf("the example does not show %s", key)
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]() {
				walk(key+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
}

func TestUnknownKeysAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		toml string
		want []string
	}{
		{"a misspelt top-level key is named with its line and a suggestion",
			"listen = \":21\"\nlistn = \":2121\"\n",
			[]string{`line 2: unknown key "listn" (did you mean "listen"?)`}},
		{"a misspelt key in a table is named with its table",
			"[limits]\nmax_sessions = 3\nidle_timout = \"5m\"\n",
			[]string{`line 3: unknown key "limits.idle_timout" (did you mean "limits.idle_timeout"?)`}},
		{"an unknown table is reported once, not key by key",
			"[limitz]\na = 1\nb = 2\n",
			[]string{`line 1: unknown key "limitz" (did you mean "limits"?)`}},
		{"an unknown key in a user entry is named",
			"[[users]]\nname = \"a\"\n\n[[users]]\nname = \"b\"\npasswd = \"x\"\n",
			[]string{`line 6: unknown key "users.passwd" (did you mean "users.password"?)`}},
		{"a dotted key is located",
			"security.allow_foreign_prt = true\n",
			[]string{`line 1: unknown key "security.allow_foreign_prt" (did you mean "security.allow_foreign_port"?)`}},
		{"a key in the wrong case is rejected",
			"Listen = \":21\"\n",
			[]string{`line 1: unknown key "Listen" (did you mean "listen"?)`}},
		{"a key unlike any other gets no suggestion",
			"[passive]\nwhatever_this_is = 1\n",
			[]string{`line 2: unknown key "passive.whatever_this_is"`}},
		{"every unknown key is reported",
			"a_key = 1\n[active]\nprt = 1\n",
			[]string{`line 1: unknown key "a_key"`, `line 3: unknown key "active.prt" (did you mean "active.port"?)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.toml))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("error:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestValuesOfTheWrongTypeAreRejected(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"a duration given as a number is refused", "[limits]\nidle_timeout = 300\n",
			`line 2 (last key "limits.idle_timeout"): a duration must be a string with a unit`},
		{"a duration without a unit is refused", "[limits]\n\nidle_timeout = \"300\"\n",
			`line 3 (last key "limits.idle_timeout"): invalid duration "300"`},
		{"a port given as a string is refused", "[passive]\nport_min = \"5000\"\n", `line 2`},
		{"perms given as a string is refused", "[[users]]\nperms = \"all\"\n", `users.perms`},
		{"a syntax error is refused", "listen = \n", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadResolvesRelativePathsAgainstTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ferry.toml")
	data := "transfer_log = \"log/xferlog\"\n[anonymous]\nroot = \"pub\"\n[[users]]\nroot = \"home/a\"\n[[users]]\nroot = \"/abs\"\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.TransferLog, c.Anonymous.Root, c.Users[0].Root, c.Users[1].Root}
	want := []string{filepath.Join(dir, "log/xferlog"), filepath.Join(dir, "pub"), filepath.Join(dir, "home/a"), "/abs"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("paths = %q, want %q", got, want)
	}
}

func TestLoadNamesTheFileInErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.toml")
	os.WriteFile(path, []byte("bogus = 1\n"), 0o644)
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": line 1: unknown key") {
		t.Fatalf("error = %v", err)
	}
	if _, err := Load(path + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: error = %v", err)
	}
}

// hashOf caches hashes: argon2id is deliberately slow.
var hashes = map[string]string{}

func hashOf(t *testing.T, pw string) string {
	t.Helper()
	if h, ok := hashes[pw]; ok {
		return h
	}
	h, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	hashes[pw] = h
	return h
}

// validConfig returns a small configuration that passes Validate.
func validConfig(t *testing.T) *Config {
	return &Config{
		Users: []User{
			{Name: "alice", Password: hashOf(t, "wonderland"), Root: t.TempDir()},
			{Name: "bob", Password: "$2a$04$sZN882ChJ0hedSRuliXQG.g9WmuLG8uBtZ8Vcvw76iR.KKLh3qKuy", Root: t.TempDir(), ReadOnly: true},
		},
	}
}

func TestValidate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"a listen address without a port is refused", func(c *Config) { c.Listen = "localhost" },
			`listen: "localhost" is not host:port`},
		{"a listen address with a bad port is refused", func(c *Config) { c.Listen = ":ftp" },
			`listen: ":ftp": port "ftp" is not a number in 0..65535`},
		{"an admin listen address without a port is refused", func(c *Config) { c.Admin.Listen = "127.0.0.1" },
			`admin.listen: "127.0.0.1" is not host:port`},
		{"a multi-line banner is refused", func(c *Config) { c.Banner = "hi\r\n230 fake" },
			"banner: contains a control character"},
		{"an unknown upload mode is refused", func(c *Config) { c.UploadMode = "fast" },
			`upload_mode: "fast" is not one of direct, atomic`},
		{"an unknown log level is refused", func(c *Config) { c.LogLevel = "verbose" },
			`log_level: "verbose" is not one of debug, info, warn, error`},
		{"an unknown log format is refused", func(c *Config) { c.LogFormat = "xml" },
			`log_format: "xml" is not one of text, json`},
		{"a transfer log in a missing directory is refused", func(c *Config) { c.TransferLog = "/nonexistent/dir/xferlog" },
			"transfer_log: directory /nonexistent/dir does not exist"},
		{"a tiny line length is refused", func(c *Config) { c.Limits.MaxLineLength = 80 },
			"limits.max_line_length: 80 is outside 512..1048576"},
		{"a zero idle timeout is refused", func(c *Config) { c.Limits.IdleTimeout = Dur(0) },
			"limits.idle_timeout: must be positive, got 0s"},
		{"a negative login timeout is refused", func(c *Config) { c.Limits.LoginTimeout = Dur(-time.Second) },
			"limits.login_timeout: must be positive, got -1s"},
		{"a zero data timeout is refused", func(c *Config) { c.Limits.DataTimeout = Dur(0) },
			"limits.data_timeout: must be positive"},
		{"a zero shutdown grace is refused", func(c *Config) { c.Limits.ShutdownGrace = Dur(0) },
			"limits.shutdown_grace: must be positive"},
		{"a session cap below -1 is refused", func(c *Config) { c.Limits.MaxSessions = -2 },
			"limits.max_sessions: -2 is below -1"},
		{"a per-IP cap below -1 is refused", func(c *Config) { c.Limits.MaxSessionsPerIP = -5 },
			"limits.max_sessions_per_ip: -5 is below -1"},
		{"a pre-login session cap below -1 is refused", func(c *Config) { c.Limits.MaxUnauthSessions = -2 },
			"limits.max_unauth_sessions: -2 is below -1"},
		{"a per-IP pre-login cap below -1 is refused", func(c *Config) { c.Limits.MaxUnauthSessionsPerIP = -3 },
			"limits.max_unauth_sessions_per_ip: -3 is below -1"},
		{"a negative per-user cap is refused", func(c *Config) { c.Limits.MaxSessionsPerUser = -1 },
			"limits.max_sessions_per_user: -1 is below 0"},
		{"a negative login fail delay is refused", func(c *Config) { c.Security.LoginFailDelay = Dur(-time.Second) },
			"security.login_fail_delay: must not be negative"},
		{"a zero ban window is refused", func(c *Config) { c.Security.BanWindow = Dur(0) },
			"security.ban_window: must be positive"},
		{"a zero ban duration is refused", func(c *Config) { c.Security.BanDuration = Dur(0) },
			"security.ban_duration: must be positive"},
		{"a failure count below -1 is refused", func(c *Config) { c.Security.MaxLoginFailures = -3 },
			"security.max_login_failures: -3 is below -1"},
		{"an unknown-command count below -1 is refused", func(c *Config) { c.Security.MaxUnknownCommands = -3 },
			"security.max_unknown_commands: -3 is below -1"},
		{"a privileged passive port is refused", func(c *Config) { c.Passive.PortMin, c.Passive.PortMax = 80, 2000 },
			"passive.port_min: 80 is outside 1024..65535"},
		{"a passive port above 65535 is refused", func(c *Config) { c.Passive.PortMin, c.Passive.PortMax = 50000, 70000 },
			"passive.port_max: 70000 is outside 1024..65535"},
		{"a passive range given by its minimum alone is refused", func(c *Config) { c.Passive.PortMin = 50000 },
			"passive.port_max: 0 is outside 1024..65535"},
		{"a reversed passive range is refused", func(c *Config) { c.Passive.PortMin, c.Passive.PortMax = 50100, 50000 },
			"passive.port_min: 50100 is greater than port_max 50000"},
		{"an IPv6 public address is refused", func(c *Config) { c.Passive.PublicAddr = "2001:db8::1" },
			`passive.public_addr: "2001:db8::1" is not an IPv4 address`},
		{"a host name as public address is refused", func(c *Config) { c.Passive.PublicAddr = "ftp.example.com" },
			`passive.public_addr: "ftp.example.com" is not an IPv4 address`},
		{"a bad network in public_addr_by_net is refused", func(c *Config) {
			c.Passive.PublicAddrByNet = []NetAddr{{Net: "10.0.0.0/8", Addr: "10.0.0.1"}, {Net: "lan", Addr: "10.0.0.1"}}
		}, `passive.public_addr_by_net[1].net: "lan" is not a network`},
		{"a bad address in public_addr_by_net is refused", func(c *Config) {
			c.Passive.PublicAddrByNet = []NetAddr{{Net: "10.0.0.0/8", Addr: "10.0.0"}}
		}, `passive.public_addr_by_net[0].addr: "10.0.0" is not an IPv4 address`},
		{"an active port out of range is refused", func(c *Config) { c.Active.Port = 70000 },
			"active.port: 70000 is not a port"},
		{"an active port below -1 is refused", func(c *Config) { c.Active.Port = -2 },
			"active.port: -2 is not a port"},
		{"a configuration without users is refused", func(c *Config) { c.Users = nil },
			"users: no users: add a [[users]] entry or enable [anonymous]"},
		{"a duplicate user name is refused", func(c *Config) { c.Users[1].Name = "alice" },
			`users[1].name: "alice" is already used by users[0]`},
		{"a user name with a space is refused", func(c *Config) { c.Users[0].Name = "al ice" },
			`users[0].name: "al ice": name contains a space`},
		{"a user name with a control character is refused", func(c *Config) { c.Users[0].Name = "al\tice" },
			`users[0].name: "al\tice": name contains a space`},
		{"an empty user name is refused", func(c *Config) { c.Users[0].Name = "" },
			`users[0].name: "": name is empty`},
		{"a user named like an anonymous login is refused", func(c *Config) {
			c.Anonymous = Anonymous{Enabled: true, Root: c.Users[0].Root}
			c.Users[1].Name = "FTP"
		}, `users[1].name: "FTP" is an anonymous login name`},
		{"a missing password is refused", func(c *Config) { c.Users[0].Password = "" },
			"users[0].password: missing; make a hash with `ferry passwd`"},
		{"a plaintext password is refused", func(c *Config) { c.Users[0].Password = "wonderland" },
			"users[0].password: not a password hash; make one with `ferry passwd`"},
		{"a hash with hostile parameters is refused", func(c *Config) {
			c.Users[0].Password = "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
		}, "users[0].password: malformed password hash: argon2id: m=4194304 out of range"},
		{"a missing root is refused", func(c *Config) { c.Users[0].Root = "" },
			"users[0].root: missing"},
		{"a root that does not exist is refused", func(c *Config) { c.Users[1].Root = "/srv/x-does-not-exist" },
			"users[1].root: /srv/x-does-not-exist does not exist"},
		{"a root that is a file is refused", func(c *Config) { c.Users[1].Root = file },
			"users[1].root: " + file + " is not a directory"},
		{"an unknown permission is refused", func(c *Config) { c.Users[0].Perms = []string{"list", "fly"} },
			`users[0].perms: unknown permission "fly"`},
		{"an empty permission list is refused", func(c *Config) { c.Users[0].Perms = []string{} },
			"users[0].perms: empty; list at least one permission"},
		{"perms together with read_only is refused", func(c *Config) { c.Users[1].Perms = []string{"read"} },
			"users[1].perms: set either perms or read_only, not both"},
		{"a negative user session cap is refused", func(c *Config) { c.Users[0].MaxSessions = -1 },
			"users[0].max_sessions: -1 is below 0"},
		{"anonymous without a root is refused", func(c *Config) { c.Anonymous.Enabled = true },
			"anonymous.root: missing"},
		{"anonymous with a missing root is refused", func(c *Config) { c.Anonymous = Anonymous{Enabled: true, Root: "/srv/x-nope"} },
			"anonymous.root: /srv/x-nope does not exist"},
		{"anonymous perms together with write is refused", func(c *Config) {
			c.Anonymous = Anonymous{Enabled: true, Root: c.Users[0].Root, Write: true, Perms: []string{"all"}}
		}, "anonymous.perms: set either perms or write, not both"},
		{"a bad anonymous name is refused", func(c *Config) {
			c.Anonymous = Anonymous{Enabled: true, Root: c.Users[0].Root, Names: []string{"guest", "a b"}}
		}, `anonymous.names[1]: "a b": name contains a space`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.change(c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
			if _, _, err := c.ServerOptions(slog.Default()); err == nil {
				t.Fatal("ServerOptions accepted an invalid configuration")
			}
		})
	}
}

func TestValidateAcceptsGoodValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
	}{
		{"the minimal configuration is accepted", func(c *Config) {}},
		{"anonymous alone is accepted", func(c *Config) {
			c.Anonymous = Anonymous{Enabled: true, Root: c.Users[0].Root}
			c.Users = nil
		}},
		{"a listen address with a host is accepted", func(c *Config) { c.Listen = "[::1]:2121" }},
		{"a one-port passive range is accepted", func(c *Config) { c.Passive.PortMin, c.Passive.PortMax = 50000, 50000 }},
		{"a zero login fail delay is accepted", func(c *Config) { c.Security.LoginFailDelay = Dur(0) }},
		{"unlimited caps are accepted", func(c *Config) {
			c.Limits.MaxSessions, c.Limits.MaxSessionsPerIP = -1, -1
			c.Security.MaxLoginFailures, c.Security.MaxUnknownCommands = -1, -1
		}},
		{"an ephemeral active port is accepted", func(c *Config) { c.Active.Port = -1 }},
		{"perms of all is accepted", func(c *Config) { c.Users[0].Perms = []string{"all"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.change(c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig(t)
	c.UploadMode, c.Active.Port, c.Users[1].Name = "x", 99999, "alice"
	err := c.Validate()
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", n, err)
	}
}

func TestServerOptions(t *testing.T) {
	dir := t.TempDir()
	pub := t.TempDir()
	data := `
listen = "127.0.0.1:2121"
banner = "hello"
upload_mode = "atomic"
transfer_log = "xferlog"
[limits]
max_line_length = 1024
idle_timeout = "2m"
login_timeout = "20s"
data_timeout = "45s"
max_sessions = -1
max_sessions_per_ip = 5
max_sessions_per_user = 3
max_unauth_sessions = 100
max_unauth_sessions_per_ip = -1
shutdown_grace = "10s"
[security]
login_fail_delay = "0s"
max_login_failures = -1
ban_window = "1h"
ban_duration = "2h"
max_unknown_commands = 7
allow_foreign_port = true
allow_low_port = true
allow_foreign_passive = true
disable_active = true
[passive]
port_min = 50000
port_max = 50010
public_addr = "203.0.113.7"
[[passive.public_addr_by_net]]
net = "192.168.1.99/16"
addr = "192.168.1.10"
[active]
port = -1
[anonymous]
enabled = true
root = "` + pub + `"
write = true
[[users]]
name = "alice"
password = "` + hashOf(t, "wonderland") + `"
root = "` + dir + `"
perms = ["list", "read", "rename"]
max_sessions = 4
`
	path := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	opts, closeFn, err := c.ServerOptions(logger)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := closeFn(); err != nil {
			t.Error(err)
		}
	}()
	if opts.Auth == nil || opts.TransferLog == nil || opts.Logger != logger {
		t.Fatalf("Auth, TransferLog or Logger not set: %+v", opts)
	}
	if _, err := os.Stat(filepath.Join(dir, "xferlog")); err != nil {
		t.Fatalf("transfer log not created: %v", err)
	}
	got := opts
	got.Auth, got.TransferLog, got.Logger = nil, nil, nil
	want := ftpserver.Options{
		Addr: "127.0.0.1:2121", Banner: "hello",
		MaxLineLength: 1024, IdleTimeout: 2 * time.Minute, LoginTimeout: 20 * time.Second, DataTimeout: 45 * time.Second,
		MaxSessions: -1, MaxSessionsPerIP: 5, MaxSessionsPerUser: 3,
		MaxUnauthSessions: 100, MaxUnauthSessionsPerIP: -1,
		LoginFailDelay: -1, MaxLoginFailures: -1, BanWindow: time.Hour, BanDuration: 2 * time.Hour, MaxUnknownCommands: 7,
		PassivePortMin: 50000, PassivePortMax: 50010,
		PublicAddr:      netip.MustParseAddr("203.0.113.7"),
		PublicAddrByNet: []ftpserver.NetAddr{{Net: netip.MustParsePrefix("192.168.0.0/16"), Addr: netip.MustParseAddr("192.168.1.10")}},
		ActivePort:      -1, AllowForeignPORT: true, AllowLowPORT: true, AllowForeignPassive: true, DisableActive: true,
		ShutdownGrace: 10 * time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("options:\n got %+v\nwant %+v", got, want)
	}

	for _, tc := range []struct {
		name, user, pass string
		perms            ftpserver.Perms
		anonymous        bool
		maxSessions      int
	}{
		{"alice logs in with her perms", "alice", "wonderland", ftpserver.PermList | ftpserver.PermRead | ftpserver.PermRename, false, 4},
		{"anonymous with write may upload and mkdir", "anonymous", "me@example.com",
			ftpserver.PermReadOnly | ftpserver.PermWrite | ftpserver.PermMkdir, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := opts.Auth.Authenticate(context.Background(), ftpserver.LoginInfo{User: tc.user, Password: tc.pass})
			if err != nil {
				t.Fatal(err)
			}
			if id.Perms != tc.perms || id.Anonymous != tc.anonymous || id.MaxSessions != tc.maxSessions {
				t.Fatalf("identity = %+v", id)
			}
		})
	}
}

func TestServerOptionsLeavesDefaultsToTheServer(t *testing.T) {
	c := validConfig(t)
	opts, closeFn, err := c.ServerOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	got := opts
	got.Auth = nil
	if !reflect.DeepEqual(got, ftpserver.Options{}) {
		t.Fatalf("unset keys produced non-zero options: %+v", got)
	}
	id, err := opts.Auth.Authenticate(context.Background(), ftpserver.LoginInfo{User: "bob", Password: "secret"})
	if err != nil || id.Perms != ftpserver.PermReadOnly {
		t.Fatalf("read_only user: %+v, %v", id, err)
	}
	id, err = opts.Auth.Authenticate(context.Background(), ftpserver.LoginInfo{User: "alice", Password: "wonderland"})
	if err != nil || id.Perms != ftpserver.PermAll {
		t.Fatalf("user without perms: %+v, %v", id, err)
	}
}

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		name, level, format string
		logsDebug, logsInfo bool
		prefix              string
	}{
		{"the default logs info as text", "", "", false, true, "time="},
		{"debug level logs debug", "debug", "text", true, true, "time="},
		{"warn level drops info", "warn", "text", false, false, ""},
		{"json format writes JSON", "info", "json", false, true, "{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := (&Config{LogLevel: tc.level, LogFormat: tc.format}).NewLogger(&buf)
			if got := l.Enabled(context.Background(), slog.LevelDebug); got != tc.logsDebug {
				t.Errorf("debug enabled = %v", got)
			}
			l.Info("hello")
			if got := buf.Len() > 0; got != tc.logsInfo {
				t.Fatalf("info logged = %v", got)
			}
			if !strings.HasPrefix(buf.String(), tc.prefix) {
				t.Fatalf("output %q does not start with %q", buf.String(), tc.prefix)
			}
		})
	}
}
