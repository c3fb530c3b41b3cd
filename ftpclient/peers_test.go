package ftpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/peers"
)

// Tests against real servers (vsftpd, pure-ftpd) from Debian packages; they
// skip when the packages cannot be had, unless FERRY_REQUIRE_PEERS=1.

func peerClient(t *testing.T, s *peers.Server, o Options) *Client {
	o.User, o.Password = s.User, s.Password
	o.Timeout = 10 * time.Second
	cl := NewClient(s.Addr, o)
	cl.RetryDelay = 20 * time.Millisecond
	t.Cleanup(func() { cl.Close() })
	return cl
}

func TestMirrorAgainstPeersGivesIdenticalBytesBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("peers in -short mode")
	}
	cases := []struct {
		kind string
		v6   bool
		opts Options
		mode string
	}{
		{peers.Vsftpd, false, Options{}, "passive"},
		{peers.Vsftpd, false, Options{Active: true}, "active"},
		{peers.Vsftpd, true, Options{}, "passive over IPv6"},
		{peers.PureFTPd, false, Options{}, "passive"},
		{peers.PureFTPd, false, Options{Active: true, DisableEPSV: true}, "active with PORT"},
		{peers.PureFTPd, true, Options{Active: true}, "active over IPv6"},
		{peers.ProFTPd, false, Options{}, "passive"},
		// LIST and pipelined MDTMs instead of MLSD (vsftpd has no MLSD).
		{peers.ProFTPd, false, Options{DisableMLSx: true}, "passive with LIST and MDTM"},
	}
	for _, tc := range cases {
		t.Run(tc.kind+" "+tc.mode+" mirrors a tree up and back down", func(t *testing.T) {
			if tc.v6 {
				ipv6Available(t)
			}
			s := peers.Start(t, tc.kind, peers.Options{IPv6: tc.v6})
			cl := peerClient(t, s, tc.opts)
			ctx := testCtx(t)
			src := t.TempDir()
			files := map[string][]byte{
				"a.txt":            []byte("alpha\n"),
				"sub/b.bin":        randomBytes(1<<20 + 3),
				"sub/deep/c.dat":   randomBytes(7),
				"sub/empty.txt":    {},
				"with space/x y z": []byte("spaces"),
			}
			for n, d := range files {
				writeFile(t, filepath.Join(src, n), d)
			}
			st, err := cl.MirrorUp(ctx, src, "/tree", MirrorOptions{Parallel: 2, Verify: true})
			if err != nil || st.Files != len(files) {
				t.Fatalf("MirrorUp = %+v, %v\n%s", st, err, s.Output())
			}
			for n, d := range files {
				mustEqualFile(t, filepath.Join(s.Root, "tree", n), d)
			}
			again, err := cl.MirrorUp(ctx, src, "/tree", MirrorOptions{OnlyNewer: true})
			if err != nil || again.Files != 0 {
				t.Fatalf("second MirrorUp = %+v, %v", again, err)
			}
			dst := t.TempDir()
			st, err = cl.MirrorDown(ctx, "/tree", dst, MirrorOptions{Parallel: 2, Verify: true})
			if err != nil || st.Files != len(files) {
				t.Fatalf("MirrorDown = %+v, %v", st, err)
			}
			for n, d := range files {
				mustEqualFile(t, filepath.Join(dst, n), d)
			}
			os.Remove(filepath.Join(src, "sub", "deep", "c.dat"))
			st, err = cl.MirrorUp(ctx, src, "/tree", MirrorOptions{Delete: true})
			if err != nil || st.Deleted != 1 {
				t.Fatalf("MirrorUp --delete = %+v, %v", st, err)
			}
			if _, err := os.Stat(filepath.Join(s.Root, "tree", "sub", "deep", "c.dat")); err == nil {
				t.Fatal("deleted file still on the server")
			}
		})
	}
}

