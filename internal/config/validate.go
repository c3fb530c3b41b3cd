package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/userstore"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// Limits on values that would otherwise be accepted but make no sense.
const (
	minLineLength = 512
	maxLineLength = 1 << 20
)

// defaultAnonymousNames are the anonymous login names when none are given.
var defaultAnonymousNames = []string{"anonymous", "ftp"}

// Validate checks every value and reports all problems at once, each
// prefixed with its key, e.g. "users[2].root: /srv/x does not exist".
// Array indexes count from 0. It looks at the file system: roots must be
// existing directories and the transfer log's directory must exist.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if c.Listen != "" {
		if err := checkListen(c.Listen); err != nil {
			add("listen", "%v", err)
		}
	}
	if strings.IndexFunc(c.Banner, unicode.IsControl) >= 0 {
		add("banner", "contains a control character; the banner is one line")
	}
	oneOf(add, "upload_mode", c.UploadMode, "direct", "atomic")
	oneOf(add, "sendfile", c.Sendfile, "auto", "always", "never")
	if c.PartialMaxAge != nil && *c.PartialMaxAge < 0 {
		add("partial_max_age", "must not be negative (\"0s\" keeps partial uploads)")
	}
	oneOf(add, "log_level", c.LogLevel, "debug", "info", "warn", "error")
	oneOf(add, "log_format", c.LogFormat, "text", "json")
	if c.TransferLog != "" {
		if dir := filepath.Dir(c.TransferLog); !isDir(dir) {
			add("transfer_log", "directory %s does not exist", dir)
		}
	}

	l := c.Limits
	if l.MaxLineLength != 0 && (l.MaxLineLength < minLineLength || l.MaxLineLength > maxLineLength) {
		add("limits.max_line_length", "%d is outside %d..%d", l.MaxLineLength, minLineLength, maxLineLength)
	}
	positive(add, "limits.idle_timeout", l.IdleTimeout)
	positive(add, "limits.login_timeout", l.LoginTimeout)
	positive(add, "limits.data_timeout", l.DataTimeout)
	positive(add, "limits.shutdown_grace", l.ShutdownGrace)
	atLeast(add, "limits.max_sessions", l.MaxSessions, -1)
	atLeast(add, "limits.max_sessions_per_ip", l.MaxSessionsPerIP, -1)
	atLeast(add, "limits.max_sessions_per_user", l.MaxSessionsPerUser, 0)
	atLeast(add, "limits.max_unauth_sessions", l.MaxUnauthSessions, -1)
	atLeast(add, "limits.max_unauth_sessions_per_ip", l.MaxUnauthSessionsPerIP, -1)
	atLeast64(add, "limits.user_max_files", l.UserMaxFiles, 0)
	atLeast64(add, "limits.user_max_bytes", int64(l.UserMaxBytes), 0)

	s := c.Security
	if s.LoginFailDelay != nil && *s.LoginFailDelay < 0 {
		add("security.login_fail_delay", "must not be negative (\"0s\" turns the delay off)")
	}
	if s.LoginCacheTTL != nil && *s.LoginCacheTTL < 0 {
		add("security.login_cache_ttl", "must not be negative (\"0s\" turns the cache off)")
	}
	positive(add, "security.ban_window", s.BanWindow)
	positive(add, "security.ban_duration", s.BanDuration)
	atLeast(add, "security.max_login_failures", s.MaxLoginFailures, -1)
	atLeast(add, "security.max_unknown_commands", s.MaxUnknownCommands, -1)

	c.validatePassive(add)
	if a := c.Active.Port; a < -1 || a > 65535 {
		add("active.port", "%d is not a port (0 = control port - 1, -1 = ephemeral)", a)
	}
	for i, n := range c.ProxyProtocolFrom {
		if _, err := netip.ParsePrefix(n); err != nil {
			add(fmt.Sprintf("proxy_protocol_from[%d]", i), "%q is not a network such as 10.0.0.0/8 or 192.0.2.7/32", n)
		}
	}
	c.validateTLS(add)
	if err := c.Admin.validate(); err != nil {
		errs = append(errs, err)
	}
	c.validateUsers(add)
	c.validateHooks(add)
	return errors.Join(errs...)
}

