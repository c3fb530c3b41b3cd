// Package config reads ferry's TOML configuration file, checks it and turns
// it into ftpserver.Options. Every key is documented, with its default, in
// docs/configuration.md; ferry.example.toml at the repository root is a
// complete example.
//
// Decoding is strict: a key the schema does not know is an error naming the
// key and its line, so a typo never silently falls back to a default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// Config is the whole configuration file. The zero value of a field selects
// the default documented in docs/configuration.md.
type Config struct {
	// Listen is the control connection address, host:port (default ":21").
	Listen string `toml:"listen"`
	// Banner is the text of the 220 greeting, one line.
	Banner string `toml:"banner"`
	// UploadMode is "direct" (write in place, the default) or "atomic"
	// (write to a hidden temporary file and rename it into place on success).
	UploadMode string `toml:"upload_mode"`
	// DurableUploads makes local uploads durable before the 226 reply:
	// fsync of the file, and of its directory after a rename or a new name
	// (default true).
	DurableUploads *bool `toml:"durable_uploads"`
	// Sendfile is "auto" (the default: sendfile(2) unless the client is on
	// this host), "always" or "never" (ftpserver.SendfileMode).
	Sendfile string `toml:"sendfile"`
	// PartialMaxAge is how long an atomic upload's partial file, kept for
	// a resume, may stay before it is swept (default "24h"; "0s" keeps
	// partials until they are resumed or removed by hand).
	PartialMaxAge *Duration `toml:"partial_max_age"`
	// TransferLog is the path of an xferlog(5) file; "" turns it off.
	TransferLog string `toml:"transfer_log"`
	// LogLevel is "debug", "info" (default), "warn" or "error".
	LogLevel string `toml:"log_level"`
	// LogFormat is "text" (default) or "json".
	LogFormat string `toml:"log_format"`
	// ProxyProtocolFrom lists the networks of load balancers that send a
	// PROXY protocol header (v1 or v2) before each connection.
	ProxyProtocolFrom []string `toml:"proxy_protocol_from"`
	// UsersDB is a SQL user database managed with `ferry user` (see
	// docs/users.md): a SQLite file path or a postgres:// URL; "" means
	// none. Its users are tried after the [[users]] entries.
	UsersDB string `toml:"users_db"`

	Limits    Limits    `toml:"limits"`
	Security  Security  `toml:"security"`
	Passive   Passive   `toml:"passive"`
	Active    Active    `toml:"active"`
	Anonymous Anonymous `toml:"anonymous"`
	TLS       TLS       `toml:"tls"`
	Admin     Admin     `toml:"admin"`
	Users     []User    `toml:"users"`
	Hooks     []Hook    `toml:"hooks"`
}

// TLS is the [tls] table: FTPS (RFC 4217).
type TLS struct {
	// Mode is "off" (default), "optional" or "required".
	Mode string `toml:"mode"`
	// CertFile and KeyFile are PEM files, re-read on SIGHUP.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// ImplicitListen, when set, serves implicit FTPS on that address
	// (conventionally ":990").
	ImplicitListen string `toml:"implicit_listen"`
	// RequireProtP refuses unprotected data connections (default: true
	// when mode is "required", else false).
	RequireProtP *bool `toml:"require_prot_p"`
	// SessionReuse is "required" (default), "strict" or "relaxed".
	SessionReuse string `toml:"session_reuse"`
	// AllowCCC lets clients drop TLS on the control connection.
	AllowCCC bool `toml:"allow_ccc"`
	// RequireSNI refuses clients whose SNI is not this name.
	RequireSNI string `toml:"require_sni"`
	// HandshakeTimeout bounds each handshake (default "10s").
	HandshakeTimeout *Duration `toml:"handshake_timeout"`
}

// Limits is the [limits] table: sizes, timeouts and session caps.
type Limits struct {
	MaxLineLength      int       `toml:"max_line_length"`
	IdleTimeout        *Duration `toml:"idle_timeout"`
	LoginTimeout       *Duration `toml:"login_timeout"`
	DataTimeout        *Duration `toml:"data_timeout"`
	MaxSessions        int       `toml:"max_sessions"`
	MaxSessionsPerIP   int       `toml:"max_sessions_per_ip"`
	MaxSessionsPerUser int       `toml:"max_sessions_per_user"`
	// MaxUnauthSessions and MaxUnauthSessionsPerIP cap the sessions that
	// have not logged in yet (default half of max_sessions and of
	// max_sessions_per_ip; -1 no cap of their own).
	MaxUnauthSessions      int       `toml:"max_unauth_sessions"`
	MaxUnauthSessionsPerIP int       `toml:"max_unauth_sessions_per_ip"`
	ShutdownGrace          *Duration `toml:"shutdown_grace"`
	// Bandwidth: the whole server's and each session's (unset: unlimited).
	MaxUploadRate       Rate `toml:"max_upload_rate"`
	MaxDownloadRate     Rate `toml:"max_download_rate"`
	SessionUploadRate   Rate `toml:"session_upload_rate"`
	SessionDownloadRate Rate `toml:"session_download_rate"`
	// UserMaxBytes and UserMaxFiles are the quota of every user (file and
	// database) without one of their own (0: unlimited).
	UserMaxBytes Size  `toml:"user_max_bytes"`
	UserMaxFiles int64 `toml:"user_max_files"`
}

