package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpclient"
)

// printFlags prints a flag set's flags in the form the docs use: "--name"
// (one dash for one-letter flags such as -c), with the argument's name and
// the default when it is not the zero value.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	if c, ok := w.(*helpCapture); ok { // ferry man reads the flag set itself
		c.flagsFollow()
	}
	fs.VisitAll(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		arg, usage := flag.UnquoteUsage(f)
		line := "  " + dash + f.Name
		if arg != "" {
			line += " " + arg
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		switch f.DefValue {
		case "", "0", "false", "[]":
		default:
			if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool && f.DefValue == "true" {
				line += " (default true; --" + f.Name + "=false to turn off)"
			} else {
				line += " (default " + f.DefValue + ")"
			}
		}
		fmt.Fprintln(w, line)
	})
}

// interruptedError is a command stopped by Ctrl-C or SIGTERM.
type interruptedError struct {
	cmd string
	err error
}

func (e interruptedError) Error() string {
	switch e.cmd {
	case "get", "put":
		return "interrupted; resume with -c (the same command line plus -c)"
	case "mirror":
		return "interrupted; run the same mirror again to continue (files already copied are skipped)"
	}
	return "interrupted"
}

func (e interruptedError) Unwrap() error { return e.err }

// hint returns a line that tells the user what to do about err, or "".
func hint(cmd string, err error, f clientFlags) string {
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var he x509.HostnameError
	var fe *ftp.Error
	switch {
	case errors.As(err, &cve), errors.As(err, &uae):
		return "the server's TLS certificate is not trusted: pass --ca FILE (the PEM of the CA that signed it), or --insecure to skip the check"
	case errors.As(err, &he):
		return "the server's TLS certificate is for another name: connect with the name it was issued for, or pass --insecure to skip the check"
	case errors.As(err, &fe) && (fe.Code == ftp.CodeNotLoggedIn || fe.Code == ftp.CodeNeedAccount):
		msg := strings.ToUpper(fe.Message)
		if !f.tlsExplicit && (strings.Contains(msg, "TLS") || strings.Contains(msg, "SSL") || strings.Contains(msg, "ENCRYPT")) {
			return "the server requires TLS: add --tls (explicit AUTH TLS on ftp://) or use an ftps:// URL"
		}
	}
	return ""
}

// hasGlob reports whether the last part of a remote path is a glob.
func hasGlob(p string) bool {
	return strings.ContainsAny(path.Base(p), "*?[")
}

// expandGlob lists the folder of pattern (a glob in its last part only)
// and returns the matching paths, sorted; folders match only when dirs is
// set. No match is an error that says so.
func expandGlob(ctx context.Context, c *ftpclient.Conn, pattern string, dirs bool) ([]string, error) {
	dir, base := path.Split(pattern)
	entries, err := c.List(ctx, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Name == "." || e.Name == ".." || !ftp.MatchGlob(base, e.Name) {
			continue
		}
		if e.IsDir() && !dirs {
			continue
		}
		if !e.IsDir() && e.Type != ftp.EntryFile {
			continue
		}
		out = append(out, dir+e.Name)
	}
	if len(out) == 0 {
		where := dir
		if where == "" {
			where = "the login folder"
		}
		return nil, noMatchError{fmt.Sprintf("no file in %s matches %q (the glob is matched against the server's listing)", where, base)}
	}
	return out, nil
}

// noMatchError is a glob that matched nothing (exit code 4, not found).
type noMatchError struct{ msg string }

func (e noMatchError) Error() string { return e.msg }
func (e noMatchError) Unwrap() error { return os.ErrNotExist }

// getGlob downloads every file matching u's glob into the folder dest.
func (cc *clientCmd) getGlob(ctx context.Context, u *remoteURL, dest string) error {
	if st, err := os.Stat(dest); err != nil || !st.IsDir() {
		return usageError{"a glob URL downloads into a folder: " + dest + " is not one"}
	}
	par := max(cc.f.parallel, 1)
	cl, err := cc.client(u, par*max(cc.f.segments, 1)+1)
	if err != nil {
		return err
	}
	var files []string
	if err := cl.Do(ctx, func(c *ftpclient.Conn) error {
		var err error
		files, err = expandGlob(ctx, c, u.path, false)
		return err
	}); err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, par)
	for _, f := range files {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := cc.getOne(ctx, cl, f, filepath.Join(dest, path.Base(f))); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", f, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// quote sends raw commands on one connection and prints each reply; the
// URL's path, if any, is made the working folder first (CWD).
func (cc *clientCmd) quote(ctx context.Context, pos []string) error {
	if len(pos) < 2 {
		return usageError{"quote needs a URL and at least one command, such as 'SITE CHMOD 644 f'"}
	}
	u, err := cc.parse(pos[0])
	if err != nil {
		return err
	}
	cl, err := cc.client(u, 1)
	if err != nil {
		return err
	}
	cl.Retries = -1 // a raw command is never repeated behind the user's back
	return cl.Do(ctx, func(c *ftpclient.Conn) error {
		if u.path != "" {
			if err := c.Cwd(ctx, u.path); err != nil {
				return err
			}
		}
		for _, line := range pos[1:] {
			if strings.ContainsAny(line, "\r\n") {
				return usageError{"a command cannot hold a line break"}
			}
			verb := strings.ToUpper(strings.Fields(line + " x")[0])
			switch verb {
			case "PASV", "EPSV", "PORT", "EPRT", "RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD", "AUTH", "PROT", "PBSZ", "REIN", "CCC":
				return usageError{verb + " opens a data connection or changes the session; use ferry get/put/ls (or --tls) instead of quote"}
			}
			rep, err := c.Quote(ctx, line)
			for _, l := range rep.Lines {
				fmt.Fprintf(cc.stdout, "%d %s\n", rep.Code, l)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// mirrorFilters parses the size and age flags into o; ages count back
// from now.
func (cc *clientCmd) mirrorFilters(o *ftpclient.MirrorOptions, now time.Time) error {
	var err error
	if o.MinSize, err = parseSize("--min-size", cc.f.minSize); err != nil {
		return err
	}
	if o.MaxSize, err = parseSize("--max-size", cc.f.maxSize); err != nil {
		return err
	}
	if o.NewerThan, err = parseWhen("--newer-than", cc.f.newerThan, now); err != nil {
		return err
	}
	if o.OlderThan, err = parseWhen("--older-than", cc.f.olderThan, now); err != nil {
		return err
	}
	return nil
}

// parseSize parses a size with an optional k, M or G suffix (powers of
// 1024).
func parseSize(flagName, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	num := s
	if mult > 1 {
		num = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, usageError{flagName + " wants a size in bytes with an optional k, M or G suffix, such as 10M"}
	}
	return int64(v * float64(mult)), nil
}

// parseWhen parses an age (90s, 15m, 12h, 7d, 2w: that long before now) or
// a date (2006-01-02, 2006-01-02T15:04:05Z07:00; dates without a zone are
// UTC).
func parseWhen(flagName, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n := len(s); n > 1 {
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[n-1]]
		if v, err := strconv.ParseFloat(s[:n-1], 64); err == nil && unit > 0 && v >= 0 {
			return now.Add(-time.Duration(v * float64(unit))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError{flagName + " wants an age (such as 90m, 12h, 7d, 2w) or a date (2006-01-02 or RFC 3339)"}
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
