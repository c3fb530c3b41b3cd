package main

import (
	"crypto/tls"
	"log/slog"
	"os"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/selfsigned"
)

// quickTLS sets up FTPS for quick mode: the given certificate files, or a
// self-signed certificate generated once per process.
func quickTLS(f serveFlags, opts *ftpserver.Options, cert **tls.Certificate, log *slog.Logger) error {
	if !f.tls && !f.tlsOpt && f.implicit == "" {
		if f.certFile != "" || f.keyFile != "" {
			return usageError{"--tls-cert and --tls-key need --tls, --tls-optional or --implicit-listen"}
		}
		return nil
	}
	if f.tls && f.tlsOpt {
		return usageError{"choose one of --tls (required) and --tls-optional"}
	}
	switch {
	case f.certFile != "" || f.keyFile != "":
		c, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return err
		}
		*cert = &c
	case *cert == nil:
		host, _ := os.Hostname()
		sc, err := selfsigned.Generate("localhost", "127.0.0.1", "::1", host)
		if err != nil {
			return err
		}
		*cert = &sc.TLS
		log.Warn("using a generated self-signed certificate: clients must be told to trust it "+
			"(curl --insecure or --cacert; lftp: set ssl:verify-certificate no); use --tls-cert/--tls-key in production",
			"sha256_fingerprint", sc.Fingerprint)
	}
	opts.TLS = &tls.Config{Certificates: []tls.Certificate{**cert}}
	if f.tls {
		opts.TLSMode = ftpserver.TLSRequired
	}
	return nil
}
