package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secsy/goftp"

	"github.com/ferryftp/ferry/ftpserver"
)

// manyFiles writes a tree with enough files under dir/name for several
// parallel transfers, and returns its path.
func manyFiles(t *testing.T, dir, name string) string {
	t.Helper()
	root := writeTree(t, dir, name)
	for i := 0; i < 12; i++ {
		writeFile(t, filepath.Join(root, "batch", fmt.Sprintf("file%02d.bin", i)), sampleData(150000+i*997, uint64(10+i)))
	}
	return root
}

// TestRclone copies a tree up and down with four parallel transfers and
// checks it, in plain FTP and in explicit FTPS under the default
// session-reuse policy: rclone shares one TLS session cache across its
// connections, so its data connections resume sessions of other control
// connections of the same user.
func TestRclone(t *testing.T) {
	rclone := needTool(t, "rclone", "rclone")
	obscured := strings.TrimSpace(mustRun(t, t.TempDir(), "", rclone, "obscure", testPass).stdout)
	for _, mode := range []struct {
		name string
		tls  bool
	}{{"plain FTP", false}, {"explicit FTPS", true}} {
		t.Run("copies up, down and checks over "+mode.name, func(t *testing.T) {
			t.Parallel()
			var s *server
			if mode.tls {
				s, _ = tlsServer(t, ipv4.listen, ftpserver.ReuseRequired)
			} else {
				s = startServer(t, ipv4.listen)
			}
			src := manyFiles(t, t.TempDir(), "src")
			remote := ":ftp,host=" + s.Host + ",port=" + s.Port + ",user=" + testUser + ",pass=" + obscured + ":"
			cfgFile := filepath.Join(t.TempDir(), "rclone.conf")
			writeFile(t, cfgFile, nil)
			args := func(extra ...string) []string {
				a := []string{"--config", cfgFile, "--transfers", "4", "--checkers", "4",
					"--retries", "1", "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "30s", "-v"}
				if mode.tls {
					a = append(a, "--ftp-explicit-tls", "--ftp-no-check-certificate")
				}
				return append(extra, a...)
			}
			r := mustRun(t, t.TempDir(), "", rclone, args("copy", src, remote+"up")...)
			if mode.tls && strings.Contains(r.stderr, "522") {
				t.Errorf("rclone saw 522:\n%s", tail(r.stderr))
			}
			checkTree(t, src, filepath.Join(s.Root, "up"))
			down := filepath.Join(t.TempDir(), "down")
			mustRun(t, t.TempDir(), "", rclone, args("copy", remote+"up", down)...)
			checkTree(t, src, down)
			mustRun(t, t.TempDir(), "", rclone, args("check", src, remote+"up")...)
		})
	}
}

var (
	aioftpOnce sync.Once
	aioftpPath string
	aioftpErr  error
)

// needAioftp returns a python3 that can import aioftp (Debian's
// python3-aioftp serves /usr/bin/python3, which may not be the first
// python3 in PATH).
func needAioftp(t *testing.T) string {
	t.Helper()
	aioftpOnce.Do(func() {
		var cands []string
		if p, err := exec.LookPath("python3"); err == nil {
			cands = append(cands, p)
		}
		cands = append(cands, "/usr/bin/python3")
		aioftpErr = fmt.Errorf("no python3 found")
		for _, p := range cands {
			ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
			out, err := exec.CommandContext(ctx, p, "-c", "import aioftp").CombinedOutput()
			cancel()
			if err == nil {
				aioftpPath, aioftpErr = p, nil
				return
			}
			aioftpErr = fmt.Errorf("%s: %v: %s", p, err, bytes.TrimSpace(out))
		}
	})
	if aioftpErr != nil {
		missing(t, "python3 with aioftp is not usable (Debian package python3-aioftp): %v", aioftpErr)
	}
	return aioftpPath
}

// aioftpScript uploads every file of a local directory, downloads them
// again and prints the remote names. With a CA file it speaks implicit
// FTPS: aioftp then starts TLS on each data connection as soon as it is
// connected, before it sends RETR or STOR.
const aioftpScript = `
import asyncio, pathlib, ssl, sys
import aioftp
host, port, user, pw, cafile, src, dst = sys.argv[1:8]
async def main():
    ctx = ssl.create_default_context(cafile=cafile) if cafile != '-' else None
    async with aioftp.Client.context(host, int(port), user, pw, ssl=ctx,
                                     socket_timeout=20, connection_timeout=20) as c:
        await c.make_directory('up')
        for p in sorted(pathlib.Path(src).iterdir()):
            await c.upload(p, 'up/' + p.name, write_into=True)
        pathlib.Path(dst).mkdir()
        for path, info in await c.list('up'):
            await c.download(path, pathlib.Path(dst) / path.name, write_into=True)
            print(path.name)
asyncio.run(asyncio.wait_for(main(), 50))
`

// TestAioftp moves the samples up and down with aioftp, in plain FTP and
// in implicit FTPS. aioftp cannot resume TLS sessions (asyncio has no way
// to), so the FTPS server relaxes session reuse, as documented for such
// clients.
func TestAioftp(t *testing.T) {
	py := needAioftp(t)
	for _, mode := range []struct {
		name string
		tls  bool
	}{{"plain FTP", false}, {"implicit FTPS", true}} {
		t.Run("uploads and downloads every sample over "+mode.name, func(t *testing.T) {
			t.Parallel()
			var s *server
			ca, port := "-", ""
			if mode.tls {
				s, ca = tlsServer(t, ipv4.listen, ftpserver.ReuseRelaxed)
				port = serveImplicit(t, s)
			} else {
				s = startServer(t, ipv4.listen)
				port = s.Port
			}
			src := t.TempDir()
			writeSamples(t, src)
			dst := filepath.Join(t.TempDir(), "down")
			start := time.Now()
			r := mustRun(t, t.TempDir(), "", py, "-c", aioftpScript, s.Host, port, testUser, testPass, ca, src, dst)
			if d := time.Since(start); d > 40*time.Second {
				t.Logf("aioftp took %v", d)
			}
			got := strings.Fields(strings.ReplaceAll(r.stdout, " ", "_"))
			want := sampleNames()
			for i := range want {
				want[i] = strings.ReplaceAll(want[i], " ", "_")
			}
			sort.Strings(got)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("listed %q, want %q", got, want)
			}
			checkSamples(t, filepath.Join(s.Root, "up"))
			checkSamples(t, dst)
		})
	}
}

