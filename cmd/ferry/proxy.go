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
	"strings"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftpproxy"
	"github.com/ferryftp/ferry/internal/config"
)

const proxyUsage = `Usage: ferry proxy [flags]

Runs the FTP proxy (application-level gateway). Without --config:
  ferry proxy --listen :21 --backend ftp.internal:21
  ferry proxy --listen :2121 --mode explicit --allow-dest '*.example.org:21'
  ferry proxy --listen :2121 --mode transparent     (with an nftables redirect)
See docs/proxy.md for the configuration file and recipes.

Flags:
`

// proxyFlags are the flags of ferry proxy.
type proxyFlags struct {
	listen, backend, configPath, mode, allowDest, serverData, dataPorts *string
	clientTLS, tlsCert, tlsKey, backendTLS                              *string
	proxyProto                                                          *int
	tlsGen, insecure, verbose                                           *bool
	admin                                                               *string
	adminConf                                                           string // [admin] listen of the file
}

func (f *proxyFlags) register(fs *flag.FlagSet) {
	f.listen = fs.String("listen", "", "address to listen on (default :21)")
	f.backend = fs.String("backend", "", "server host:port (reverse mode)")
	f.configPath = fs.String("config", "", "TOML proxy configuration file")
	f.mode = fs.String("mode", "", "reverse, explicit or transparent")
	f.allowDest = fs.String("allow-dest", "", "comma-separated host:port patterns allowed in explicit mode")
	f.serverData = fs.String("server-data", "", "data mode toward the server: same, passive or active")
	f.dataPorts = fs.String("data-ports", "", "port range lo-hi for the proxy's data listeners")
	f.proxyProto = fs.Int("proxy-protocol", 0, "send a PROXY protocol header (1 or 2) to the backend")
	f.clientTLS = fs.String("client-tls", "", "TLS toward clients: off, explicit or implicit")
	f.tlsCert = fs.String("tls-cert", "", "PEM certificate for client-side TLS (created self-signed if missing with --tls-generate)")
	f.tlsKey = fs.String("tls-key", "", "PEM key for client-side TLS")
	f.tlsGen = fs.Bool("tls-generate", false, "create a self-signed certificate when --tls-cert and --tls-key do not exist")
	f.backendTLS = fs.String("backend-tls", "", "TLS toward the server: off, explicit or implicit")
	f.insecure = fs.Bool("backend-tls-insecure", false, "do not verify the server's certificate")
	f.verbose = fs.Bool("v", false, "debug logging")
	f.admin = fs.String("admin-listen", "", adminFlagHelp)
}

// proxyMain runs the FTP proxy until SIGINT or SIGTERM.
func proxyMain(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ferry proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, proxyUsage); printFlags(stderr, fs) }
	var f proxyFlags
	f.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"ferry proxy takes no arguments"}
	}
	level := slog.LevelInfo
	if *f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	opts, listens, err := f.options(set)
	if err != nil {
		return err
	}
	opts.Logger = log
	p, err := ftpproxy.New(opts)
	if err != nil {
		return err
	}
	closeAdmin, err := startProxyAdmin(cmp.Or(*f.admin, f.adminConf), p, log)
	if err != nil {
		return err
	}
	defer closeAdmin()
	return runProxy(p, listens, opts, log)
}

