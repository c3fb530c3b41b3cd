package config

import "fmt"

// Admin is the [admin] table, for `ferry serve` and `ferry proxy` alike:
// the HTTP listener of /metrics (Prometheus), /healthz and /readyz.
type Admin struct {
	// Listen is the admin listener's address, host:port (default: none,
	// no admin listener). It serves without authentication: keep it on
	// loopback or a management network.
	Listen string `toml:"listen"`
	// Accounts is the admin accounts file of the console and REST API
	// (ferry serve only; default: none, no console). See docs/admin.md.
	Accounts string `toml:"accounts"`
	// TLS serves the admin listener over HTTPS with the FTPS certificate
	// ([tls] cert_file and key_file; ferry serve only).
	TLS bool `toml:"tls"`
}

// validate checks the [admin] table.
func (a Admin) validate() error {
	if a.Listen == "" {
		return nil
	}
	if err := checkListen(a.Listen); err != nil {
		return fmt.Errorf("admin.listen: %w", err)
	}
	return nil
}

// serveOnly refuses, in the proxy's file, the keys only ferry serve uses.
func (a Admin) serveOnly() error {
	if a.Accounts != "" || a.TLS {
		return fmt.Errorf("admin.accounts and admin.tls are for ferry serve; the proxy's admin listener serves /metrics, /healthz and /readyz only")
	}
	return nil
}