func (c *Config) validateTLS(add addFunc) {
	t := c.TLS
	oneOf(add, "tls.mode", t.Mode, "off", "optional", "required")
	oneOf(add, "tls.session_reuse", t.SessionReuse, "required", "strict", "relaxed")
	positive(add, "tls.handshake_timeout", t.HandshakeTimeout)
	on := t.Mode == "optional" || t.Mode == "required"
	if !on {
		if t.ImplicitListen != "" {
			add("tls.implicit_listen", "needs tls.mode = \"optional\" or \"required\"")
		}
		if t.RequireProtP != nil && *t.RequireProtP {
			add("tls.require_prot_p", "needs tls.mode = \"optional\" or \"required\"")
		}
		for i, u := range c.Users {
			if u.TLS == "required" {
				add(fmt.Sprintf("users[%d].tls", i), "\"required\" needs tls.mode = \"optional\" or \"required\"")
			}
		}
		return
	}
	if t.CertFile == "" || t.KeyFile == "" {
		add("tls", "cert_file and key_file are required when TLS is on")
	} else if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		add("tls.cert_file", "%v", err)
	}
	if t.ImplicitListen != "" {
		if err := checkListen(t.ImplicitListen); err != nil {
			add("tls.implicit_listen", "%v", err)
		}
	}
}

type addFunc func(key, format string, args ...any)

func (c *Config) validatePassive(add addFunc) {
	p := c.Passive
	switch {
	case p.PortMin == 0 && p.PortMax == 0:
	case p.PortMin < 1024 || p.PortMin > 65535:
		add("passive.port_min", "%d is outside 1024..65535", p.PortMin)
	case p.PortMax < 1024 || p.PortMax > 65535:
		add("passive.port_max", "%d is outside 1024..65535", p.PortMax)
	case p.PortMin > p.PortMax:
		add("passive.port_min", "%d is greater than port_max %d", p.PortMin, p.PortMax)
	}
	if p.PublicAddr != "" {
		if _, err := parseIPv4(p.PublicAddr); err != nil {
			add("passive.public_addr", "%v", err)
		}
	}
	for i, n := range p.PublicAddrByNet {
		key := fmt.Sprintf("passive.public_addr_by_net[%d]", i)
		if _, err := netip.ParsePrefix(n.Net); err != nil {
			add(key+".net", "%q is not a network such as \"192.168.0.0/16\"", n.Net)
		}
		if _, err := parseIPv4(n.Addr); err != nil {
			add(key+".addr", "%v", err)
		}
	}
}

