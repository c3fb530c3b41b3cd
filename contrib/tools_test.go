package contrib

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// requireTool returns the path of a command the test needs. Without it the
// test skips, except under CI=true (.ci/run installs the Debian package),
// where it fails.
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: apt-get install %s", name, debianPackage)
	}
	t.Skipf("%s not installed (apt-get install %s)", name, debianPackage)
	return ""
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	buildOut  []byte
)

// TestMain removes the ferry binary that ferryBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// ferryBinary builds cmd/ferry once for the package's tests, with the
// Dockerfile's own go build command (VERSION set to versionForTests), and
// returns the binary's path: the tests run the binary the image ships.
func ferryBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "ferry-contrib-")
		if buildErr != nil {
			return
		}
		// Readable by all: one test runs the binary as an unprivileged user.
		if buildErr = os.Chmod(buildDir, 0o755); buildErr != nil {
			return
		}
		var line string
		if line, buildErr = dockerGoBuild(t, filepath.Join(buildDir, "ferry")); buildErr != nil {
			return
		}
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "VERSION="+versionForTests)
		buildOut, buildErr = cmd.CombinedOutput()
		buildOut = append([]byte(line+"\n"), buildOut...)
	})
	if buildErr != nil {
		t.Fatalf("building ferry as the Dockerfile does: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(buildDir, "ferry")
}

var listeningRe = regexp.MustCompile(`ferry FTP server listening.*addr"?[=:]"?([^\s"]+)`)

// startFerry starts cmd, a ferry serve, copies its log (stderr) to log,
// and returns the address ferry logged it listens on and a function that
// stops ferry with SIGINT and waits for it. If ferry exits without
// listening, the test fails with ferry's log.
func startFerry(t *testing.T, cmd *exec.Cmd, log io.Writer) (addr string, stop func()) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	copied := make(chan error, 1)
	var all strings.Builder
	go func() {
		var werr error
		found := false
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			all.WriteString(line + "\n")
			if _, err := io.WriteString(log, line+"\n"); err != nil && werr == nil {
				werr = err
			}
			if m := listeningRe.FindStringSubmatch(line); m != nil && !found {
				found = true
				addrc <- m[1]
			}
		}
		if !found {
			close(addrc)
		}
		if werr == nil {
			werr = sc.Err()
		}
		copied <- werr
	}()
	addr, ok := <-addrc
	if !ok {
		err := <-copied
		werr := cmd.Wait()
		t.Fatalf("ferry serve exited (%v) without listening (log copy: %v):\n%s", werr, err, all.String())
	}
	return addr, func() {
		cmd.Process.Signal(os.Interrupt)
		if err := <-copied; err != nil {
			t.Errorf("copying ferry's log: %v", err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("ferry serve: %v", err)
		}
	}
}
