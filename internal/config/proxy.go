package config

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/ferryftp/ferry/ftpproxy"
	"github.com/ferryftp/ferry/internal/selfsigned"
)

// Proxy is the TOML configuration file of `ferry proxy` (see
// docs/proxy.md). Keys are lower case; unknown keys are errors.
type Proxy struct {
	Listen            []string          `toml:"listen"`
	Mode              string            `toml:"mode"`
	Backend           string            `toml:"backend"`
	UserBackends      map[string]string `toml:"user_backends"`
	AllowDestinations []string          `toml:"allow_destinations"`

	ServerData          string `toml:"server_data"`
	NoEPSV              bool   `toml:"no_epsv"`
	UseControlIPForPASV bool   `toml:"use_control_ip_for_pasv"`
	DataPorts           string `toml:"data_ports"`
	ActiveSourcePort    int    `toml:"active_source_port"`

	MaxLineLength    int       `toml:"max_line_length"`
	IdleTimeout      *Duration `toml:"idle_timeout"`
	ConnectTimeout   *Duration `toml:"connect_timeout"`
	DataTimeout      *Duration `toml:"data_timeout"`
	MaxSessions      int       `toml:"max_sessions"`
	MaxSessionsPerIP int       `toml:"max_sessions_per_ip"`
	// Caps of sessions that have not logged in, and login-failure bans per
	// client address (see Options).
	MaxUnauthSessions      int       `toml:"max_unauth_sessions"`
	MaxUnauthSessionsPerIP int       `toml:"max_unauth_sessions_per_ip"`
	MaxLoginFailures       int       `toml:"max_login_failures"`
	BanWindow              *Duration `toml:"ban_window"`
	BanDuration            *Duration `toml:"ban_duration"`
	ProxyProtocol          int       `toml:"proxy_protocol"`
	Banner                 string    `toml:"banner"`

	ClientTLS  ProxyClientTLS  `toml:"client_tls"`
	BackendTLS ProxyBackendTLS `toml:"backend_tls"`

	Rules []ProxyRule `toml:"rule"`

	Admin Admin `toml:"admin"`
}

// ProxyClientTLS is the [client_tls] table: TLS presented to clients.
type ProxyClientTLS struct {
	Mode     string   `toml:"mode"` // off, explicit, implicit
	Cert     string   `toml:"cert"`
	Key      string   `toml:"key"`
	Generate bool     `toml:"generate"` // create a self-signed pair when both files are missing
	Hosts    []string `toml:"hosts"`    // names for a generated certificate
	Require  bool     `toml:"require"`
}

// ProxyBackendTLS is the [backend_tls] table: TLS toward servers.
type ProxyBackendTLS struct {
	Mode       string `toml:"mode"`
	CA         string `toml:"ca"`
	ServerName string `toml:"server_name"`
	Insecure   bool   `toml:"insecure_skip_verify"`
}

// ProxyRule is one [[rule]] table.
type ProxyRule struct {
	Action   string   `toml:"action"`
	Commands []string `toml:"commands"`
	Args     []string `toml:"args"`
	Users    []string `toml:"users"`
	Sources  []string `toml:"sources"`
}

// LoadProxy reads a proxy configuration file. Relative certificate paths
// are relative to the file's directory.
func LoadProxy(path string) (*Proxy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseProxy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&c.ClientTLS.Cert, &c.ClientTLS.Key, &c.BackendTLS.CA} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return c, nil
}

