package selfsigned

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
)

func TestGeneratedCertificateVerifiesForItsNames(t *testing.T) {
	c, err := Generate("ferry.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ferry.test", "127.0.0.1"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: c.Pool()}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: c.Pool()}); err == nil {
		t.Error("verified for a name it does not carry")
	}
	if len(c.Fingerprint) != 95 || strings.Count(c.Fingerprint, ":") != 31 {
		t.Errorf("fingerprint %q", c.Fingerprint)
	}
	if _, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		t.Errorf("PEM pair does not load: %v", err)
	}
}
