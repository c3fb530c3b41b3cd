package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/config"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/userstore"
)

const serveUsage = `Usage: ferry serve [flags] [DIR]

Quick mode (no --config): serve DIR (default: the current directory) to
anonymous users, read-only unless --write is given; --user adds accounts.
With --config FILE, users and settings come from the TOML file (see
docs/configuration.md); --listen still overrides its listen address.

Signals: SIGTERM/SIGINT stop gracefully (running transfers may finish),
SIGHUP reloads the config file without dropping sessions.

Flags:
`

// userFlags collects repeated --user name:password flags.
type userFlags []string

func (u *userFlags) String() string     { return strings.Join(*u, ",") }
func (u *userFlags) Set(v string) error { *u = append(*u, v); return nil }

type serveFlags struct {
	config    string
	listen    string
	write     bool
	noAnon    bool
	users     userFlags
	logLevel  string
	atomic    bool
	pasvRange string
	publicIP  string
	tls       bool
	tlsOpt    bool
	implicit  string
	certFile  string
	keyFile   string
	admin     string // --admin-listen
	adminConf string // [admin] listen of the configuration file
	console   consoleFlags
}

func serve(args []string, stderr io.Writer) error {
	var f serveFlags
	fs := flag.NewFlagSet("ferry serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		printFlags(stderr, fs)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError{"serve takes at most one directory"}
	}
	load, err := f.loader(pos, stderr)
	if err != nil {
		return err
	}
	opts, closeFn, err := load()
	if err != nil {
		return err
	}
	r := &running{f: &f, load: load, closers: []func() error{closeFn}}
	defer r.close()
	opts.Addr = effectiveListen(f.listen, opts.Addr)
	r.listen, r.implicit = opts.Addr, f.implicit
	adminAddr := cmp.Or(f.admin, f.adminConf)
	r.adminAddr = adminAddr
	if r.admin, err = newServerAdmin(adminAddr); err != nil {
		return err
	}
	if err := r.admin.setConsole(adminAddr, f.console, f.config, opts.TLS); err != nil {
		return err
	}
	opts.Observer = ftpserver.JoinObservers(r.admin.observer(), opts.Observer) // metrics and [[hooks]]
	if r.srv, err = ftpserver.New(opts); err != nil {
		return err
	}
	r.log = opts.Logger
	if err := r.admin.start(adminAddr, r.srv, r.log); err != nil {
		return err
	}
	defer r.admin.close()
	return r.serve()
}

// register defines the flags of ferry serve.
func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "TOML configuration `file` (see docs/configuration.md)")
	fs.StringVar(&f.listen, "listen", "", "control connection `address` (default \":21\")")
	fs.BoolVar(&f.write, "write", false, "quick mode: allow uploads, renames, deletes and new directories")
	fs.BoolVar(&f.noAnon, "no-anonymous", false, "quick mode: refuse anonymous logins (use with --user)")
	fs.Var(&f.users, "user", "quick mode: add an account, `name:password` (repeatable)")
	fs.StringVar(&f.logLevel, "log-level", "info", "quick mode: debug, info, warn or error")
	fs.BoolVar(&f.atomic, "atomic", false, "quick mode: atomic uploads (hidden temporary file, renamed when complete)")
	fs.StringVar(&f.pasvRange, "passive-ports", "", "quick mode: passive port `range` such as 30000-30100")
	fs.StringVar(&f.publicIP, "public-addr", "", "quick mode: IPv4 `address` announced in PASV replies (behind NAT)")
	fs.BoolVar(&f.tls, "tls", false, "quick mode: require FTPS (AUTH TLS); without --tls-cert a self-signed certificate is generated")
	fs.BoolVar(&f.tlsOpt, "tls-optional", false, "quick mode: offer FTPS but also allow plain FTP")
	fs.StringVar(&f.implicit, "implicit-listen", "", "quick mode: also serve implicit FTPS on `address` (e.g. :990)")
	fs.StringVar(&f.certFile, "tls-cert", "", "quick mode: certificate PEM `file`")
	fs.StringVar(&f.keyFile, "tls-key", "", "quick mode: private key PEM `file`")
	fs.StringVar(&f.admin, "admin-listen", "", adminFlagHelp)
	f.console.register(fs)
}