func (c *Config) validateUsers(add addFunc) {
	a := c.Anonymous
	anonNames := map[string]bool{}
	if a.Enabled {
		checkRoot(add, "anonymous.root", a.Root)
		if _, err := c.anonymousPerms(); err != nil {
			add("anonymous.perms", "%v", err)
		}
		for i, n := range a.Names {
			if err := userstore.CheckName(n); err != nil {
				add(fmt.Sprintf("anonymous.names[%d]", i), "%q: %v", n, err)
			}
		}
		atLeast(add, "anonymous.max_sessions", a.MaxSessions, 0)
		atLeast64(add, "anonymous.max_files", a.MaxFiles, -1)
		for _, n := range c.anonymousNames() {
			anonNames[strings.ToLower(n)] = true
		}
	}
	if len(c.Users) == 0 && !a.Enabled && c.UsersDB == "" {
		add("users", "no users: add a [[users]] entry or enable [anonymous] (or set users_db)")
	}
	if c.UsersDB != "" && !sqlstore.IsPostgres(c.UsersDB) {
		if dir := filepath.Dir(c.UsersDB); !isDir(dir) {
			add("users_db", "directory %s does not exist", dir)
		}
	}
	seen := map[string]int{}
	for i, u := range c.Users {
		key := fmt.Sprintf("users[%d]", i)
		if err := userstore.CheckName(u.Name); err != nil {
			add(key+".name", "%q: %v", u.Name, err)
		} else if j, dup := seen[u.Name]; dup {
			add(key+".name", "%q is already used by users[%d]", u.Name, j)
		} else if anonNames[strings.ToLower(u.Name)] {
			add(key+".name", "%q is an anonymous login name", u.Name)
		} else {
			seen[u.Name] = i
		}
		switch err := password.Check(u.Password); {
		case u.Password == "":
			add(key+".password", "missing; make a hash with `ferry passwd`")
		case err != nil && !strings.HasPrefix(u.Password, "$"):
			add(key+".password", "not a password hash; make one with `ferry passwd`")
		case err != nil:
			add(key+".password", "%v", err)
		}
		if u.S3 != nil {
			if u.Root != "" {
				add(key+".root", "set either root or [users.s3], not both")
			}
			if u.S3.Bucket == "" {
				add(key+".s3.bucket", "missing")
			}
			if _, err := u.S3.spec(); err != nil {
				add(key+".s3.credentials", "%v", err)
			}
		} else {
			checkRoot(add, key+".root", u.Root)
		}
		if _, err := userPerms(u); err != nil {
			add(key+".perms", "%v", err)
		}
		atLeast(add, key+".max_sessions", u.MaxSessions, 0)
		atLeast64(add, key+".max_files", u.MaxFiles, -1)
		oneOf(add, key+".tls", u.TLS, "required")
	}
}

func (c *Config) anonymousNames() []string {
	if len(c.Anonymous.Names) == 0 {
		return defaultAnonymousNames
	}
	return c.Anonymous.Names
}

// anonymousPerms returns the anonymous permissions: perms if given, else
// read-only, plus write and mkdir when write is set.
func (c *Config) anonymousPerms() (ftpserver.Perms, error) {
	a := c.Anonymous
	switch {
	case a.Perms != nil && a.Write:
		return 0, errors.New("set either perms or write, not both")
	case a.Perms != nil:
		return parsePerms(a.Perms)
	case a.Write:
		return ftpserver.PermReadOnly | ftpserver.PermWrite | ftpserver.PermMkdir, nil
	}
	return ftpserver.PermReadOnly, nil
}

// userPerms returns a user's permissions: perms if given, else all, or
// read-only when read_only is set.
func userPerms(u User) (ftpserver.Perms, error) {
	switch {
	case u.Perms != nil && u.ReadOnly:
		return 0, errors.New("set either perms or read_only, not both")
	case u.Perms != nil:
		return parsePerms(u.Perms)
	case u.ReadOnly:
		return ftpserver.PermReadOnly, nil
	}
	return ftpserver.PermAll, nil
}

func parsePerms(names []string) (ftpserver.Perms, error) {
	if len(names) == 0 {
		return 0, errors.New("empty; list at least one permission or leave the key out")
	}
	return ftpserver.ParsePerms(names)
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. \":21\" or \"192.0.2.1:2121\")", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number in 0..65535", addr, port)
	}
	return nil
}

func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	return a, nil
}

func checkRoot(add addFunc, key, root string) {
	if root == "" {
		add(key, "missing")
		return
	}
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		add(key, "%s does not exist", root)
	case err != nil:
		add(key, "%v", err)
	case !fi.IsDir():
		add(key, "%s is not a directory", root)
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func oneOf(add addFunc, key, v string, allowed ...string) {
	if v == "" {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	add(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

func positive(add addFunc, key string, d *Duration) {
	if d != nil && *d <= 0 {
		add(key, "must be positive, got %s (leave the key out for the default)", d.String())
	}
}

func atLeast64(add addFunc, key string, v, lowest int64) {
	if v < lowest {
		add(key, "%d is below %d", v, lowest)
	}
}

func atLeast(add addFunc, key string, v, lowest int) {
	if v < lowest {
		add(key, "%d is below %d", v, lowest)
	}
}
