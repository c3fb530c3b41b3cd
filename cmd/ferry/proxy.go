package main

import (
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

// proxyMain runs the FTP proxy until SIGINT or SIGTERM.
func proxyMain(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ferry proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, proxyUsage); printFlags(stderr, fs) }
	var (
		listen     = fs.String("listen", "", "address to listen on (default :21)")
		backend    = fs.String("backend", "", "server host:port (reverse mode)")
		configPath = fs.String("config", "", "TOML proxy configuration file")
		mode       = fs.String("mode", "", "reverse, explicit or transparent")
		allowDest  = fs.String("allow-dest", "", "comma-separated host:port patterns allowed in explicit mode")
		serverData = fs.String("server-data", "", "data mode toward the server: same, passive or active")
		dataPorts  = fs.String("data-ports", "", "port range lo-hi for the proxy's data listeners")
		proxyProto = fs.Int("proxy-protocol", 0, "send a PROXY protocol header (1 or 2) to the backend")
		clientTLS  = fs.String("client-tls", "", "TLS toward clients: off, explicit or implicit")
		tlsCert    = fs.String("tls-cert", "", "PEM certificate for client-side TLS (created self-signed if missing with --tls-generate)")
		tlsKey     = fs.String("tls-key", "", "PEM key for client-side TLS")
		tlsGen     = fs.Bool("tls-generate", false, "create a self-signed certificate when --tls-cert and --tls-key do not exist")
		backendTLS = fs.String("backend-tls", "", "TLS toward the server: off, explicit or implicit")
		insecure   = fs.Bool("backend-tls-insecure", false, "do not verify the server's certificate")
		verbose    = fs.Bool("v", false, "debug logging")
	)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"ferry proxy takes no arguments"}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var opts ftpproxy.Options
	var listens []string
	if *configPath != "" {
		c, err := config.LoadProxy(*configPath)
		if err != nil {
			return err
		}
		if opts, err = c.ProxyOptions(); err != nil {
			return fmt.Errorf("%s: %w", *configPath, err)
		}
		listens = c.Listen
	}
	// Flags override the file.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["mode"] {
		if opts.Mode, err = ftpproxy.ParseMode(*mode); err != nil {
			return usageError{err.Error()}
		}
	}
	if set["backend"] {
		opts.Backend = *backend
	}
	if set["allow-dest"] {
		opts.AllowDestinations = strings.Split(*allowDest, ",")
	}
	if set["server-data"] {
		if opts.ServerData, err = ftpproxy.ParseDataMode(*serverData); err != nil {
			return usageError{err.Error()}
		}
	}
	if set["data-ports"] {
		if opts.DataPortMin, opts.DataPortMax, err = config.ParsePortRange(*dataPorts); err != nil {
			return usageError{err.Error()}
		}
	}
	if set["proxy-protocol"] {
		opts.ProxyProtocol = *proxyProto
	}
	if set["client-tls"] {
		if opts.ClientTLSMode, err = ftpproxy.ParseTLSMode(*clientTLS); err != nil {
			return usageError{err.Error()}
		}
		if opts.ClientTLSMode != ftpproxy.TLSOff {
			if *tlsCert == "" || *tlsKey == "" {
				return usageError{"--client-tls needs --tls-cert and --tls-key"}
			}
			cert, err := config.LoadOrCreateCert(*tlsCert, *tlsKey, *tlsGen, []string{"localhost", "127.0.0.1", "::1"})
			if err != nil {
				return err
			}
			opts.ClientTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		}
	}
	if set["backend-tls"] {
		if opts.BackendTLSMode, err = ftpproxy.ParseTLSMode(*backendTLS); err != nil {
			return usageError{err.Error()}
		}
		opts.BackendTLS = &tls.Config{InsecureSkipVerify: *insecure}
	}
	if *listen != "" {
		listens = []string{*listen}
	}
	if len(listens) == 0 {
		listens = []string{":21"}
	}
	if opts.Mode == ftpproxy.ModeReverse && opts.Backend == "" && len(opts.UserBackends) == 0 {
		return usageError{"ferry proxy: --backend is required in reverse mode"}
	}
	opts.Logger = log
	p, err := ftpproxy.New(opts)
	if err != nil {
		return err
	}
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
