package main

import (
	"cmp"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/console"
)

// consoleFlags are ferry serve's flags of the admin console.
type consoleFlags struct {
	accounts     string // --admin-accounts
	accountsConf string // [admin] accounts of the configuration file
	insecureHTTP bool   // --admin-insecure-http
}

func (c *consoleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.accounts, "admin-accounts", "", "serve the admin console and REST API on the admin listener, with the accounts of `file` (see ferry admin; overrides [admin] accounts)")
	fs.BoolVar(&c.insecureHTTP, "admin-insecure-http", false, "quick mode: allow the console on a non-loopback admin address over plain HTTP")
}

// setConsole turns the console on when an accounts file is named. In
// quick mode it refuses a non-loopback admin address, which would carry
// admin passwords and tokens over plain HTTP, unless --admin-insecure-http
// says so.
func (a *serverAdmin) setConsole(addr string, f consoleFlags, quick bool) error {
	path := cmp.Or(f.accounts, f.accountsConf)
	if path == "" {
		return nil
	}
	if a == nil {
		return usageError{"the admin console needs an admin listener: set --admin-listen or [admin] listen"}
	}
	if quick && !f.insecureHTTP && !loopbackAddr(addr) {
		return usageError{fmt.Sprintf("refusing to serve the admin console on %s over plain HTTP: use a loopback address "+
			"(127.0.0.1:PORT), or --admin-insecure-http if the network is trusted", addr)}
	}
	a.console = path
	a.activity = console.NewActivity(0)
	return nil
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
	c := console.New(console.Options{Server: srv, Accounts: console.NewAccountsFile(a.console), Logger: log,
		Activity: a.activity})
	mux := http.NewServeMux()
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		mux.Handle(p, metricsHandler)
	}
	mux.Handle("/", c.Handler())
	log.Info("admin console and REST API on the admin listener", "accounts", a.console)
	return mux
}