// loader returns the function that builds the server options, at start
// and at each SIGHUP: from the configuration file, or from the quick-mode
// flags and directory pos[0].
func (f *serveFlags) loader(pos []string, stderr io.Writer) (func() (ftpserver.Options, func() error, error), error) {
	if f.config != "" {
		if len(pos) > 0 || f.write || len(f.users) > 0 || f.atomic || f.noAnon || f.pasvRange != "" || f.publicIP != "" ||
			f.tls || f.tlsOpt || f.implicit != "" || f.certFile != "" || f.keyFile != "" {
			return nil, usageError{"--config cannot be combined with DIR or quick-mode flags; put those settings in the file"}
		}
		return func() (ftpserver.Options, func() error, error) {
			opts, closeFn, implicit, admin, err := loadConfigFile(f.config, stderr)
			f.implicit, f.adminConf, f.console.accountsConf, f.console.tlsConf = implicit, admin.Listen, admin.Accounts, admin.TLS
			return opts, closeFn, err
		}, nil
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	var cert *tls.Certificate // generated once, kept across reloads
	return func() (ftpserver.Options, func() error, error) { return quickOptions(*f, dir, &cert, stderr) }, nil
}

// running is a started ferry serve: its server, listen addresses and the
// resources of each configuration loaded so far.
type running struct {
	f                *serveFlags
	load             func() (ftpserver.Options, func() error, error)
	srv              *ftpserver.Server
	log              *slog.Logger
	listen, implicit string
	admin            *serverAdmin   // metrics and admin listener; nil when off
	adminAddr        string         // the admin listener's address, "" when off
	closers          []func() error // old user roots stay open: running sessions still use them
}

func (r *running) close() {
	for _, c := range r.closers {
		c()
	}
}

// serve listens, serves until SIGINT or SIGTERM and reloads on SIGHUP.
func (r *running) serve() error {
	l, err := net.Listen("tcp", r.listen)
	if err != nil {
		return listenError(r.listen, err)
	}
	r.log.Info("ferry FTP server listening", "addr", l.Addr().String(), "version", version)
	var implicitServed chan error
	if r.implicit != "" {
		il, err := net.Listen("tcp", r.implicit)
		if err != nil {
			l.Close()
			return listenError(r.implicit, err)
		}
		r.log.Info("implicit FTPS listening", "addr", il.Addr().String())
		implicitServed = make(chan error, 1)
		go func() { implicitServed <- r.srv.ServeImplicitTLS(il) }()
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- r.srv.Serve(l) }()
	for {
		select {
		case err := <-served:
			return err
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				r.reload()
				continue
			}
			r.log.Info("shutting down; waiting for running transfers", "signal", sig.String())
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-sigs; r.log.Warn("second signal: closing all sessions now"); cancel() }()
			err := r.srv.Shutdown(ctx)
			cancel()
			<-served
			if implicitServed != nil {
				<-implicitServed
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				r.log.Warn("shutdown deadline passed; sessions were closed", "err", err)
			}
			r.log.Info("stopped")
			return nil
		}
	}
}

// reload loads the configuration again and applies it; on failure the
// running configuration stays.
func (r *running) reload() {
	nopts, c, err := r.load()
	if err != nil {
		r.log.Error("reload failed; keeping the running configuration", "err", err)
		r.admin.reloadFailed(err)
		return
	}
	nopts.Observer = ftpserver.JoinObservers(r.admin.observer(), nopts.Observer)
	r.admin.setCert(nopts.TLS)
	warnRestartNeeded(r.log,
		listenChange{"listen", r.listen, effectiveListen(r.f.listen, nopts.Addr)},
		listenChange{"tls.implicit_listen", r.implicit, r.f.implicit},
		listenChange{"admin.listen", r.adminAddr, cmp.Or(r.f.admin, r.f.adminConf)})
	nopts.Addr = r.listen
	if err := r.srv.Reload(nopts); err != nil {
		c()
		r.log.Error("reload failed; keeping the running configuration", "err", err)
		return
	}
	r.closers = append(r.closers, c)
}

// effectiveListen is the control address: the --listen flag, else the
// configuration's, else ":21".
func effectiveListen(flagAddr, configured string) string {
	switch {
	case flagAddr != "":
		return flagAddr
	case configured != "":
		return configured
	}
	return ":21"
}

