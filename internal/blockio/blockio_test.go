//go:build unix

package blockio

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns two connected stream sockets, closed when t ends.
func socketPair(t *testing.T) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds
}

func TestShutdownOnDoneWakesABlockedRead(t *testing.T) {
	fds := socketPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	release := ShutdownOnDone(ctx, fds[0])
	done := make(chan int, 1)
	go func() {
		n, _ := unix.Read(fds[0], make([]byte, 1)) // blocks: nothing is sent
		done <- n
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("read %d bytes, want the 0 of a shut-down socket", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked read did not return when ctx ended")
	}
	release()
}

func TestNothingIsShutDownAfterRelease(t *testing.T) {
	fds := socketPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	ShutdownOnDone(ctx, fds[0])()
	cancel()
	time.Sleep(20 * time.Millisecond)
	if _, err := unix.Write(fds[1], []byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if n, err := unix.Read(fds[0], b); n != 1 || err != nil {
		t.Fatalf("read after release: %d, %v; the socket was shut down", n, err)
	}
}
