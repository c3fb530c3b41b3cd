package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/selfsigned"
)

func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	c, err := selfsigned.Generate("ferry.test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, c.CertPEM, 0o600)
	os.WriteFile(keyFile, c.KeyPEM, 0o600)
	return certFile, keyFile
}

func TestTLSValidation(t *testing.T) {
	certFile, keyFile := writeCert(t)
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"an unknown mode is refused", func(c *Config) { c.TLS.Mode = "sometimes" }, "tls.mode"},
		{"TLS on without a certificate is refused", func(c *Config) { c.TLS.Mode = "required" }, "cert_file and key_file are required"},
		{"a certificate file that does not load is refused", func(c *Config) {
			c.TLS.Mode, c.TLS.CertFile, c.TLS.KeyFile = "optional", keyFile, keyFile
		}, "tls.cert_file"},
		{"an implicit listener without TLS is refused", func(c *Config) { c.TLS.ImplicitListen = ":990" }, "tls.implicit_listen"},
		{"a user requiring TLS on a server without it is refused", func(c *Config) { c.Users[0].TLS = "required" }, "users[0].tls"},
		{"an unknown user tls value is refused", func(c *Config) {
			c.TLS.Mode, c.TLS.CertFile, c.TLS.KeyFile = "optional", certFile, keyFile
			c.Users[0].TLS = "maybe"
		}, "users[0].tls"},
		{"an unknown reuse policy is refused", func(c *Config) { c.TLS.SessionReuse = "never" }, "tls.session_reuse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.change(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestTLSServerOptions(t *testing.T) {
	certFile, keyFile := writeCert(t)
	c := validConfig(t)
	yes := true
	c.TLS = TLS{Mode: "required", CertFile: certFile, KeyFile: keyFile, RequireProtP: &yes,
		SessionReuse: "relaxed", AllowCCC: true, RequireSNI: "ferry.test", HandshakeTimeout: Dur(3e9)}
	c.Users[0].TLS = "required"
	opts, closeFn, err := c.ServerOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if opts.TLS == nil || len(opts.TLS.Certificates) != 1 {
		t.Fatal("no certificate in the options")
	}
	if opts.TLSMode != ftpserver.TLSRequired || opts.RequireProtP != ftpserver.ProtRequired ||
		opts.TLSReuse != ftpserver.ReuseRelaxed || !opts.AllowCCC || opts.RequireSNI != "ferry.test" ||
		opts.TLSHandshakeTimeout != 3e9 {
		t.Errorf("options %+v", opts)
	}
}
