package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferryftp/ferry/ftpproxy"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/console"
	"github.com/ferryftp/ferry/internal/hooks"
	"github.com/ferryftp/ferry/internal/metrics"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// adminFlagHelp is the help of --admin-listen, for serve and proxy.
const adminFlagHelp = "serve /metrics (Prometheus), /healthz and /readyz over HTTP on `address` (e.g. 127.0.0.1:9121; overrides [admin] listen)"

// serverAdmin is the metrics of a running ferry serve, when its admin
// listener is on.
type serverAdmin struct {
	reg        *prometheus.Registry
	metrics    *metrics.Server
	admin      *metrics.Admin
	console    string            // the admin accounts file: the console is on; see console.go
	activity   *console.Activity // the console's recent activity
	configPath string            // the configuration file, "" in quick mode
	usersDB    *sqlstore.Store   // the console's handle of users_db, if any
	tls        bool              // HTTPS with the FTPS certificate
	cert       atomic.Pointer[tls.Certificate]
}

// newServerAdmin creates the server's metrics when addr is set (nil
// otherwise); observer() goes into the server's options.
func newServerAdmin(addr string) (*serverAdmin, error) {
	if addr == "" {
		return nil, nil
	}
	reg := metrics.NewRegistry()
	m, err := metrics.NewServer(reg)
	if err != nil {
		return nil, err
	}
	if err := m.CountHookDrops(hooks.Dropped); err != nil {
		return nil, err
	}
	return &serverAdmin{reg: reg, metrics: m}, nil
}

// observer is the Observer for the server's options (nil when off).
func (a *serverAdmin) observer() *ftpserver.Observer {
	if a == nil {
		return nil
	}
	if a.activity != nil {
		return a.activity.Observe(a.metrics.Observer())
	}
	return a.metrics.Observer()
}

// start watches srv and opens the admin listener on addr.
func (a *serverAdmin) start(addr string, srv *ftpserver.Server, log *slog.Logger) error {
	if a == nil {
		return nil
	}
	if err := a.metrics.Watch(srv.Stats); err != nil {
		return err
	}
	admin, err := metrics.ListenTLS(addr, a.handler(metrics.Handler(a.reg, srv.Ready), srv, log), a.tlsConfig(), log)
	if err != nil {
		return err
	}
	a.admin = admin
	log.Info("admin listener (metrics, health) listening", "addr", admin.Addr().String())
	return nil
}

// reloadFailed counts a configuration file that failed to load.
func (a *serverAdmin) reloadFailed(err error) {
	if a != nil {
		a.metrics.Reloaded(ftpserver.ReloadEvent{OK: false, Err: err})
	}
}

func (a *serverAdmin) close() {
	if a != nil && a.admin != nil {
		a.admin.Close()
	}
	if a != nil && a.usersDB != nil {
		a.usersDB.Close()
	}
}

// startProxyAdmin opens the proxy's admin listener on addr, when set; the
// returned func closes it.
func startProxyAdmin(addr string, p *ftpproxy.Proxy, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	reg := metrics.NewRegistry()
	if err := metrics.WatchProxy(reg, p.Stats); err != nil {
		return nil, err
	}
	admin, err := metrics.Listen(addr, metrics.Handler(reg, func(ctx context.Context) error { return p.Ready(ctx) }), log)
	if err != nil {
		return nil, err
	}
	log.Info("admin listener (metrics, health) listening", "addr", admin.Addr().String())
	return func() { admin.Close() }, nil
}