// warnRestartNeeded logs, on a reload, each listening address that the new
// configuration changes: listeners are opened once, at start, so the
// change takes effect only after a restart (docs/configuration.md lists
// the keys that need one).
func warnRestartNeeded(log *slog.Logger, changes ...listenChange) {
	for _, c := range changes {
		if c.running != c.configured {
			log.Warn(c.key+" changed in the configuration; restart ferry to apply it (the running listener is kept)",
				"running", c.running, "configured", c.configured)
		}
	}
}

// listenChange is a listening address as it runs and as a reloaded
// configuration names it.
type listenChange struct{ key, running, configured string }

func loadConfig(path string, stderr io.Writer) (ftpserver.Options, func() error, string, error) {
	opts, closeFn, implicit, _, err := loadConfigFile(path, stderr)
	return opts, closeFn, implicit, err
}

// loadConfigFile loads the configuration file: the server options, their
// closer, the implicit FTPS listen address and the [admin] table.
func loadConfigFile(path string, stderr io.Writer) (ftpserver.Options, func() error, string, config.Admin, error) {
	c, err := config.Load(path)
	if err != nil {
		return ftpserver.Options{}, nil, "", config.Admin{}, err
	}
	opts, closeFn, err := c.ServerOptions(c.NewLogger(stderr))
	return opts, closeFn, c.TLS.ImplicitListen, c.Admin, err
}

// quickOptions builds the options of quick mode: DIR served to anonymous
// users and to --user accounts.
func quickOptions(f serveFlags, dir string, cert **tls.Certificate, stderr io.Writer) (ftpserver.Options, func() error, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return ftpserver.Options{}, nil, usageError{"--log-level: " + err.Error()}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ftpserver.Options{}, nil, err
	}
	if err := userstore.CheckRoot(abs); err != nil {
		return ftpserver.Options{}, nil, err
	}
	perms := ftpserver.PermReadOnly
	if f.write {
		perms = ftpserver.PermAll
	}
	var users []userstore.User
	for _, u := range f.users {
		name, pw, ok := strings.Cut(u, ":")
		if !ok || pw == "" {
			return ftpserver.Options{}, nil, usageError{"--user wants name:password, got " + fmt.Sprintf("%q", name)}
		}
		if err := userstore.CheckName(name); err != nil {
			return ftpserver.Options{}, nil, usageError{"--user: " + err.Error()}
		}
		h, err := password.Hash(pw)
		if err != nil {
			return ftpserver.Options{}, nil, err
		}
		users = append(users, userstore.User{Name: name, PasswordHash: h, Root: abs, Perms: perms})
	}
	var anon *userstore.Anonymous
	if !f.noAnon {
		anon = &userstore.Anonymous{Root: abs, Perms: perms}
		if f.write {
			log.Warn("anonymous users may upload and delete (--write without --no-anonymous)")
		}
	} else if len(users) == 0 {
		return ftpserver.Options{}, nil, usageError{"--no-anonymous needs at least one --user"}
	}
	store, err := userstore.NewStatic(users, anon, userstore.WithLocalFS(localfs.Options{
		// Durable uploads (the zero NoSync) and the configuration file's
		// default age for swept partials.
		Atomic: f.atomic, PartialMaxAge: 24 * time.Hour,
	}),
		userstore.WithChecker(password.NewCachingChecker(0, password.DefaultCacheTTL, 0)))
	if err != nil {
		return ftpserver.Options{}, nil, err
	}
	opts := ftpserver.Options{Auth: store, Logger: log}
	if f.pasvRange != "" {
		if _, err := fmt.Sscanf(f.pasvRange, "%d-%d", &opts.PassivePortMin, &opts.PassivePortMax); err != nil {
			store.Close()
			return ftpserver.Options{}, nil, usageError{"--passive-ports wants MIN-MAX such as 30000-30100"}
		}
	}
	if f.publicIP != "" {
		a, err := parseAddr(f.publicIP)
		if err != nil {
			store.Close()
			return ftpserver.Options{}, nil, usageError{"--public-addr: " + err.Error()}
		}
		opts.PublicAddr = a
	}
	if err := quickTLS(f, &opts, cert, log); err != nil {
		store.Close()
		return ftpserver.Options{}, nil, err
	}
	log.Info("quick mode", "dir", abs, "anonymous", anon != nil, "users", len(users), "write", f.write)
	return opts, store.Close, nil
}
