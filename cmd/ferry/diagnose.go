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
	var f diagnoseFlags
	f.register(fs)
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
	if err := f.options(pos[0], stdin, stderr); err != nil {
		fmt.Fprintln(stderr, "ferry diagnose:", err)
		if _, ok := err.(usageError); ok {
			return 2
		}
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.total)
	defer cancel()
	rep := diagnose.Run(ctx, f.o)
	if f.jsonOut {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ferry diagnose:", err)
		return 1
	}
	return rep.ExitCode(f.strict)
}

// diagnoseFlags are the flags of ferry diagnose and the options they make.
type diagnoseFlags struct {
	jsonOut, strict, writeTest, tlsReq, noTLS, debug bool
	caFile, activeAddr                               string
	o                                                diagnose.Options
	total                                            time.Duration
}

func (f *diagnoseFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
	fs.BoolVar(&f.writeTest, "write-test", false, "upload, download, compare and delete a small file")
	fs.BoolVar(&f.tlsReq, "tls", false, "require explicit TLS (AUTH TLS); a refusal is a failure")
	fs.BoolVar(&f.noTLS, "no-tls", false, "never send AUTH TLS (diagnose as a plain FTP client)")
	fs.StringVar(&f.caFile, "ca", "", "PEM `file` of certificates to trust (default: the system's)")
	fs.StringVar(&f.activeAddr, "active-addr", "", "local `IP` to announce in PORT/EPRT (default: the control connection's)")
	fs.BoolVar(&f.debug, "debug", false, "print the control connections' transcripts to stderr")
	fs.DurationVar(&f.o.ConnectTimeout, "connect-timeout", 10*time.Second, "timeout for name resolution and the control connection")
	fs.DurationVar(&f.o.CommandTimeout, "timeout", 15*time.Second, "timeout for each reply")
	fs.DurationVar(&f.o.DataTimeout, "data-timeout", 5*time.Second, "timeout for a passive data connection")
	fs.DurationVar(&f.o.ActiveTimeout, "active-timeout", 10*time.Second, "how long to wait for the server's active data connection")
	fs.DurationVar(&f.total, "max-time", 3*time.Minute, "limit for the whole run")
}

// options completes f.o from the URL and the flags, asking for the
// password when the URL has none.
func (f *diagnoseFlags) options(rawURL string, stdin io.Reader, stderr io.Writer) error {
	u, err := parseRemoteURL(rawURL)
	switch {
	case err != nil:
		return err
	case f.tlsReq && f.noTLS:
		return usageError{"choose one of --tls and --no-tls"}
	case u.implicitTLS && f.noTLS:
		return usageError{"--no-tls does not go with an ftps:// URL (implicit TLS)"}
	}
	if err := u.resolvePassword(stdin, stderr); err != nil {
		return err
	}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return err
		}
		f.o.RootCAs = x509.NewCertPool()
		if !f.o.RootCAs.AppendCertsFromPEM(pem) {
			return usageError{f.caFile + ": no PEM certificates"}
		}
	}
	if f.activeAddr != "" {
		a, err := netip.ParseAddr(f.activeAddr)
		if err != nil {
			return usageError{"--active-addr: " + err.Error()}
		}
		f.o.ActiveAddr = a.Unmap()
	}
	f.o.Addr, f.o.User, f.o.Password, f.o.Dir, f.o.WriteTest = u.addr, u.user, u.password, u.path, f.writeTest
	switch {
	case u.implicitTLS:
		f.o.TLS = diagnose.TLSImplicit
	case f.tlsReq:
		f.o.TLS = diagnose.TLSRequire
	case f.noTLS:
		f.o.TLS = diagnose.TLSOff
	}
	if f.debug {
		f.o.Debug = stderr
	}
	return nil
}