// Security is the [security] table: login throttling, banning and the
// RFC 2577 data-connection checks.
type Security struct {
	// LoginFailDelay is slept after a failed login; "0s" turns it off.
	LoginFailDelay     *Duration `toml:"login_fail_delay"`
	MaxLoginFailures   int       `toml:"max_login_failures"`
	BanWindow          *Duration `toml:"ban_window"`
	BanDuration        *Duration `toml:"ban_duration"`
	MaxUnknownCommands int       `toml:"max_unknown_commands"`
	// LoginCacheTTL is how long a successful password check is remembered
	// (default "2m"; "0s" turns the cache off).
	LoginCacheTTL       *Duration `toml:"login_cache_ttl"`
	AllowForeignPort    bool      `toml:"allow_foreign_port"`
	AllowLowPort        bool      `toml:"allow_low_port"`
	AllowForeignPassive bool      `toml:"allow_foreign_passive"`
	DisableActive       bool      `toml:"disable_active"`
}

// Passive is the [passive] table: the passive port range and the address
// announced in PASV replies.
type Passive struct {
	PortMin         int       `toml:"port_min"`
	PortMax         int       `toml:"port_max"`
	PublicAddr      string    `toml:"public_addr"`
	PublicAddrByNet []NetAddr `toml:"public_addr_by_net"`
}

// NetAddr is one [[passive.public_addr_by_net]] entry: clients in Net (a
// CIDR prefix) are told to connect to Addr (an IPv4 address).
type NetAddr struct {
	Net  string `toml:"net"`
	Addr string `toml:"addr"`
}

// Active is the [active] table.
type Active struct {
	// Port is the local port of active data connections: 0 means the
	// control port minus one, -1 an ephemeral port.
	Port int `toml:"port"`
}

// Anonymous is the [anonymous] table.
type Anonymous struct {
	Enabled bool   `toml:"enabled"`
	Root    string `toml:"root"`
	// Write grants list, read, write and mkdir (not delete or rename).
	Write bool `toml:"write"`
	// Perms, when set, lists the permissions exactly; it excludes Write.
	Perms []string `toml:"perms"`
	// Names are the anonymous login names (default "anonymous", "ftp").
	Names       []string `toml:"names"`
	MaxSessions int      `toml:"max_sessions"`
	// UploadRate and DownloadRate limit all anonymous sessions together.
	UploadRate   Rate `toml:"upload_rate"`
	DownloadRate Rate `toml:"download_rate"`
	// MaxBytes and MaxFiles are the quota of all anonymous sessions
	// together (0: unlimited; the [limits] user defaults do not apply).
	MaxBytes Size  `toml:"max_bytes"`
	MaxFiles int64 `toml:"max_files"`
}

// User is one [[users]] entry.
type User struct {
	Name string `toml:"name"`
	// Password is an argon2id or bcrypt hash, as printed by `ferry passwd`.
	Password string `toml:"password"`
	Root     string `toml:"root"`
	// Perms lists the user's permissions (default: all, or list and read
	// when ReadOnly is set).
	Perms       []string `toml:"perms"`
	ReadOnly    bool     `toml:"read_only"`
	MaxSessions int      `toml:"max_sessions"`
	// TLS is "" (follow the server) or "required" (refuse this user's
	// login without TLS on the control connection).
	TLS string `toml:"tls"`
	// S3, when set, keeps the user's files in S3 instead of under Root.
	S3 *S3 `toml:"s3"`
	// UploadRate and DownloadRate limit the user's sessions together.
	UploadRate   Rate `toml:"upload_rate"`
	DownloadRate Rate `toml:"download_rate"`
	// MaxBytes and MaxFiles are the user's quota (0: limits.user_max_bytes
	// and limits.user_max_files; "unlimited" or -1: none).
	MaxBytes Size  `toml:"max_bytes"`
	MaxFiles int64 `toml:"max_files"`
}

