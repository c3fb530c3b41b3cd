package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
)

// TestConcurrentSessions runs 100 sessions at once, each uploading a
// distinct 256 KiB file over EPSV and downloading it back; every byte is
// checked on the wire and on disk.
func TestConcurrentSessions(t *testing.T) {
	t.Parallel()
	const sessions, size = 100, 256 << 10
	s := startServerWith(t, ipv4.listen, func(o *ftpserver.Options) {
		o.MaxSessionsPerIP = -1
	}, account{testUser, testPass, ftpserver.PermAll})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	payload := func(i int) []byte { return sampleData(size, uint64(100+i)) }
	name := func(i int) string { return fmt.Sprintf("session %03d.bin", i) }
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range sessions {
		wg.Go(func() { errs[i] = roundTrip(ctx, s.Addr, name(i), payload(i)) })
	}
	wg.Wait()
	t.Logf("%d sessions moved %d MiB each way in %v", sessions, sessions*size>>20, time.Since(start).Round(time.Millisecond))
	for i, err := range errs {
		if err != nil {
			t.Errorf("session %d: %v", i, err)
		}
	}
	for i := range sessions {
		checkFile(t, filepath.Join(s.Root, name(i)), payload(i))
	}
}

// roundTrip logs in to addr, stores data as name, retrieves it and checks
// it, all within ctx. It returns rather than fails, so it can run on any
// goroutine.
func roundTrip(ctx context.Context, addr, name string, data []byte) (err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := textproto.NewReader(bufio.NewReader(conn))
	step := func(want int, line string) (string, error) {
		if line != "" {
			if _, err := io.WriteString(conn, line+"\r\n"); err != nil {
				return "", fmt.Errorf("send %q: %w", line, err)
			}
		}
		code, msg, err := r.ReadResponse(0)
		if err != nil {
			return "", fmt.Errorf("reply to %q: %w", line, err)
		}
		if code != want {
			return "", fmt.Errorf("reply to %q: %d %s, want %d", line, code, msg, want)
		}
		return msg, nil
	}
	dialData := func() (net.Conn, error) {
		msg, err := step(229, "EPSV")
		if err != nil {
			return nil, err
		}
		i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
		if i < 0 || j < i+4 {
			return nil, fmt.Errorf("cannot parse EPSV reply %q", msg)
		}
		host, _, _ := net.SplitHostPort(addr)
		dc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, msg[i+4:j]))
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { dc.Close() })
		return dc, nil
	}
	for _, s := range []struct {
		code int
		line string
	}{{220, ""}, {331, "USER " + testUser}, {230, "PASS " + testPass}, {200, "TYPE I"}} {
		if _, err := step(s.code, s.line); err != nil {
			return err
		}
	}

	dc, err := dialData()
	if err != nil {
		return err
	}
	if _, err := step(150, "STOR "+name); err != nil {
		dc.Close()
		return err
	}
	_, werr := dc.Write(data)
	if cerr := dc.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("upload: %w", werr)
	}
	if _, err := step(226, ""); err != nil {
		return err
	}

	dc, err = dialData()
	if err != nil {
		return err
	}
	defer dc.Close()
	if _, err := step(150, "RETR "+name); err != nil {
		return err
	}
	got, err := io.ReadAll(dc)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if _, err := step(226, ""); err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("downloaded %d bytes sha256 %.16s…, uploaded %d bytes sha256 %.16s…",
			len(got), digest(got), len(data), digest(data))
	}
	_, err = step(221, "QUIT")
	return err
}
