package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/hooks"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/userstore"
)

// ServerOptions validates c and builds the server options it describes,
// with Auth a userstore.Static over the configured users and Logger set to
// logger. It opens the user roots and the transfer log; the returned close
// function releases them and must be called once the server, and every
// session it started, has stopped.
func (c *Config) ServerOptions(logger *slog.Logger) (ftpserver.Options, func() error, error) {
	if err := c.Validate(); err != nil {
		return ftpserver.Options{}, nil, err
	}
	var res resources
	auth, err := c.authenticator(logger, &res)
	if err != nil {
		res.Close()
		return ftpserver.Options{}, nil, err
	}
	opts := c.serverOptions(auth, logger)
	if err := c.tlsOptions(&opts); err != nil {
		res.Close()
		return ftpserver.Options{}, nil, err
	}
	if c.TransferLog != "" {
		f, err := os.OpenFile(c.TransferLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			res.Close()
			return ftpserver.Options{}, nil, fmt.Errorf("transfer_log: %w", err)
		}
		res.add(f)
		opts.TransferLog = f
	}
	if len(c.Hooks) > 0 {
		h, err := hooks.New(c.hookConfigs(), logger)
		if err != nil {
			res.Close()
			return ftpserver.Options{}, nil, fmt.Errorf("hooks: %w", err)
		}
		res.add(h)
		opts.Observer = ftpserver.JoinObservers(opts.Observer, h.Observer())
		opts.UploadCheck, opts.UploadCheckTimeout = h.UploadCheck(), c.hookTimeout().get()
	}
	return opts, res.Close, nil
}

// resources are what ServerOptions opened, closed in the order they were
// added.
type resources []io.Closer

func (r *resources) add(c io.Closer) { *r = append(*r, c) }

