package ftpproxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/ferryftp/ferry/internal/selfsigned"
)

// LoadOrCreateCert loads a PEM certificate and key. When generate is set and
// neither file exists, it first creates a self-signed certificate for hosts
// (internal/selfsigned) and writes it there, the key with mode 0600.
func LoadOrCreateCert(certFile, keyFile string, generate bool, hosts []string) (tls.Certificate, error) {
	if generate {
		_, e1 := os.Stat(certFile)
		_, e2 := os.Stat(keyFile)
		if errors.Is(e1, fs.ErrNotExist) && errors.Is(e2, fs.ErrNotExist) {
			c, err := selfsigned.Generate(hosts...)
			if err != nil {
				return tls.Certificate{}, err
			}
			if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
				return tls.Certificate{}, err
			}
			if err := os.WriteFile(certFile, c.CertPEM, 0o644); err != nil {
				return tls.Certificate{}, err
			}
		}
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return c, fmt.Errorf("load certificate: %w", err)
	}
	return c, nil
}
