//go:build linux

package ftpproxy

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	if b, err = ln.AcceptTCP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// A blocking relay delivers every byte, through all its buffer sizes, and
// ends at the sender's EOF.
func TestBlockingRelayIsIntact(t *testing.T) {
	sender, srcEnd := tcpPair(t)
	dstEnd, receiver := tcpPair(t)
	data := make([]byte, 24<<20)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	go func() { sender.Write(data); sender.CloseWrite() }()
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(receiver); got <- b }()
	n, err, handled := relayBlocking(context.Background(), dstEnd, srcEnd)
	if !handled || err != nil || n != int64(len(data)) {
		t.Fatalf("relayBlocking = %d, %v, handled %v; want %d bytes", n, err, handled, len(data))
	}
	dstEnd.CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("received %d bytes, not the %d sent", len(b), len(data))
	}
	// The sockets are back in non-blocking mode: deadlines work again.
	srcEnd.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := srcEnd.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after the relay: %v, want EOF", err)
	}
}

// Cancelling the context ends a relay blocked in the kernel, whether it
// waits to read (a silent sender) or to write (a receiver that reads
// nothing).
func TestBlockingRelayEndsWithItsContext(t *testing.T) {
	for _, stuck := range []string{"reading", "writing"} {
		t.Run(stuck, func(t *testing.T) {
			sender, srcEnd := tcpPair(t)
			dstEnd, _ := tcpPair(t)
			if stuck == "writing" {
				go sender.Write(make([]byte, 64<<20))
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { _, err, _ := relayBlocking(ctx, dstEnd, srcEnd); done <- err }()
			time.Sleep(100 * time.Millisecond)
			cancel()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("a cancelled relay reported success")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the relay did not end with its context")
			}
		})
	}
}

// relay hands a fast transfer to the blocking copy and counts the bytes
// of both parts; a small one it copies itself.
func TestRelayCountsBothParts(t *testing.T) {
	for _, size := range []int{4 << 10, 24 << 20} {
		sender, srcEnd := tcpPair(t)
		dstEnd, receiver := tcpPair(t)
		data := bytes.Repeat([]byte{byte(size)}, size)
		go func() { sender.Write(data); sender.CloseWrite() }()
		got := make(chan int64)
		go func() { n, _ := io.Copy(io.Discard, receiver); got <- n }()
		p := &Proxy{}
		n, err := p.relay(context.Background(), dstEnd, srcEnd)
		dstEnd.CloseWrite()
		if err != nil || n != int64(size) {
			t.Fatalf("%d bytes: relay = %d, %v", size, n, err)
		}
		if m := <-got; m != int64(size) {
			t.Fatalf("%d bytes: the receiver got %d", size, m)
		}
		if b := p.blockedRelays.Load(); b != 0 {
			t.Fatalf("blockedRelays = %d after the relay", b)
		}
	}
}
