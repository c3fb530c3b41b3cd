package contrib

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const unitPath = "systemd/ferry.service"

// unitExecStart is the ExecStart= line the unit ships with; the test runs
// systemd-analyze on a copy pointing at a freshly built binary.
const unitExecStart = "ExecStart=/usr/local/bin/ferry serve --config /etc/ferry/ferry.toml"

// TestSystemdUnitSettings checks the settings docs/operations.md promises.
func TestSystemdUnitSettings(t *testing.T) {
	settings := unitSettings(t, unitPath)
	for _, want := range []string{
		unitExecStart,
		"ExecReload=/bin/kill -HUP $MAINPID",
		"User=ferry",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ReadWritePaths=/srv/ferry",
		"StateDirectory=ferry",
		"LogsDirectory=ferry",
		"ProtectHome=yes",
		"PrivateTmp=yes",
		"WantedBy=multi-user.target",
	} {
		if !settings[want] {
			t.Errorf("%s lacks %q", unitPath, want)
		}
	}
	for s := range settings {
		if strings.HasPrefix(s, "User=") && s != "User=ferry" || s == "User=root" {
			t.Errorf("%s runs as %s", unitPath, s)
		}
	}
}

// unitSettings returns the unit's "Key=value" lines (comments dropped).
func unitSettings(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		m[line] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit, with
// ExecStart pointing at a built ferry binary and the man page of
// Documentation= installed in a temporary MANPATH, and requires it to print
// nothing: systemd-analyze exits 0 on an unknown key but warns about it.
// It then checks the offline security review's exposure score.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "systemd")
	ferry := ferryBinary(t)
	dir := t.TempDir()
	manDir := filepath.Join(dir, "man", "man1")
	if err := os.MkdirAll(manDir, 0o755); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("../docs/man/ferry.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(manDir, "ferry.1"), page, 0o644); err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(unit), unitExecStart+"\n"); n != 1 {
		t.Fatalf("%s has %d lines %q, want 1", unitPath, n, unitExecStart)
	}
	local := strings.Replace(string(unit), unitExecStart,
		strings.Replace(unitExecStart, "/usr/local/bin/ferry", ferry, 1), 1)

	analyzeUnit := func(t *testing.T, text string, args ...string) string {
		t.Helper()
		path := filepath.Join(dir, "ferry.service")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(analyze, append(args, path)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(dir, "man"), "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	t.Run("systemd-analyze verify prints nothing", func(t *testing.T) {
		if out := analyzeUnit(t, local, "verify"); strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify warns:\n%s", out)
		}
	})
	t.Run("an unknown key makes verify warn", func(t *testing.T) {
		bad := strings.Replace(local, "[Service]\n", "[Service]\nProtectEverything=yes\n", 1)
		if out := analyzeUnit(t, bad, "verify"); !strings.Contains(out, "ProtectEverything") {
			t.Errorf("systemd-analyze verify did not warn about an unknown key:\n%s", out)
		}
	})
	t.Run("the security review rates the unit OK", func(t *testing.T) {
		out := analyzeUnit(t, local, "security", "--offline=yes", "--no-pager")
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no exposure level in:\n%s", out)
		}
		// 0 is fully locked down, 10 unprotected; a network server that
		// must bind port 21 on the host's network cannot reach 0.
		if score, err := strconv.ParseFloat(m[1], 64); err != nil || score > 2.0 {
			t.Errorf("exposure level %s %s, want at most 2.0:\n%s", m[1], m[2], out)
		} else {
			t.Logf("systemd-analyze security: exposure level %s %s", m[1], m[2])
		}
	})
}

// TestSystemdUnitPrivileges runs a built ferry with the unit's privileges
// but without systemd, through util-linux's setpriv: an unprivileged uid
// (nobody: CI has no ferry user), the unit's AmbientCapabilities= and
// CapabilityBoundingSet=, and no new privileges. ferry must then bind port
// 21 (on 127.0.21.1, a loopback address no other test uses) and answer
// there, and must fail to without the ambient capability. It needs root.
func TestSystemdUnitPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" || os.Getenv("FERRY_REQUIRE_ROOT") == "1" {
			t.Fatal("this test needs root to change to an unprivileged user")
		}
		t.Skip("needs root to change to an unprivileged user")
	}
	setpriv := requireTool(t, "setpriv", "util-linux")
	settings := unitSettings(t, unitPath)
	caps := func(key string) string {
		for s := range settings {
			if v, ok := strings.CutPrefix(s, key+"="); ok {
				var out []string
				for _, c := range strings.Fields(v) {
					out = append(out, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
				}
				return strings.Join(out, ",")
			}
		}
		t.Fatalf("%s has no %s=", unitPath, key)
		return ""
	}
	ambient, bounding := caps("AmbientCapabilities"), caps("CapabilityBoundingSet")
	if !settings["NoNewPrivileges=yes"] {
		t.Fatalf("%s lacks NoNewPrivileges=yes", unitPath)
	}
	ferry := ferryBinary(t)
	root, err := os.MkdirTemp("", "ferry-unit-root-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	const listen = "127.0.21.1:21"
	command := func(ctx context.Context, ambientCaps string) *exec.Cmd {
		args := []string{"--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps=-all" + ambientCaps, "--bounding-set=-all," + strings.TrimPrefix(bounding, ","), "--no-new-privs"}
		if ambientCaps != "" {
			args = append(args, "--ambient-caps=-all"+ambientCaps)
		}
		args = append(args, ferry, "serve", "--listen", listen, root)
		return exec.CommandContext(ctx, setpriv, args...)
	}

	t.Run("with the unit's capabilities ferry serves port 21 as nobody", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := command(ctx, ","+ambient)
		addr, stop := startFerry(t, cmd, io.Discard)
		defer stop()
		if addr != listen {
			t.Errorf("ferry listens on %s, want %s", addr, listen)
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^Uid:\s+65534\s+65534\s+65534\s+65534$`).Match(status) {
			t.Errorf("ferry does not run as uid 65534:\n%s", status)
		}
		if !regexp.MustCompile(`(?m)^NoNewPrivs:\s+1$`).Match(status) {
			t.Errorf("ferry runs without no_new_privs:\n%s", status)
		}
		c, err := textproto.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, msg, err := c.ReadResponse(220); err != nil {
			t.Fatalf("greeting: %v %s", err, msg)
		}
	})
	t.Run("without the ambient capability binding port 21 fails", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := command(ctx, "").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "permission denied") {
			t.Errorf("ferry without CAP_NET_BIND_SERVICE: %v\n%s", err, out)
		}
	})
}