// options builds the proxy options from the configuration file, if any,
// and the flags in set, which override it; and the listen addresses.
func (f *proxyFlags) options(set map[string]bool) (ftpproxy.Options, []string, error) {
	var opts ftpproxy.Options
	var listens []string
	var err error
	if *f.configPath != "" {
		c, err := config.LoadProxy(*f.configPath)
		if err != nil {
			return opts, nil, err
		}
		if opts, err = c.ProxyOptions(); err != nil {
			return opts, nil, fmt.Errorf("%s: %w", *f.configPath, err)
		}
		listens, f.adminConf = c.Listen, c.Admin.Listen
	}
	routing := proxyRouting{mode: *f.mode, backend: *f.backend, allowDest: *f.allowDest, serverData: *f.serverData, dataPorts: *f.dataPorts}
	if err := routing.apply(&opts, set); err != nil {
		return opts, nil, err
	}
	if set["proxy-protocol"] {
		opts.ProxyProtocol = *f.proxyProto
	}
	if set["client-tls"] {
		if err := f.clientTLSOptions(&opts); err != nil {
			return opts, nil, err
		}
	}
	if set["backend-tls"] {
		if opts.BackendTLSMode, err = ftpproxy.ParseTLSMode(*f.backendTLS); err != nil {
			return opts, nil, usageError{err.Error()}
		}
		opts.BackendTLS = &tls.Config{InsecureSkipVerify: *f.insecure}
	}
	if *f.listen != "" {
		listens = []string{*f.listen}
	}
	if len(listens) == 0 {
		listens = []string{":21"}
	}
	if opts.Mode == ftpproxy.ModeReverse && opts.Backend == "" && len(opts.UserBackends) == 0 {
		return opts, nil, usageError{"ferry proxy: --backend is required in reverse mode"}
	}
	return opts, listens, nil
}

// proxyRouting are the flags that say where the proxy sends sessions and
// data, shared by ferry proxy and ferry firewall --proxy.
type proxyRouting struct {
	mode, backend, allowDest, serverData, dataPorts string
}

// apply overrides opts with the flags in set.
func (r proxyRouting) apply(opts *ftpproxy.Options, set map[string]bool) error {
	var err error
	if set["mode"] {
		if opts.Mode, err = ftpproxy.ParseMode(r.mode); err != nil {
			return usageError{err.Error()}
		}
	}
	if set["backend"] {
		opts.Backend = r.backend
	}
	if set["allow-dest"] {
		opts.AllowDestinations = strings.Split(r.allowDest, ",")
	}
	if set["server-data"] {
		if opts.ServerData, err = ftpproxy.ParseDataMode(r.serverData); err != nil {
			return usageError{err.Error()}
		}
	}
	if set["data-ports"] || set["passive-ports"] {
		if opts.DataPortMin, opts.DataPortMax, err = config.ParsePortRange(r.dataPorts); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

// clientTLSOptions applies --client-tls and its certificate flags.
func (f *proxyFlags) clientTLSOptions(opts *ftpproxy.Options) error {
	var err error
	if opts.ClientTLSMode, err = ftpproxy.ParseTLSMode(*f.clientTLS); err != nil {
		return usageError{err.Error()}
	}
	if opts.ClientTLSMode == ftpproxy.TLSOff {
		return nil
	}
	if *f.tlsCert == "" || *f.tlsKey == "" {
		return usageError{"--client-tls needs --tls-cert and --tls-key"}
	}
	cert, err := config.LoadOrCreateCert(*f.tlsCert, *f.tlsKey, *f.tlsGen, []string{"localhost", "127.0.0.1", "::1"})
	if err != nil {
		return err
	}
	opts.ClientTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	return nil
}

// runProxy serves p on each listen address until SIGINT or SIGTERM, then
// lets running transfers finish for up to 30 seconds (a second signal ends
// them at once).
func runProxy(p *ftpproxy.Proxy, listens []string, opts ftpproxy.Options, log *slog.Logger) error {
	errc := make(chan error, len(listens))
	for _, addr := range listens {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			p.Close()
			return listenError(addr, err)
		}
		log.Info("proxy listening", "addr", l.Addr().String(), "mode", opts.Mode.String(), "backend", opts.Backend)
		go func() { errc <- p.Serve(l) }()
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	select {
	case err := <-errc:
		p.Close()
		return err
	case sig := <-sigs:
		log.Info("shutting down; waiting for running transfers", "signal", sig.String())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		go func() { <-sigs; log.Warn("second signal: closing all sessions now"); cancel() }()
		if err := p.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
}
