package ftpclient

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/peers"
	"github.com/ferryftp/ferry/storage/localfs"
)

func TestTLSAgainstFerryWithSessionReuseRequired(t *testing.T) {
	cert := peers.SelfSignedCert(t)
	kp, err := tls.LoadX509KeyPair(cert.CertFile, cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	fsys, err := localfs.New(root, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := ftpserver.Options{
		TLS:     &tls.Config{Certificates: []tls.Certificate{kp}},
		TLSMode: ftpserver.TLSRequired,
		Auth:    ftpservertest.Auth(ftpservertest.User{Name: testUser, Password: testPass, FS: fsys, Perms: ftpserver.PermAll}),
	}
	explicit := ftpservertest.Start(t, "", opts)

	// Implicit FTPS needs its own listener.
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.LoginFailDelay = -1
	srv, err := ftpserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.ServeImplicitTLS(l); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})

	for _, tc := range []struct {
		name string
		addr string
		opts Options
	}{
		{"explicit TLS in passive mode", explicit.Addr, Options{TLS: &tls.Config{RootCAs: cert.Pool}}},
		{"explicit TLS 1.2 in active mode", explicit.Addr, Options{TLS: &tls.Config{RootCAs: cert.Pool, MaxVersion: tls.VersionTLS12}, Active: true}},
		{"implicit TLS in passive mode", l.Addr().String(), Options{TLS: &tls.Config{RootCAs: cert.Pool}, ImplicitTLS: true}},
	} {
		t.Run(tc.name+" transfers and lists with resumed sessions", func(t *testing.T) {
			tc.opts.User, tc.opts.Password = testUser, testPass
			cl := NewClient(tc.addr, tc.opts)
			defer cl.Close()
			ctx := testCtx(t)
			data := randomBytes(700_000)
			local := filepath.Join(t.TempDir(), "x.bin")
			writeFile(t, local, data)
			if _, err := cl.Upload(ctx, local, "x.bin", TransferOptions{Verify: true}); err != nil {
				t.Fatal(err)
			}
			mustEqualFile(t, filepath.Join(root, "x.bin"), data)
			got := filepath.Join(t.TempDir(), "got.bin")
			if _, err := cl.DownloadSegmented(ctx, "x.bin", got, 1, TransferOptions{Verify: true}, nil); err != nil {
				t.Fatal(err)
			}
			mustEqualFile(t, got, data)
			if err := cl.Do(ctx, func(c *Conn) error { _, err := c.List(ctx, "/"); return err }); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("a data connection that does not resume the session is refused", func(t *testing.T) {
		cl := NewClient(explicit.Addr, Options{User: testUser, Password: testPass, TLS: &tls.Config{RootCAs: cert.Pool, ClientSessionCache: noCache{}}, Timeout: 5 * time.Second})
		cl.Retries = -1
		defer cl.Close()
		err := cl.Do(testCtx(t), func(c *Conn) error { _, err := c.List(testCtx(t), "/"); return err })
		if err == nil {
			t.Fatal("ferry accepted a data connection without session reuse")
		}
	})
}