// TestNcftp uploads the samples with ncftpput and downloads them with
// ncftpget, in passive and in active mode.
func TestNcftp(t *testing.T) {
	put := needTool(t, "ncftpput", "ncftp")
	get := needTool(t, "ncftpget", "ncftp")
	for _, mode := range []struct{ name, flag string }{{"passive", "-F"}, {"active", "-E"}} {
		t.Run("uploads and downloads every sample in "+mode.name+" mode", func(t *testing.T) {
			t.Parallel()
			s := startServer(t, ipv4.listen)
			src := t.TempDir()
			writeSamples(t, src)
			var files []string
			for _, n := range sampleNames() {
				files = append(files, filepath.Join(src, n))
			}
			base := []string{"-u", testUser, "-p", testPass, "-P", s.Port, "-t", "20", mode.flag}
			mustRun(t, src, "", put, append(append(base, "-m", s.Host, "/up"), files...)...)
			checkSamples(t, filepath.Join(s.Root, "up"))
			dst := t.TempDir()
			var remote []string
			for _, n := range sampleNames() {
				remote = append(remote, "/up/"+n)
			}
			mustRun(t, dst, "", get, append(append(base, s.Host, dst), remote...)...)
			checkSamples(t, dst)
		})
	}
}

// TestGoftpFTPS moves files with secsy/goftp over explicit FTPS under the
// default policy, with parallel transfers on a pool of control connections
// that share one TLS session cache.
func TestGoftpFTPS(t *testing.T) {
	s, ca := tlsServer(t, ipv4.listen, ftpserver.ReuseRequired)
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := goftp.DialConfig(goftp.Config{
		User:               testUser,
		Password:           testPass,
		ConnectionsPerHost: 4,
		Timeout:            20 * time.Second,
		TLSMode:            goftp.TLSExplicit,
		TLSConfig: &tls.Config{
			ServerName:         "localhost",
			RootCAs:            pool,
			ClientSessionCache: tls.NewLRUClientSessionCache(16),
		},
	}, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 8
	data := func(i int) []byte { return sampleData(200000+i*1013, uint64(100+i)) }
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("g%d.bin", i)
			if err := c.Store(name, bytes.NewReader(data(i))); err != nil {
				errs <- fmt.Errorf("store %s: %v", name, err)
				return
			}
			var b bytes.Buffer
			if err := c.Retrieve(name, &b); err != nil {
				errs <- fmt.Errorf("retrieve %s: %v", name, err)
				return
			}
			if !bytes.Equal(b.Bytes(), data(i)) {
				errs <- fmt.Errorf("%s: got %d bytes back, want %d", name, b.Len(), len(data(i)))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := 0; i < n; i++ {
		checkFile(t, filepath.Join(s.Root, fmt.Sprintf("g%d.bin", i)), data(i))
	}
	entries, err := c.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Errorf("ReadDir listed %d entries, want %d", len(entries), n)
	}
}
