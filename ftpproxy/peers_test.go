package ftpproxy

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/internal/peers"
)

// startVsftpd runs vsftpd (internal/peers) with f.bin in its root.
func startVsftpd(t *testing.T, opts peers.Options) (*peers.Server, []byte) {
	t.Helper()
	s := peers.Start(t, peers.Vsftpd, opts)
	data := make([]byte, 1<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(s.Root, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Chown(); err != nil {
		t.Fatal(err)
	}
	return s, data
}

func TestVsftpdThroughProxy(t *testing.T) {
	curl := need(t, "curl")
	for _, tlsBackend := range []bool{false, true} {
		name := "plain vsftpd"
		var popts peers.Options
		var cert *peers.Cert
		if tlsBackend {
			name = "vsftpd with TLS required and require_ssl_reuse"
			cert = peers.SelfSignedCert(t)
			popts = peers.Options{CertFile: cert.CertFile, KeyFile: cert.KeyFile}
		}
		t.Run(name+" serves curl through the proxy, passive and active", func(t *testing.T) {
			srv, data := startVsftpd(t, popts)
			opts := Options{Backend: srv.Addr}
			if tlsBackend {
				opts.BackendTLSMode = TLSExplicit
				opts.BackendTLS = &tls.Config{RootCAs: cert.Pool, ServerName: "localhost"}
			}
			addr, logs := startProxy(t, "", opts)
			url := "ftp://" + srv.User + ":" + srv.Password + "@" + addr + "/f.bin"
			for _, extra := range [][]string{nil, {"--disable-epsv"}, {"-P", "127.0.0.1"}} {
				dst := filepath.Join(t.TempDir(), "got")
				args := append([]string{"-sS", "--max-time", "20", "-o", dst}, extra...)
				run(t, curl, append(args, url)...)
				got, _ := os.ReadFile(dst)
				if !bytes.Equal(got, data) {
					t.Errorf("curl %v: %d bytes, want %d\nproxy log:\n%s\nvsftpd:\n%s", extra, len(got), len(data), logs, srv.Output())
				}
			}
		})
	}
}
