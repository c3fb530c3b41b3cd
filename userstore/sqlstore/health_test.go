package sqlstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
)

var _ ftpserver.HealthChecker = (*Store)(nil)

func TestCheckHealth(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "ferry.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckHealth(context.Background()); err != nil {
		t.Fatalf("an open database: %v", err)
	}
	s.Close()
	if err := s.CheckHealth(context.Background()); err == nil {
		t.Fatal("healthy after Close")
	}
}
