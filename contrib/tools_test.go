package contrib

import (
	"os"
	"os/exec"
	"path/filepath"
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
