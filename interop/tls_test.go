package interop

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/selfsigned"
)

// tlsServer starts a server with FTPS required and the given reuse policy,
// and returns it with the path of a CA file that trusts its certificate.
// tweaks, if any, adjust the options further.
func tlsServer(t *testing.T, listen string, reuse ftpserver.ReusePolicy, tweaks ...func(*ftpserver.Options)) (*server, string) {
	t.Helper()
	cert, err := selfsigned.Generate("localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerWith(t, listen, func(o *ftpserver.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
		o.TLSMode = ftpserver.TLSRequired
		o.TLSReuse = reuse
		for _, tw := range tweaks {
			tw(o)
		}
	}, account{testUser, testPass, ftpserver.PermAll})
	return s, ca
}

// serveImplicit adds an implicit-FTPS listener to s and returns its port.
func serveImplicit(t *testing.T, s *server) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(s.Host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	go s.Server.ServeImplicitTLS(l)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func TestCurlFTPS(t *testing.T) {
	curl := needTool(t, "curl", "curl")
	s, ca := tlsServer(t, ipv4.listen, ftpserver.ReuseRequired)
	writeSamples(t, s.Root)
	implicitPort := serveImplicit(t, s)
	// Active mode is left to lftp below: curl 7.87 and 7.88 (Debian 12 ships
	// 7.88.1) never start TLS on an accepted active data connection, with any
	// server (curl issue #10666, fixed in later releases).
	for _, v := range []string{"1.2", "1.3"} {
		for _, mode := range []struct {
			name string
			args []string
		}{{"passive", nil}, {"passive without EPSV", []string{"--disable-epsv"}}} {
			t.Run("downloads and uploads with TLS "+v+" in "+mode.name+" mode", func(t *testing.T) {
				up := "up" + v + strings.ReplaceAll(mode.name, " ", "-")
				base := append([]string{"-sS", "--ssl-reqd", "--cacert", ca, "--tlsv" + v, "--tls-max", v, "-u", testUser + ":" + testPass}, mode.args...)
				dir := t.TempDir()
				for _, sm := range samples {
					out := filepath.Join(dir, sm.name)
					mustRun(t, dir, "", curl, append(base, "-o", out, s.url(sm.name))...)
					checkFile(t, out, sm.data)
					mustRun(t, dir, "", curl, append(base, "-T", out, s.url(up+"/"+sm.name), "--ftp-create-dirs")...)
					checkFile(t, filepath.Join(s.Root, up, sm.name), sm.data)
				}
			})
		}
	}
	t.Run("downloads over implicit FTPS", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "x")
		mustRun(t, dir, "", curl, "-sS", "--cacert", ca, "-u", testUser+":"+testPass, "-o", out,
			"ftps://"+net.JoinHostPort(s.Host, implicitPort)+"/"+samples[0].name)
		checkFile(t, out, samples[0].data)
	})
	t.Run("a plain-text login is refused", func(t *testing.T) {
		r := runTool(t, t.TempDir(), "", curl, "-sS", "-u", testUser+":"+testPass, s.url(samples[0].name), "-o", "/dev/null")
		if r.err == nil || !strings.Contains(r.stderr, "530") {
			t.Errorf("curl without TLS: %v %s", r.err, r.stderr)
		}
	})
}