// Close closes every resource.
func (r *resources) Close() error {
	var errs []error
	for _, c := range *r {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// authenticator builds the user stores: the file's users and anonymous
// account, and the user database when users_db is set (file first). One
// resolver opens every root and bucket for both, so a root or bucket they
// share is one file system. What it opens is added to res.
func (c *Config) authenticator(logger *slog.Logger, res *resources) (ftpserver.Authenticator, error) {
	resolver := userstore.NewResolver(c.localOptions(), openS3)
	users := c.staticUsers()
	anon := c.anonymous()
	checker := c.passwordChecker()
	store, err := userstore.NewStatic(users, anon, userstore.WithResolver(resolver), userstore.WithChecker(checker))
	if err != nil {
		resolver.Close()
		return nil, err
	}
	res.add(store)
	openBuckets(resolver, users, logger)
	var auth ftpserver.Authenticator = store
	if c.UsersDB != "" {
		db, err := c.openUsersDB(checker, resolver)
		if err != nil {
			res.add(resolver)
			return nil, err
		}
		res.add(db)
		auth = db
		if len(users) > 0 || anon != nil {
			auth = fileThenDB(store, db)
		}
	}
	res.add(resolver) // last: the stores use it
	return auth, nil
}

// anonymous returns the [anonymous] account, or nil when it is off.
func (c *Config) anonymous() *userstore.Anonymous {
	if !c.Anonymous.Enabled {
		return nil
	}
	perms, _ := c.anonymousPerms()
	return &userstore.Anonymous{
		Root:        c.Anonymous.Root,
		Perms:       perms,
		Names:       c.anonymousNames(),
		MaxSessions: c.Anonymous.MaxSessions,
		Rates:       ftpserver.Rates{Upload: int64(c.Anonymous.UploadRate), Download: int64(c.Anonymous.DownloadRate)},
		Quota:       QuotaLimits(int64(c.Anonymous.MaxBytes), c.Anonymous.MaxFiles, 0, 0),
	}
}

// staticUsers returns the file's [[users]] as userstore accounts.
func (c *Config) staticUsers() []userstore.User {
	users := make([]userstore.User, len(c.Users))
	for i, u := range c.Users {
		perms, _ := userPerms(u) // checked by Validate
		users[i] = userstore.User{
			Name:         u.Name,
			PasswordHash: u.Password,
			Root:         u.Root,
			Perms:        perms,
			MaxSessions:  u.MaxSessions,
			RequireTLS:   u.TLS == "required",
			Rates:        ftpserver.Rates{Upload: int64(u.UploadRate), Download: int64(u.DownloadRate)},
			Quota:        QuotaLimits(int64(u.MaxBytes), u.MaxFiles, int64(c.Limits.UserMaxBytes), c.Limits.UserMaxFiles),
		}
		if u.S3 != nil {
			users[i].Storage, _ = u.S3.spec() // checked by Validate
		}
	}
	return users
}

// serverOptions maps the listen, limit, security and network settings of a
// validated configuration onto ftpserver.Options.
func (c *Config) serverOptions(auth ftpserver.Authenticator, logger *slog.Logger) ftpserver.Options {
	opts := ftpserver.Options{
		Addr:   c.Listen,
		Banner: c.Banner,
		Auth:   auth,
		Logger: logger,

		MaxLineLength:          c.Limits.MaxLineLength,
		IdleTimeout:            c.Limits.IdleTimeout.get(),
		LoginTimeout:           c.Limits.LoginTimeout.get(),
		DataTimeout:            c.Limits.DataTimeout.get(),
		MaxSessions:            c.Limits.MaxSessions,
		MaxSessionsPerIP:       c.Limits.MaxSessionsPerIP,
		MaxSessionsPerUser:     c.Limits.MaxSessionsPerUser,
		MaxUnauthSessions:      c.Limits.MaxUnauthSessions,
		MaxUnauthSessionsPerIP: c.Limits.MaxUnauthSessionsPerIP,
		ShutdownGrace:          c.Limits.ShutdownGrace.get(),
		MaxRates:               ftpserver.Rates{Upload: int64(c.Limits.MaxUploadRate), Download: int64(c.Limits.MaxDownloadRate)},
		SessionRates:           ftpserver.Rates{Upload: int64(c.Limits.SessionUploadRate), Download: int64(c.Limits.SessionDownloadRate)},

		LoginFailDelay:     c.Security.LoginFailDelay.get(),
		MaxLoginFailures:   c.Security.MaxLoginFailures,
		BanWindow:          c.Security.BanWindow.get(),
		BanDuration:        c.Security.BanDuration.get(),
		MaxUnknownCommands: c.Security.MaxUnknownCommands,

		PassivePortMin:      c.Passive.PortMin,
		PassivePortMax:      c.Passive.PortMax,
		ActivePort:          c.Active.Port,
		AllowForeignPORT:    c.Security.AllowForeignPort,
		AllowLowPORT:        c.Security.AllowLowPort,
		AllowForeignPassive: c.Security.AllowForeignPassive,
		DisableActive:       c.Security.DisableActive,
	}
	opts.Sendfile, _ = ftpserver.ParseSendfileMode(c.Sendfile) // checked by Validate
	if d := c.Security.LoginFailDelay; d != nil && *d == 0 {
		opts.LoginFailDelay = -1 // "0s" in the file: no delay
	}
	if c.Passive.PublicAddr != "" {
		opts.PublicAddr, _ = parseIPv4(c.Passive.PublicAddr)
	}
	for _, n := range c.ProxyProtocolFrom {
		prefix, _ := netip.ParsePrefix(n) // checked by Validate
		opts.ProxyProtocolFrom = append(opts.ProxyProtocolFrom, prefix.Masked())
	}
	for _, n := range c.Passive.PublicAddrByNet {
		prefix, _ := netip.ParsePrefix(n.Net)
		addr, _ := parseIPv4(n.Addr)
		opts.PublicAddrByNet = append(opts.PublicAddrByNet, ftpserver.NetAddr{Net: prefix.Masked(), Addr: addr})
	}
	return opts
}

// get returns the duration, or 0 (the server default) when unset.
func (d *Duration) get() time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// NewLogger returns a logger writing to w in the configured log_format at
// the configured log_level.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level()}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Level returns the configured log_level (slog.LevelInfo when unset or
// unknown; Validate reports unknown levels).
func (c *Config) Level() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// tlsOptions fills the TLS fields of opts from the [tls] table, loading the
// certificate files (so a reload picks up renewed certificates).
func (c *Config) tlsOptions(opts *ftpserver.Options) error {
	t := c.TLS
	if t.Mode != "optional" && t.Mode != "required" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return fmt.Errorf("tls.cert_file: %w", err)
	}
	opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if t.Mode == "required" {
		opts.TLSMode = ftpserver.TLSRequired
	}
	if t.RequireProtP != nil {
		opts.RequireProtP = ftpserver.ProtOptional
		if *t.RequireProtP {
			opts.RequireProtP = ftpserver.ProtRequired
		}
	}
	switch t.SessionReuse {
	case "relaxed":
		opts.TLSReuse = ftpserver.ReuseRelaxed
	case "strict":
		opts.TLSReuse = ftpserver.ReuseStrict
	}
	opts.AllowCCC = t.AllowCCC
	opts.RequireSNI = t.RequireSNI
	opts.TLSHandshakeTimeout = t.HandshakeTimeout.get()
	return nil
}

// passwordChecker is the one password checker of the server's user stores,
// with the login cache of security.login_cache_ttl.
func (c *Config) passwordChecker() *password.Checker {
	ttl := password.DefaultCacheTTL
	if d := c.Security.LoginCacheTTL; d != nil {
		ttl = time.Duration(*d)
	}
	return password.NewCachingChecker(0, ttl, 0)
}

// defaultPartialMaxAge is how long an atomic upload's partial file is
// kept for a resume when partial_max_age is not set.
const defaultPartialMaxAge = 24 * time.Hour

// localOptions are the options of every local file system the
// configuration serves.
func (c *Config) localOptions() localfs.Options {
	o := localfs.Options{
		Atomic:        c.UploadMode == "atomic",
		NoSync:        c.DurableUploads != nil && !*c.DurableUploads,
		PartialMaxAge: defaultPartialMaxAge,
	}
	if c.PartialMaxAge != nil {
		o.PartialMaxAge = time.Duration(*c.PartialMaxAge)
	}
	return o
}
