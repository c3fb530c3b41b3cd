package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/ferryftp/ferry/internal/diagnose"
)

const diagnoseUsage = `Usage: ferry diagnose [flags] URL

Walks through every step of an FTP session (connect, greeting, TLS,
login, passive and active data connections, listing) and reports each as
ok, WARN or FAIL with what it means and what to do. URL is
ftp://[user[:password]@]host[:port]/[folder] (ftps:// for implicit TLS).

Exit status: 0 no failure, 1 a step failed (--strict: or warned), 2 usage.

Flags:
`

// diagnoseMain runs "ferry diagnose" and returns its exit code.
func diagnoseMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ferry diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, diagnoseUsage); printFlags(stderr, fs) }
	var (
		jsonOut, strict, writeTest, tlsReq, noTLS, debug bool
		caFile, activeAddr                               string
		o                                                diagnose.Options
		total                                            time.Duration
	)
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&strict, "strict", false, "exit 1 on warnings too")
	fs.BoolVar(&writeTest, "write-test", false, "upload, download, compare and delete a small file")
	fs.BoolVar(&tlsReq, "tls", false, "require explicit TLS (AUTH TLS); a refusal is a failure")
	fs.BoolVar(&noTLS, "no-tls", false, "never send AUTH TLS (diagnose as a plain FTP client)")
	fs.StringVar(&caFile, "ca", "", "PEM `file` of certificates to trust (default: the system's)")
	fs.StringVar(&activeAddr, "active-addr", "", "local `IP` to announce in PORT/EPRT (default: the control connection's)")
	fs.BoolVar(&debug, "debug", false, "print the control connections' transcripts to stderr")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 10*time.Second, "timeout for name resolution and the control connection")
	fs.DurationVar(&o.CommandTimeout, "timeout", 15*time.Second, "timeout for each reply")
	fs.DurationVar(&o.DataTimeout, "data-timeout", 5*time.Second, "timeout for a passive data connection")
	fs.DurationVar(&o.ActiveTimeout, "active-timeout", 10*time.Second, "how long to wait for the server's active data connection")
	fs.DurationVar(&total, "max-time", 3*time.Minute, "limit for the whole run")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, "ferry diagnose:", err)
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	u, err := parseRemoteURL(pos[0])
	if err == nil && tlsReq && noTLS {
		err = usageError{"choose one of --tls and --no-tls"}
	}
	if err == nil && u.implicitTLS && noTLS {
		err = usageError{"--no-tls does not go with an ftps:// URL (implicit TLS)"}
	}
	if err == nil {
		err = u.resolvePassword(stdin, stderr)
	}
	if err == nil && caFile != "" {
		pem, rerr := os.ReadFile(caFile)
		if rerr != nil {
			err = rerr
		} else {
			o.RootCAs = x509.NewCertPool()
			if !o.RootCAs.AppendCertsFromPEM(pem) {
				err = usageError{caFile + ": no PEM certificates"}
			}
		}
	}
	if err == nil && activeAddr != "" {
		a, perr := netip.ParseAddr(activeAddr)
		if perr != nil {
			err = usageError{"--active-addr: " + perr.Error()}
		}
		o.ActiveAddr = a.Unmap()
	}
	if err != nil {
		fmt.Fprintln(stderr, "ferry diagnose:", err)
		if _, ok := err.(usageError); ok {
			return 2
		}
		return 1
	}
	o.Addr, o.User, o.Password, o.Dir, o.WriteTest = u.addr, u.user, u.password, u.path, writeTest
	switch {
	case u.implicitTLS:
		o.TLS = diagnose.TLSImplicit
	case tlsReq:
		o.TLS = diagnose.TLSRequire
	case noTLS:
		o.TLS = diagnose.TLSOff
	}
	if debug {
		o.Debug = stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), total)
	defer cancel()
	rep := diagnose.Run(ctx, o)
	if jsonOut {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ferry diagnose:", err)
		return 1
	}
	return rep.ExitCode(strict)
}