// Duration is a time.Duration written in the file as a string such as
// "30s", "5m" or "1h30m" (time.ParseDuration syntax).
type Duration time.Duration

// UnmarshalTOML implements toml.Unmarshaler. Only strings are accepted: a
// bare number would be ambiguous about its unit.
func (d *Duration) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("a duration must be a string with a unit, such as \"30s\" or \"5m\", not %v", v)
	}
	x, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a unit, such as \"30s\" or \"5m\"", s)
	}
	*d = Duration(x)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String formats d like time.Duration.String.
func (d Duration) String() string { return time.Duration(d).String() }

// Dur returns a pointer to d as a Duration, for building a Config in code.
func Dur(d time.Duration) *Duration { x := Duration(d); return &x }

// Load reads and parses the file at path. Relative paths in it (roots,
// transfer_log) are taken relative to the file's directory. Load does not
// check the values; call Validate, or ServerOptions, which does.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.resolve(filepath.Dir(path))
	return c, nil
}

// Parse decodes a configuration file. Unknown keys, and values of the wrong
// type, are errors naming the key and line. Parse does not check the values;
// call Validate.
func Parse(data []byte) (*Config, error) {
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		return nil, err
	}
	if err := strictKeys(md, data); err != nil {
		return nil, err
	}
	return &c, nil
}

// resolve makes relative paths relative to dir.
func (c *Config) resolve(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.TransferLog)
	abs(&c.TLS.CertFile)
	abs(&c.TLS.KeyFile)
	abs(&c.Anonymous.Root)
	if !sqlstore.IsPostgres(c.UsersDB) {
		abs(&c.UsersDB)
	}
	for i := range c.Users {
		abs(&c.Users[i].Root)
	}
}

// strictKeys reports every key the decoder did not use, and every key that
// only matched a field case-insensitively, with its line.
func strictKeys(md toml.MetaData, data []byte) error {
	lines := keyLines(data)
	bad := map[string]bool{}
	var errs []error
	report := func(k toml.Key) {
		for i := 1; i < len(k); i++ { // report only the outermost unknown key
			if bad[k[:i].String()] {
				return
			}
		}
		bad[k.String()] = true
		msg := fmt.Sprintf("unknown key %q", k.String())
		if s := suggest(k); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		if n := lookupLine(lines, k); n > 0 {
			msg = fmt.Sprintf("line %d: %s", n, msg)
		}
		errs = append(errs, errors.New(msg))
	}
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	for _, k := range md.Keys() {
		// The decoder matches field names case-insensitively; the schema
		// is all lower case, so anything else is a typo.
		if undecoded[k.String()] || k[len(k)-1] != strings.ToLower(k[len(k)-1]) {
			report(k)
		}
	}
	return errors.Join(errs...)
}

// suggest returns the known key closest to the last element of k, if one
// is close enough to be a likely typo.
func suggest(k toml.Key) string {
	t := reflect.TypeFor[Config]()
	for _, name := range k[:len(k)-1] {
		f, ok := fieldByTag(t, name)
		if !ok {
			return ""
		}
		t = f.Type
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
	}
	last := strings.ToLower(k[len(k)-1])
	best, bestD := "", 3
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("toml")
		if d := distance(last, tag); d < bestD {
			best, bestD = tag, d
		}
	}
	if best == "" {
		return ""
	}
	return strings.Join(append(append([]string{}, k[:len(k)-1]...), best), ".")
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("toml") == tag {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keyLines maps each dotted key (array-of-table indexes left out) to the
// first line that defines it. It is a line scanner, not a TOML parser: good
// enough to point at a key in an error message, and lookupLine falls back to
// the nearest enclosing table when it finds nothing.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	var table []string
	note := func(key []string, n int) {
		for i := 1; i <= len(key); i++ {
			k := toml.Key(key[:i]).String()
			if _, ok := lines[k]; !ok {
				lines[k] = n
			}
		}
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[':
			name := strings.Trim(line, "[] \t")
			if end := strings.IndexAny(name, "]#"); end >= 0 {
				name = strings.TrimSpace(name[:end])
			}
			table = splitKey(name)
			note(table, i+1)
		default:
			k, _, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			note(append(append([]string{}, table...), splitKey(k)...), i+1)
		}
	}
	return lines
}

func splitKey(s string) []string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return parts
}

func lookupLine(lines map[string]int, k toml.Key) int {
	for i := len(k); i > 0; i-- {
		if n, ok := lines[k[:i].String()]; ok {
			return n
		}
	}
	return 0
}
