package main

// Hot-path benchmarks that complement those in package ftp (command
// parsing, LIST/MLSx formatting): reply writing and the server's transfer
// copy path end to end over loopback, plain (sendfile/splice) and TLS.
//
//	go test -run '^$' -bench . -benchtime 10x ./bench
//	go test -run '^$' -bench 'Transfer/RETR/plain' -cpuprofile cpu.out ./bench

import (
	"context"
	"crypto/tls"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/wire"
	"github.com/ferryftp/ferry/storage/localfs"
)

func BenchmarkAppendReply(b *testing.B) {
	cases := []struct{ name, msg string }{
		{"single", "Transfer complete."},
		{"epsv", "Entering Extended Passive Mode (|||40123|)."},
		{"multi-feat", "Extensions supported:\nAUTH TLS\nEPRT\nEPSV\nHASH SHA-256;SHA-1;MD5\nMDTM\nMFMT\nMLST type*;size*;modify*;perm*;unique*;\nPASV\nPBSZ\nPROT\nREST STREAM\nSIZE\nTVFS\nUTF8\nEnd"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				buf = wire.AppendReply(buf[:0], 229, c.msg)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// transferServer starts ferry on localfs over dir, with TLS when secure.
func transferServer(tb testing.TB, dir string, secure bool) (addr string, tlsConf *tls.Config) {
	tb.Helper()
	fsys, err := localfs.New(dir, localfs.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { fsys.Close() })
	opts := ftpserver.Options{
		Auth: ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}),
	}
	if secure {
		certFile, keyFile, err := certFiles(tb.TempDir())
		if err != nil {
			tb.Fatal(err)
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			tb.Fatal(err)
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		opts.TLSMode = ftpserver.TLSRequired
		tlsConf = &tls.Config{InsecureSkipVerify: true, ServerName: "localhost",
			ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	}
	srv := ftpservertest.Start(tb, "", opts)
	return srv.Addr, tlsConf
}

// session logs in (after AUTH TLS, PBSZ and PROT P when tlsConf is set).
func session(tb testing.TB, addr string, tlsConf *tls.Config) *ftpConn {
	tb.Helper()
	c, err := dialFTP(context.Background(), addr, netip.Addr{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.close)
	c.nc.SetDeadline(time.Now().Add(5 * time.Minute))
	if tlsConf != nil {
		if err := c.authTLS(tlsConf); err != nil {
			tb.Fatal(err)
		}
	}
	if err := c.login("u", "p"); err != nil {
		tb.Fatal(err)
	}
	if tlsConf != nil {
		if _, _, err := c.cmd(200, "PBSZ 0"); err != nil {
			tb.Fatal(err)
		}
		if _, _, err := c.cmd(200, "PROT P"); err != nil {
			tb.Fatal(err)
		}
	}
	if _, _, err := c.cmd(200, "TYPE I"); err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkTransfer moves a 64 MiB file through the server's copy path:
// RETR (file → socket: sendfile on the plain path) and STOR (socket →
// file: splice), plain and over TLS.
func BenchmarkTransfer(b *testing.B) {
	const size = 64 << 20
	src := filepath.Join(b.TempDir(), "src.bin")
	if err := writeRandomFile(src, size); err != nil {
		b.Fatal(err)
	}
	for _, secure := range []bool{false, true} {
		mode := "plain"
		if secure {
			mode = "TLS"
		}
		dir := b.TempDir()
		if err := os.Link(src, filepath.Join(dir, "big.bin")); err != nil {
			b.Fatal(err)
		}
		addr, tlsConf := transferServer(b, dir, secure)
		b.Run("RETR/"+mode, func(b *testing.B) {
			c := session(b, addr, tlsConf)
			buf := make([]byte, 256<<10)
			b.SetBytes(size)
			for b.Loop() {
				var s sink
				if _, err := c.retrTLS("big.bin", &s, buf, tlsConf); err != nil {
					b.Fatal(err)
				}
				if s.n != size {
					b.Fatalf("got %d bytes", s.n)
				}
			}
		})
		b.Run("STOR/"+mode, func(b *testing.B) {
			c := session(b, addr, tlsConf)
			b.SetBytes(size)
			for b.Loop() {
				f, err := os.Open(src)
				if err != nil {
					b.Fatal(err)
				}
				_, err = c.stor("up.bin", f, tlsConf)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func writeRandomFile(name string, size int64) error {
	dir := filepath.Dir(name)
	if err := makeData(dir, size, 0, 0); err != nil {
		return err
	}
	return os.Rename(filepath.Join(dir, "big.bin"), name)
}

// TestClientAgainstFerry is the quick check CI runs: the harness's client
// logs in, retrieves small files, and holds a few idle sessions.
func TestClientAgainstFerry(t *testing.T) {
	dir := t.TempDir()
	if err := makeData(dir, 1<<20, 0, 20); err != nil {
		t.Fatal(err)
	}
	fsys, err := localfs.New(dir, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	srv := ftpservertest.Start(t, "", ftpserver.Options{
		Auth: ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}),
	})
	tgt := &target{name: Ferry, addr: srv.Addr, anonAddr: srv.Addr, user: "u", pass: "p"}
	cfg := &config{smallFiles: 20, logins: 40, loginConc: 4, data: dir}
	ctx := context.Background()
	if o, err := smallFiles(ctx, cfg, tgt); err != nil || o.value <= 0 || o.user <= 0 || o.user > o.value {
		t.Fatalf("smallFiles = %+v, %v", o, err)
	}
	if o, err := loginStorm(false)(ctx, cfg, tgt); err != nil || o.value <= 0 || o.note != "" {
		t.Fatalf("loginStorm = %+v, %v", o, err)
	}
	conns, err := holdSessions(ctx, srv.Addr, "u", "p", 10, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if _, _, err := c.cmd(200, "NOOP"); err != nil {
			t.Error(err)
		}
	}
	closeAll(conns)
	c := session(t, srv.Addr, nil)
	var s sink
	if n, err := c.retr("big.bin", &s, make([]byte, 32<<10)); err != nil || n != 1<<20 {
		t.Fatalf("retr = %d, %v", n, err)
	}
	if n, err := c.stor("up.bin", strings.NewReader("hello"), nil); err != nil || n != 5 {
		t.Fatalf("stor = %d, %v", n, err)
	}
}

// TestTLSClient checks the TLS path of the benchmark client.
func TestTLSClient(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), []byte("secret data"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, tlsConf := transferServer(t, dir, true)
	c := session(t, addr, tlsConf)
	var s sink
	if n, err := c.retrTLS("big.bin", &s, make([]byte, 4096), tlsConf); err != nil || n != 11 {
		t.Fatalf("retr = %d, %v", n, err)
	}
	if n, err := c.stor("up.bin", strings.NewReader("hello"), tlsConf); err != nil || n != 5 {
		t.Fatalf("stor = %d, %v", n, err)
	}
}
