package ftpproxy

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"
)

// TestProfileProxy is a measuring tool, not a test: with
// FERRY_PROXY_PROFILE_BACKEND (host:port), FERRY_PROXY_PROFILE_LISTEN
// (host:port) and FERRY_PROXY_PROFILE_OUT (a file) set, it runs a reverse
// proxy with its defaults (data ports FERRY_PROXY_PROFILE_PORTS, lo-hi)
// for FERRY_PROXY_PROFILE_SECONDS (default 10) and writes a CPU profile of
// the process, which holds nothing but the proxy, while an outside client
// (curl or lftp, as in bench's proxy workloads) drives it. See docs/BENCHMARKS.md,
// "Round 3: the proxy's data path". Skipped otherwise.
func TestProfileProxy(t *testing.T) {
	backend, listen, out := os.Getenv("FERRY_PROXY_PROFILE_BACKEND"), os.Getenv("FERRY_PROXY_PROFILE_LISTEN"), os.Getenv("FERRY_PROXY_PROFILE_OUT")
	if backend == "" || listen == "" || out == "" {
		t.Skip("a measuring tool: set FERRY_PROXY_PROFILE_BACKEND, _LISTEN and _OUT to run it")
	}
	secs, err := strconv.Atoi(os.Getenv("FERRY_PROXY_PROFILE_SECONDS"))
	if err != nil || secs <= 0 {
		secs = 10
	}
	opts := Options{Backend: backend, Logger: discardLogger()}
	if r := os.Getenv("FERRY_PROXY_PROFILE_PORTS"); r != "" {
		if _, err := fmt.Sscanf(r, "%d-%d", &opts.DataPortMin, &opts.DataPortMax); err != nil {
			t.Fatalf("FERRY_PROXY_PROFILE_PORTS %q: %v", r, err)
		}
	}
	startProxy(t, listen, opts)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Duration(secs) * time.Second) // the outside client works meanwhile
	pprof.StopCPUProfile()
}