func TestLftpFTPS(t *testing.T) {
	lftp := needTool(t, "lftp", "lftp")
	for _, v := range []struct{ name, priority, passive string }{
		{"TLS 1.3 in passive mode", "NORMAL", "on"},
		{"TLS 1.2 in passive mode", "NORMAL:-VERS-TLS1.3", "on"},
		{"TLS 1.3 in active mode", "NORMAL", "off"},
		{"TLS 1.2 in active mode", "NORMAL:-VERS-TLS1.3", "off"},
	} {
		t.Run("mirrors a tree both ways with "+v.name, func(t *testing.T) {
			t.Parallel()
			s, ca := tlsServer(t, ipv4.listen, ftpserver.ReuseRequired)
			src := writeTree(t, s.Root, "tree")
			local := filepath.Join(t.TempDir(), "copy")
			script := func(cmd string) string {
				return strings.Join([]string{
					"set net:max-retries 1", "set net:timeout 10", "set cmd:fail-exit yes",
					"set ftp:ssl-force yes", "set ftp:ssl-protect-data yes", "set ssl:ca-file " + ca,
					"set ssl:priority " + v.priority, "set ftp:passive-mode " + v.passive,
					"open -u " + testUser + "," + testPass + " ftp://" + s.Addr, cmd}, "; ")
			}
			r := mustRun(t, filepath.Dir(local), "", lftp, "-d", "-c", script("mirror /tree "+local))
			if !strings.Contains(r.stderr+r.stdout, "AUTH TLS") || !strings.Contains(r.stderr+r.stdout, "PROT P") {
				t.Errorf("lftp did not protect the session:\n%s", tail(r.stderr))
			}
			checkLftpMode(t, r, v.passive == "on")
			checkTree(t, src, local)
			mustRun(t, filepath.Dir(local), "", lftp, "-c", script("mirror -R "+local+" /uploaded"))
			checkTree(t, src, filepath.Join(s.Root, "uploaded"))
		})
	}
}

// ftplibTLSScript downloads a file over FTPS with Python's ftplib, either as
// shipped or with a subclass that resumes the control connection's TLS
// session on data connections, and prints the size or the error reply.
const ftplibTLSScript = `
import ftplib, ssl, sys
host, port, user, pw, cafile, reuse, name = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=cafile)
class ReusingFTP_TLS(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
cls = ReusingFTP_TLS if reuse == 'reuse' else ftplib.FTP_TLS
ftp = cls(context=ctx, timeout=20)
ftp.connect(host, int(port))
ftp.login(user, pw)
ftp.prot_p()
got = bytearray()
try:
    ftp.retrbinary('RETR ' + name, got.extend)
    print('ok', len(got))
except ftplib.error_perm as e:
    print('refused', str(e))
except ftplib.error_temp as e:
    print('refused', str(e))
ftp.voidcmd('NOOP')
ftp.quit()
`

func TestPythonFtplibFTPS(t *testing.T) {
	py := needPython(t)
	// A data connection that resumes no session is dropped and the server
	// waits on for the client's real one (a thief may have come first), so
	// the 522 comes at data_timeout: short here, below ftplib's timeout.
	s, ca := tlsServer(t, ipv4.listen, ftpserver.ReuseRequired, func(o *ftpserver.Options) { o.DataTimeout = 4 * time.Second })
	writeSamples(t, s.Root)
	name := samples[0].name
	run := func(t *testing.T, srv *server, reuse string) string {
		r := mustRun(t, t.TempDir(), "", py, "-c", ftplibTLSScript, "localhost", srv.Port, testUser, testPass, ca, reuse, name)
		return strings.TrimSpace(r.stdout)
	}
	t.Run("a subclass that resumes the session transfers", func(t *testing.T) {
		if got := run(t, s, "reuse"); got != "ok "+itoa(len(samples[0].data)) {
			t.Errorf("got %q", got)
		}
	})
	t.Run("ftplib as shipped is refused with 522 and the session goes on", func(t *testing.T) {
		if got := run(t, s, "plain"); !strings.HasPrefix(got, "refused 522") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("ftplib as shipped works when reuse is relaxed", func(t *testing.T) {
		relaxed, ca2 := tlsServer(t, ipv4.listen, ftpserver.ReuseRelaxed)
		writeSamples(t, relaxed.Root)
		r := mustRun(t, t.TempDir(), "", py, "-c", ftplibTLSScript, "localhost", relaxed.Port, testUser, testPass, ca2, "plain", name)
		if got := strings.TrimSpace(r.stdout); got != "ok "+itoa(len(samples[0].data)) {
			t.Errorf("got %q", got)
		}
	})
}
