package sessionbook

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// FailingListener makes its first n accepts fail with err (as when the
// process is out of file descriptors), then accepts normally.
type FailingListener struct {
	net.Listener
	n   int
	err error
}

func (l *FailingListener) Accept() (net.Conn, error) {
	if l.n > 0 {
		l.n--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", l.err)}
	}
	return l.Listener.Accept()
}

func TestTemporary(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENFILE)}, true},
		{os.ErrDeadlineExceeded, true},
		{net.ErrClosed, false},
		{errors.New("something else"), false},
	}
	for _, tt := range tests {
		if got := Temporary(tt.err); got != tt.want {
			t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestServeKeepsAcceptingAfterEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := New(Limits{})
	got := make(chan net.Conn, 1)
	done := make(chan error, 1)
	go func() {
		done <- b.Serve(&FailingListener{Listener: ln, n: 3, err: syscall.EMFILE},
			slog.New(slog.NewTextHandler(io.Discard, nil)), func(c net.Conn) { got <- c })
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case sc := <-got:
		sc.Close()
	case err := <-done:
		t.Fatalf("Serve returned %v instead of retrying", err)
	case <-time.After(10 * time.Second):
		t.Fatal("connection never handled")
	}
	b.Shutdown()
	if err := <-done; !errors.Is(err, ErrClosing) {
		t.Errorf("Serve returned %v after Shutdown, want ErrClosing", err)
	}
}
