package contrib

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const filterPath = "fail2ban/filter.d/ferry.conf"

// failedLogins are the user names the test fails to log in with: a real
// user, an unknown one, and two that try to smuggle another address or a
// quote into the log line.
var failedLogins = []string{"alice", "nobody", "x remote=192.0.2.1", `q"uote remote="192.0.2.2"`}

// TestFail2banMatchesFailedLogins runs a built ferry binary in both log
// formats, on 127.0.0.1 and ::1, fails logins over loopback and logs in once,
// then runs the real fail2ban-regex with contrib's filter on the log: every
// failed login and only those must match, with the client's address.
func TestFail2banMatchesFailedLogins(t *testing.T) {
	regex := requireTool(t, "fail2ban-regex", "fail2ban")
	ferry := ferryBinary(t)
	addrs := []string{"127.0.0.1"}
	if l, err := net.Listen("tcp", "[::1]:0"); err == nil {
		l.Close()
		addrs = append(addrs, "::1")
	} else {
		t.Logf("no IPv6 loopback (%v): testing 127.0.0.1 only", err)
	}
	hash := passwordHash(t, ferry, "s3cret")
	for _, format := range []string{"text", "json"} {
		t.Run(format+" log format", func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			config := filepath.Join(dir, "ferry.toml")
			writeFile(t, config, fmt.Sprintf(`log_format = %q
[security]
login_fail_delay = "0s"
[[users]]
name = "alice"
password = %q
root = %q
`, format, hash, root))
			logPath := filepath.Join(dir, "ferry.log")
			var want []string
			for _, ip := range addrs {
				serveAndLogIn(t, ferry, config, ip, logPath)
				for range failedLogins {
					want = append(want, ip)
				}
			}
			log, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(log), "login failed"); n != len(want) {
				t.Fatalf("ferry logged %d failed logins, want %d:\n%s", n, len(want), log)
			}
			if n := strings.Count(string(log), "logged in"); n != len(addrs) {
				t.Fatalf("ferry logged %d logins, want %d:\n%s", n, len(addrs), log)
			}

			lines := failedLoginLines(t, string(log), format)
			var ips []string
			for _, l := range lines {
				ips = append(ips, l.IP)
			}
			if !slices.Equal(ips, want) {
				t.Fatalf("ferry logged failed logins from %q, want %q", ips, want)
			}
			if got := fail2banMatches(t, regex, logPath); !slices.Equal(got, lines) {
				t.Errorf("fail2ban-regex found %v, want %v (address, Unix time); log:\n%s", got, lines, log)
			}

			var others []string // every line but the failed logins
			for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
				if !strings.Contains(line, "login failed") {
					others = append(others, line)
				}
			}
			othersPath := filepath.Join(dir, "others.log")
			writeFile(t, othersPath, strings.Join(others, "\n")+"\n")
			if got := fail2banMatches(t, regex, othersPath); len(got) != 0 {
				t.Errorf("fail2ban-regex matched lines that are not failed logins (%v):\n%s", got, strings.Join(others, "\n"))
			}
		})
	}
}

// TestFail2banJailLoads checks the jail and the filter with fail2ban's own
// configuration test, on a copy of the system's /etc/fail2ban.
func TestFail2banJailLoads(t *testing.T) {
	client := requireTool(t, "fail2ban-client", "fail2ban")
	if _, err := os.Stat("/etc/fail2ban/jail.conf"); err != nil {
		t.Fatalf("fail2ban-client is installed but its configuration is not: %v", err)
	}
	conf := filepath.Join(t.TempDir(), "fail2ban")
	if out, err := exec.Command("cp", "-r", "/etc/fail2ban", conf).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	// Only ferry's jail: the distribution's own (sshd) may need log files
	// this machine lacks.
	jails, _ := filepath.Glob(filepath.Join(conf, "jail.d", "*"))
	for _, j := range jails {
		os.Remove(j)
	}
	for _, f := range []string{"filter.d/ferry.conf", "jail.d/ferry.conf"} {
		b, err := os.ReadFile(filepath.Join("fail2ban", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(conf, f), string(b))
	}
	out, err := exec.Command(client, "-c", conf, "--test").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration test is successful") {
		t.Fatalf("fail2ban-client --test: %v\n%s", err, out)
	}
	dump, err := exec.Command(client, "-c", conf, "--dump").CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-client --dump: %v\n%s", err, dump)
	}
	for _, want := range []string{
		"['add', 'ferry', 'systemd']",
		"['set', 'ferry', 'addjournalmatch', '_SYSTEMD_UNIT=ferry.service']",
		"['set', 'ferry', 'addaction', 'iptables-allports']",
		"['start', 'ferry']",
	} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("fail2ban-client --dump lacks %s:\n%s", want, dump)
		}
	}
}

// match is one line fail2ban-regex matched: the address it would ban and
// the time it read from the line.
type match struct {
	IP   string
	Unix int64
}

var rowRe = regexp.MustCompile(`^\['([^']+)',\s*([0-9]+)[,.]`)

// fail2banMatches runs fail2ban-regex with the filter on a log file and
// returns what it matched, in order.
func fail2banMatches(t *testing.T, regex, logPath string) []match {
	t.Helper()
	out, err := exec.Command(regex, "--out", "row", logPath, filterPath).CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, out)
	}
	var ms []match
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		m := rowRe.FindStringSubmatch(line)
		if m == nil || net.ParseIP(m[1]) == nil {
			t.Fatalf("fail2ban-regex --out row printed %q, not [address, time, ...]:\n%s", line, out)
		}
		unix, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, match{m[1], unix})
	}
	return ms
}

// failedLoginLines returns what fail2ban should find in ferry's log: each
// "login failed" line's remote address and time, read with Go's own
// parsers of the two formats.
func failedLoginLines(t *testing.T, log, format string) []match {
	t.Helper()
	var ms []match
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec struct {
			Time   time.Time
			Msg    string
			Remote string
		}
		if format == "json" {
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
		} else {
			ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
			var err error
			if rec.Time, err = time.Parse(time.RFC3339, ts); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if strings.Contains(line, ` msg="login failed" `) {
				rec.Msg = "login failed"
				rec.Remote = line[strings.LastIndex(line, " remote=")+len(" remote="):]
			}
		}
		if rec.Msg == "login failed" {
			ms = append(ms, match{rec.Remote, rec.Time.Unix()})
		}
	}
	return ms
}

// passwordHash hashes password with ferry passwd.
func passwordHash(t *testing.T, ferry, password string) string {
	t.Helper()
	cmd := exec.Command(ferry, "passwd")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ferry passwd: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// serveAndLogIn starts ferry serve --config config on ip, port 0, appending
// its log to logPath; fails every login of failedLogins on one control
// connection, logs in as alice, and stops the server.
func serveAndLogIn(t *testing.T, ferry, config, ip, logPath string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, ferry, "serve", "--config", config, "--listen", net.JoinHostPort(ip, "0"))
	addr, stop := startFerry(t, cmd, logFile)
	defer stop()

	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	c := textproto.NewConn(nc)
	defer c.Close()
	expect := func(code int, format string, args ...any) {
		t.Helper()
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		if _, msg, err := c.ReadResponse(code); err != nil {
			t.Fatalf("%s: %v %s", fmt.Sprintf(format, args...), err, msg)
		}
	}
	expect(220, "")
	for _, user := range failedLogins {
		expect(331, "USER %s", user)
		expect(530, "PASS wrong")
	}
	expect(331, "USER alice")
	expect(230, "PASS s3cret")
	expect(221, "QUIT")
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
