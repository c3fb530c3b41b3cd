package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shipped example configuration starts once its users' roots exist.
// Only the root prefix (/srv/ftp, which a test cannot create) is moved into
// a temporary folder; every other line is as shipped.
func TestTheExampleConfigStartsAsShipped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	data, err := os.ReadFile("../../ferry.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv := filepath.Join(dir, "srv", "ftp")
	text := strings.ReplaceAll(string(data), `"/srv/ftp/`, `"`+srv+`/`)
	for _, root := range []string{"alice", "reports"} {
		if err := os.MkdirAll(filepath.Join(srv, root), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := buildFerry(t)
	addr := freePort(t)
	startFerry(t, bin, addr, "serve", "--config", cfg, "--listen", addr)
	s := connect(t, addr)
	s.do("USER alice", 331)
	s.do("QUIT", 221)
}
