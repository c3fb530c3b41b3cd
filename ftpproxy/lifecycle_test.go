package ftpproxy

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

func TestAbortAndShutdown(t *testing.T) {
	back := startFerry(t, "127.0.0.1:0", nil)
	big := filepath.Join(back.Dir, "big.bin")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(big, 256<<20)

	t.Run("ABOR during a download closes the data path and replies stay paired", func(t *testing.T) {
		addr, logs := startProxy(t, "", Options{Backend: back.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(200, "TYPE I")
		rep := tc.Do(229, "EPSV")
		port, _ := ftp.ParseEPSVReply(rep)
		dc, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", itoa(int(port))), testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer dc.Close()
		tc.Do(150, "RETR big.bin")
		dc.SetDeadline(time.Now().Add(testTimeout))
		if _, err := io.ReadFull(dc, make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
		tc.Raw("\xff\xf4\xff\xf2ABOR\r\n")
		// 426 for the transfer then 226 for ABOR, or 226 alone.
		r := tc.ReadReply()
		if r.Code == 426 || r.Code == 451 {
			r = tc.ReadReply()
		}
		if r.Code != 226 && r.Code != 225 {
			t.Fatalf("after ABOR: %d %q", r.Code, r.Message())
		}
		n, _ := io.Copy(io.Discard, dc)
		if n >= 256<<20-64<<10 {
			t.Errorf("the whole file arrived after ABOR")
		}
		tc.Do(200, "NOOP")
		waitLog(t, logs, "command=RETR path=big.bin")
	})

	t.Run("shutdown says 421 to idle sessions and leaves no goroutines behind", func(t *testing.T) {
		base := runtime.NumGoroutine()
		p, err := New(Options{Backend: back.Addr, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.Serve(l) }()
		tc := dialProxy(t, l.Addr().String())
		login(t, tc)
		rep := tc.Do(227, "PASV") // an armed data listener, never used
		_ = rep
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
		if r := tc.ReadReply(); r.Code != 421 {
			t.Errorf("got %d, want 421", r.Code)
		}
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base+1 {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				n := runtime.Stack(buf, true)
				t.Fatalf("%d goroutines, started with %d:\n%s", runtime.NumGoroutine(), base, filterStacks(string(buf[:n])))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func filterStacks(s string) string {
	var keep []string
	for _, g := range strings.Split(s, "\n\n") {
		if strings.Contains(g, "ftpproxy") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}