// ParseProxy decodes a proxy configuration file; unknown keys are errors.
func ParseProxy(data []byte) (*Proxy, error) {
	var c Proxy
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, k := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("unknown key %q", k.String()))
	}
	for _, k := range md.Keys() {
		if last := k[len(k)-1]; last != strings.ToLower(last) && !isUserBackendKey(k) {
			errs = append(errs, fmt.Errorf("unknown key %q (keys are lower case)", k.String()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &c, nil
}

func isUserBackendKey(k toml.Key) bool { return len(k) == 2 && k[0] == "user_backends" }

// ProxyOptions checks the file and builds the proxy options it describes
// (without Logger), as ServerOptions does for the server.
func (c *Proxy) ProxyOptions() (ftpproxy.Options, error) {
	var o ftpproxy.Options
	var err error
	if o.Mode, err = ftpproxy.ParseMode(c.Mode); err != nil {
		return o, err
	}
	if o.ServerData, err = ftpproxy.ParseDataMode(c.ServerData); err != nil {
		return o, err
	}
	o.Backend, o.UserBackends, o.AllowDestinations = c.Backend, c.UserBackends, c.AllowDestinations
	o.NoEPSV, o.UseControlIPForPASV, o.ActiveSourcePort = c.NoEPSV, c.UseControlIPForPASV, c.ActiveSourcePort
	if c.DataPorts != "" {
		if o.DataPortMin, o.DataPortMax, err = ParsePortRange(c.DataPorts); err != nil {
			return o, err
		}
	}
	o.MaxLineLength, o.MaxSessions, o.MaxSessionsPerIP = c.MaxLineLength, c.MaxSessions, c.MaxSessionsPerIP
	o.ProxyProtocol, o.Banner = c.ProxyProtocol, c.Banner
	o.IdleTimeout, o.ConnectTimeout, o.DataTimeout = c.IdleTimeout.get(), c.ConnectTimeout.get(), c.DataTimeout.get()
	o.MaxUnauthSessions, o.MaxUnauthSessionsPerIP = c.MaxUnauthSessions, c.MaxUnauthSessionsPerIP
	o.MaxLoginFailures, o.BanWindow, o.BanDuration = c.MaxLoginFailures, c.BanWindow.get(), c.BanDuration.get()
	if o.ClientTLSMode, err = ftpproxy.ParseTLSMode(c.ClientTLS.Mode); err != nil {
		return o, fmt.Errorf("client_tls: %w", err)
	}
	o.RequireClientTLS = c.ClientTLS.Require
	if o.ClientTLSMode != ftpproxy.TLSOff {
		if c.ClientTLS.Cert == "" || c.ClientTLS.Key == "" {
			return o, errors.New("client_tls: cert and key are required")
		}
		cert, err := LoadOrCreateCert(c.ClientTLS.Cert, c.ClientTLS.Key, c.ClientTLS.Generate, c.ClientTLS.Hosts)
		if err != nil {
			return o, fmt.Errorf("client_tls: %w", err)
		}
		o.ClientTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if o.BackendTLSMode, err = ftpproxy.ParseTLSMode(c.BackendTLS.Mode); err != nil {
		return o, fmt.Errorf("backend_tls: %w", err)
	}
	if o.BackendTLSMode != ftpproxy.TLSOff {
		tc := &tls.Config{ServerName: c.BackendTLS.ServerName, InsecureSkipVerify: c.BackendTLS.Insecure}
		if c.BackendTLS.CA != "" {
			pem, err := os.ReadFile(c.BackendTLS.CA)
			if err != nil {
				return o, fmt.Errorf("backend_tls: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("backend_tls: no certificate in %s", c.BackendTLS.CA)
			}
		}
		o.BackendTLS = tc
	}
	for _, r := range c.Rules {
		o.Rules = append(o.Rules, ftpproxy.Rule{Action: r.Action, Commands: r.Commands, Args: r.Args, Users: r.Users, Sources: r.Sources})
	}
	if err := c.Admin.validate(); err != nil {
		return o, err
	}
	if err := c.Admin.serveOnly(); err != nil {
		return o, err
	}
	// Check now, so errors name the file rather than surface at start.
	if err := o.Validate(); err != nil {
		return o, errors.New(strings.TrimPrefix(err.Error(), "ftpproxy: "))
	}
	return o, nil
}

// ParsePortRange parses "lo-hi".
func ParsePortRange(s string) (lo, hi int, err error) {
	if _, err := fmt.Sscanf(s, "%d-%d", &lo, &hi); err != nil || lo < 1024 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("data_ports %q: want lo-hi within 1024-65535", s)
	}
	return lo, hi, nil
}

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
