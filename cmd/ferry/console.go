package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/config"
	"github.com/ferryftp/ferry/internal/console"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// consoleFlags are ferry serve's flags of the admin console.
type consoleFlags struct {
	accounts     string // --admin-accounts
	accountsConf string // [admin] accounts of the configuration file
	insecureHTTP bool   // --admin-insecure-http
	tls          bool   // --admin-tls
	tlsConf      bool   // [admin] tls of the configuration file
}

func (c *consoleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.accounts, "admin-accounts", "", "serve the admin console and REST API on the admin listener, with the accounts of `file` (see ferry admin; overrides [admin] accounts)")
	fs.BoolVar(&c.insecureHTTP, "admin-insecure-http", false, "quick mode: allow the console on a non-loopback admin address over plain HTTP")
	fs.BoolVar(&c.tls, "admin-tls", false, "serve the admin listener over HTTPS with the FTPS certificate (--tls, --tls-cert; overrides [admin] tls)")
}

// setConsole turns the console on when an accounts file is named. In
// quick mode it refuses a non-loopback admin address, which would carry
// admin passwords and tokens over plain HTTP, unless --admin-insecure-http
// says so.
func (a *serverAdmin) setConsole(addr string, f consoleFlags, configPath string, ftps *tls.Config) error {
	quick := configPath == ""
	wantTLS := f.tls || f.tlsConf
	if wantTLS {
		if a == nil {
			return usageError{"--admin-tls needs an admin listener: set --admin-listen or [admin] listen"}
		}
		if ftps == nil || len(ftps.Certificates) == 0 {
			return usageError{"the admin listener's TLS uses the FTPS certificate: turn FTPS on (--tls or --tls-cert/--tls-key, or [tls] in the file)"}
		}
		a.tls = true
		a.setCert(ftps)
	}
	path := cmp.Or(f.accounts, f.accountsConf)
	if path == "" {
		return nil
	}
	if a == nil {
		return usageError{"the admin console needs an admin listener: set --admin-listen or [admin] listen"}
	}
	if quick && !wantTLS && !f.insecureHTTP && !loopbackAddr(addr) {
		return usageError{fmt.Sprintf("refusing to serve the admin console on %s over plain HTTP: use a loopback address "+
			"(127.0.0.1:PORT), --admin-tls, or --admin-insecure-http if the network is trusted", addr)}
	}
	a.console, a.configPath = path, configPath
	a.activity = console.NewActivity(0)
	return nil
}

// setCert takes the FTPS certificate for the admin listener's TLS (at start
// and at each reload, so a renewed certificate applies to both).
func (a *serverAdmin) setCert(ftps *tls.Config) {
	if a == nil || !a.tls || ftps == nil || len(ftps.Certificates) == 0 {
		return
	}
	c := ftps.Certificates[0]
	a.cert.Store(&c)
}

// tlsConfig is the admin listener's TLS configuration, or nil for plain
// HTTP.
func (a *serverAdmin) tlsConfig() *tls.Config {
	if !a.tls {
		return nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return a.cert.Load(), nil }}
}

// loopbackAddr reports whether host:port names only the loopback
// interface ("localhost", 127.0.0.0/8, ::1).
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// handler adds the console to the metrics and health endpoints, when it is
// on: /metrics, /healthz and /readyz stay as they are, the console takes
// the rest.
func (a *serverAdmin) handler(metricsHandler http.Handler, srv *ftpserver.Server, log *slog.Logger) http.Handler {
	if a.console == "" {
		return metricsHandler
	}
	opts := console.Options{Server: srv, Accounts: console.NewAccountsFile(a.console), Logger: log,
		Activity: a.activity}
	if a.configPath != "" {
		a.consoleUsers(&opts, log)
	}
	c := console.New(opts)
	mux := http.NewServeMux()
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		mux.Handle(p, metricsHandler)
	}
	mux.Handle("/", c.Handler())
	log.Info("admin console and REST API on the admin listener", "accounts", a.console)
	return mux
}

// consoleUsers gives the console the users of the configuration file
// (read again at each listing, so a reload shows) and a handle of its
// users_db, when it has one, to edit.
func (a *serverAdmin) consoleUsers(opts *console.Options, log *slog.Logger) {
	c, err := config.Load(a.configPath)
	if err != nil {
		log.Error("admin console: cannot read the configuration for its users", "err", err)
		return
	}
	if c.UsersDB != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		db, err := sqlstore.Open(ctx, c.UsersDB, sqlstore.Options{})
		cancel()
		if err != nil {
			log.Error("admin console: cannot open users_db; users cannot be edited", "err", err)
		} else {
			opts.Users, a.usersDB = db, db
		}
	}
	opts.FileUsers = func() []console.FileUser {
		c, err := config.Load(a.configPath)
		if err != nil {
			log.Warn("admin console: cannot read the configuration for its users", "err", err)
			return nil
		}
		out := make([]console.FileUser, 0, len(c.Users))
		for _, u := range c.Users {
			fu := console.FileUser{Name: u.Name, Root: u.Root, Perms: ftpserver.PermAll}
			if u.S3 != nil {
				fu.Root = "s3://" + u.S3.Bucket + "/" + u.S3.Prefix
			}
			if u.ReadOnly {
				fu.Perms = ftpserver.PermReadOnly
			}
			if len(u.Perms) > 0 {
				fu.Perms, _ = ftpserver.ParsePerms(u.Perms)
			}
			out = append(out, fu)
		}
		return out
	}
}
