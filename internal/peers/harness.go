package peers

import (
	"context"
	"fmt"
	"testing"
)

// Cleaner registers functions to run when the caller is done with a server.
// *testing.T satisfies it, and so can a benchmark harness outside tests.
type Cleaner interface {
	Cleanup(func())
}

// cleanerTB adapts a Cleaner to the part of testing.TB that start uses
// (only Cleanup); every other method of the embedded nil TB is never called.
type cleanerTB struct {
	testing.TB
	c Cleaner
}

func (t cleanerTB) Cleanup(f func()) { t.c.Cleanup(f) }
func (t cleanerTB) Helper()          {}

// StartContext is Start for programs that are not tests, such as the bench
// harness: it returns an error instead of skipping or failing, and registers
// the server's shutdown and the removal of its work folder with c.
func StartContext(ctx context.Context, c Cleaner, kind string, opts Options) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := Available(kind); err != nil {
		return nil, err
	}
	s, err := start(cleanerTB{c: c}, kind, opts)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", kind, err)
	}
	return s, nil
}

// Pid is the process id of the server's master process (its sessions are
// children in the same process group).
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