func TestResumeAfterAnInterruptedDownloadFromPeers(t *testing.T) {
	for _, kind := range []string{peers.Vsftpd, peers.PureFTPd} {
		t.Run(kind+" resumes a download cut after one mebibyte", func(t *testing.T) {
			s := peers.Start(t, kind, peers.Options{})
			data := randomBytes(4 << 20)
			writeFile(t, filepath.Join(s.Root, "big.bin"), data)
			c := dial(t, s.Addr, Options{User: s.User, Password: s.Password})
			local := filepath.Join(t.TempDir(), "big.bin")
			f, _ := os.Create(local)
			ctx, cancel := context.WithCancel(testCtx(t))
			c.Retr(ctx, "big.bin", 0, &cancelAfter{n: 1 << 20, cancel: cancel})
			f.Write(data[:1<<20])
			f.Close()
			if err := c.Noop(testCtx(t)); err != nil {
				t.Fatalf("NOOP after ABOR: %v", err)
			}
			var transcript bytes.Buffer
			cl := peerClient(t, s, Options{Debug: &transcript})
			n, err := cl.Download(testCtx(t), "big.bin", local, TransferOptions{Resume: true, Verify: true})
			if err != nil || n != int64(len(data)-1<<20) {
				t.Fatalf("resumed Download = %d, %v\n%s", n, err, transcript.String())
			}
			mustEqualFile(t, local, data)
			if !strings.Contains(transcript.String(), "> REST 1048576") {
				t.Fatalf("no REST 1048576:\n%s", transcript.String())
			}
		})
	}
}

func TestTLSWithSessionReuseAgainstVsftpd(t *testing.T) {
	cert := peers.SelfSignedCert(t)
	s := peers.Start(t, peers.Vsftpd, peers.Options{CertFile: cert.CertFile, KeyFile: cert.KeyFile})
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"explicit TLS 1.3 in passive mode reuses the session", Options{TLS: &tls.Config{RootCAs: cert.Pool}}},
		{"explicit TLS 1.2 in passive mode reuses the session", Options{TLS: &tls.Config{RootCAs: cert.Pool, MaxVersion: tls.VersionTLS12}}},
		{"explicit TLS in active mode reuses the session", Options{TLS: &tls.Config{RootCAs: cert.Pool}, Active: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := peerClient(t, s, tc.opts)
			ctx := testCtx(t)
			data := randomBytes(500_000)
			local := filepath.Join(t.TempDir(), "t.bin")
			writeFile(t, local, data)
			if _, err := cl.Upload(ctx, local, "t.bin", TransferOptions{}); err != nil {
				t.Fatalf("Upload: %v\n%s", err, s.Output())
			}
			got := filepath.Join(t.TempDir(), "got.bin")
			for i := 0; i < 3; i++ { // several data connections on one session
				if _, err := cl.Download(ctx, "t.bin", got, TransferOptions{Verify: true}); err != nil {
					t.Fatalf("Download %d: %v", i, err)
				}
			}
			mustEqualFile(t, got, data)
			err := cl.Do(ctx, func(c *Conn) error {
				if !c.TLS() {
					t.Error("control connection not protected")
				}
				_, err := c.List(ctx, "/")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("a data connection without the session is refused, so reuse is enforced", func(t *testing.T) {
		cl := peerClient(t, s, Options{TLS: &tls.Config{RootCAs: cert.Pool, ClientSessionCache: noCache{}}})
		err := cl.Do(testCtx(t), func(c *Conn) error { _, err := c.List(testCtx(t), "/"); return err })
		if err == nil {
			t.Fatal("vsftpd accepted a data connection that did not resume the TLS session")
		}
	})
	t.Run("a plaintext login is refused", func(t *testing.T) {
		_, err := Dial(testCtx(t), s.Addr, Options{User: s.User, Password: s.Password, Timeout: 5 * time.Second})
		if err == nil {
			t.Fatal("plaintext login accepted")
		}
	})
}

// noCache is a session cache that forgets everything.
type noCache struct{}

func (noCache) Get(string) (*tls.ClientSessionState, bool) { return nil, false }
func (noCache) Put(string, *tls.ClientSessionState)        {}

func TestImplicitTLSAgainstVsftpd(t *testing.T) {
	cert := peers.SelfSignedCert(t)
	s := peers.Start(t, peers.Vsftpd, peers.Options{CertFile: cert.CertFile, KeyFile: cert.KeyFile, ImplicitTLS: true})
	cl := peerClient(t, s, Options{TLS: &tls.Config{RootCAs: cert.Pool}, ImplicitTLS: true})
	writeFile(t, filepath.Join(s.Root, "i.txt"), []byte("implicit"))
	got := filepath.Join(t.TempDir(), "i.txt")
	if _, err := cl.Download(testCtx(t), "i.txt", got, TransferOptions{Verify: true}); err != nil {
		t.Fatal(err)
	}
	mustEqualFile(t, got, []byte("implicit"))
}
