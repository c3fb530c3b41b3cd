package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpclient"
	"golang.org/x/time/rate"
)

// Exit codes of the client commands. Scripts may rely on them.
const (
	exitOK       = 0 // success
	exitFailure  = 1 // any other failure (local I/O, ...)
	exitUsage    = 2 // bad command line
	exitLogin    = 3 // login refused (530) or TLS refused
	exitNotFound = 4 // the remote file or directory does not exist (550)
	exitConnect  = 5 // could not connect, connection lost, timeout
	exitVerify   = 6 // transfer verification (HASH or size) failed
	exitServer   = 7 // the server refused the operation (another 4xx/5xx)
)

const clientUsage = `Usage:
  ferry ls     [flags] URL            list a remote directory
  ferry get    [flags] URL [DEST]     download a file (DEST: file or folder, default .)
  ferry put    [flags] FILE... URL    upload files (URL ending in / is a folder)
  ferry mirror [flags] SRC DST        mirror a tree; one side is a URL, the other local
  ferry rm     [flags] URL...         delete files (-r: whole trees, --dir: empty folders)
  ferry mkdir  [flags] URL...         create folders (-p: with parents)
  ferry mv     [flags] URL NEWPATH    rename (NEWPATH absolute or relative to URL's folder)
  ferry quote  [flags] URL COMMAND... send raw commands (e.g. 'SITE CHMOD 644 f'), print replies

get and rm take a glob in the last path part (quote it for the shell):
  ferry get 'ftp://host/dir/*.csv' DEST/    ferry rm 'ftp://host/tmp/*.part'

URLs: ftp://[user[:password]@]host[:port]/path (ftps:// for implicit TLS, port 990).
Paths are relative to the login folder; start with %2F for an absolute path.
The password comes from the URL, $FERRY_PASSWORD, ~/.netrc, or a prompt.

Exit codes: 0 ok, 1 failure, 2 usage, 3 login refused, 4 not found,
5 connection failed or lost, 6 verification failed, 7 refused by the server.

Flags:
`

type clientFlags struct {
	active, noEPSV, tlsExplicit, insecure bool
	noPipelining                          bool
	caFile                                string
	cont, quiet, progress                 bool
	parallel, segments                    int
	limitRate                             string
	verify                                bool
	verifyHash                            string
	onlyNewer, del, dryRun                bool
	exclude, include                      multiFlag
	minSize, maxSize                      string
	newerThan, olderThan                  string
	long, recursive, dir, parents, debug  bool
	timeout                               time.Duration
	retries                               int
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (f *clientFlags) register(fs *flag.FlagSet, cmd string) {
	fs.BoolVar(&f.active, "active", false, "active mode: the server connects to us (EPRT/PORT)")
	fs.BoolVar(&f.noEPSV, "no-epsv", false, "use PASV/PORT instead of EPSV/EPRT")
	fs.BoolVar(&f.noPipelining, "no-pipelining", false, "wait for each EPSV reply before sending the transfer command")
	fs.BoolVar(&f.tlsExplicit, "tls", false, "require explicit TLS (AUTH TLS) on ftp:// URLs")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the server's TLS certificate")
	fs.StringVar(&f.caFile, "ca", "", "PEM `file` of certificates to trust for TLS")
	fs.BoolVar(&f.debug, "debug", false, "print the control connection transcript to stderr")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout for each command and connection set-up")
	fs.IntVar(&f.retries, "retries", 3, "retries after a lost connection or 421")
	switch cmd {
	case "get", "put", "mirror":
		fs.BoolVar(&f.quiet, "q", false, "no progress output")
		fs.BoolVar(&f.progress, "progress", false, "show progress even when stderr is not a terminal")
		fs.StringVar(&f.limitRate, "limit-rate", "", "limit all transfers together to `RATE` bytes/s (suffix k, M, G)")
		fs.BoolVar(&f.verify, "verify", true, "verify transfers by HASH when offered, else by size")
		fs.StringVar(&f.verifyHash, "verify-hash", "", "HASH algorithms to verify with, in order of preference (`LIST` such as sha256,sha1; default crc32,sha256,sha512,sha1,md5)")
		fs.IntVar(&f.parallel, "parallel", 1, "`N` transfers at once (several files)")
	}
	switch cmd {
	case "get", "put":
		fs.BoolVar(&f.cont, "c", false, "continue a partial transfer (REST)")
		fs.BoolVar(&f.cont, "continue", false, "continue a partial transfer (REST)")
	}
	switch cmd {
	case "get", "mirror":
		fs.IntVar(&f.segments, "segments", 1, "download each big file over `N` connections")
	}
	switch cmd {
	case "mirror":
		fs.BoolVar(&f.onlyNewer, "only-newer", false, "transfer only files newer than the destination's")
		fs.BoolVar(&f.del, "delete", false, "delete destination files the source lacks")
		fs.BoolVar(&f.dryRun, "dry-run", false, "only print what would be done")
		fs.Var(&f.exclude, "exclude", "skip paths matching `GLOB` (repeatable)")
		fs.Var(&f.include, "include", "copy only files matching `GLOB` (repeatable; --exclude wins)")
		fs.StringVar(&f.minSize, "min-size", "", "skip files smaller than `SIZE` (suffix k, M, G)")
		fs.StringVar(&f.maxSize, "max-size", "", "skip files larger than `SIZE` (suffix k, M, G)")
		fs.StringVar(&f.newerThan, "newer-than", "", "copy only files modified after `WHEN` (age like 7d, 12h, or date 2006-01-02)")
		fs.StringVar(&f.olderThan, "older-than", "", "copy only files modified before `WHEN` (age like 7d, 12h, or date 2006-01-02)")
	case "ls":
		fs.BoolVar(&f.long, "l", false, "long listing (type, size, time)")
	case "rm":
		fs.BoolVar(&f.recursive, "r", false, "delete folders and everything in them")
		fs.BoolVar(&f.dir, "dir", false, "remove empty folders (RMD)")
	case "mkdir":
		fs.BoolVar(&f.parents, "p", false, "create parent folders as needed")
	}
}

// clientMain runs a client subcommand and returns its exit code.
func clientMain(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ferry "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f clientFlags
	f.register(fs, cmd)
	fs.Usage = func() {
		fmt.Fprint(stderr, clientUsage)
		printFlags(stderr, fs)
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ferry %s: %v\n", cmd, err)
		return exitUsage
	}
	rateLimit, err := parseRate(f.limitRate)
	if err != nil {
		fmt.Fprintf(stderr, "ferry %s: %v\n", cmd, err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Segments, parallel transfers and their progress lines write from
	// several goroutines.
	rawStderr := stderr
	stdout, stderr = &syncWriter{w: stdout}, &syncWriter{w: stderr}
	cc := &clientCmd{f: f, stdin: stdin, stdout: stdout, stderr: stderr, rawStderr: rawStderr}
	if rateLimit > 0 {
		cc.limiter = ftpclient.NewRateLimiter(rateLimit)
	}
	defer cc.close()
	switch cmd {
	case "ls":
		err = cc.ls(ctx, pos)
	case "get":
		err = cc.get(ctx, pos)
	case "put":
		err = cc.put(ctx, pos)
	case "mirror":
		err = cc.mirror(ctx, pos)
	case "rm":
		err = cc.rm(ctx, pos)
	case "mkdir":
		err = cc.mkdir(ctx, pos)
	case "mv":
		err = cc.mv(ctx, pos)
	case "quote":
		err = cc.quote(ctx, pos)
	}
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		// Ctrl-C or SIGTERM: whatever failed failed because of it (a
		// segment's connection, for one, reports itself broken).
		err = interruptedError{cmd, err}
	}
	fmt.Fprintf(stderr, "ferry %s: %v\n", cmd, err)
	if h := hint(cmd, err, f); h != "" {
		fmt.Fprintf(stderr, "ferry %s: %s\n", cmd, h)
	}
	return exitCode(err)
}

func exitCode(err error) int {
	var ue usageError
	var fe *ftp.Error
	var ne net.Error
	var te *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, ftpclient.ErrVerify):
		return exitVerify
	case errors.As(err, &fe):
		switch {
		case fe.Code == ftp.CodeNotLoggedIn || fe.Code == ftp.CodeNeedAccount:
			return exitLogin
		case fe.Code == ftp.CodeFileUnavailable:
			return exitNotFound
		case fe.Code == ftp.CodeNotAvailable:
			return exitConnect
		}
		return exitServer
	case errors.As(err, &te):
		return exitLogin
	case errors.Is(err, os.ErrNotExist):
		return exitNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ftpclient.ErrBroken), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return exitConnect
	}
	return exitFailure
}

type clientCmd struct {
	f              clientFlags
	stdin          io.Reader
	stdout, stderr io.Writer
	rawStderr      io.Writer // stderr before syncWriter, to tell a terminal
	clients        []*ftpclient.Client
	limiter        *rate.Limiter // --limit-rate, shared by every transfer
}

func (cc *clientCmd) close() {
	for _, cl := range cc.clients {
		cl.Close()
	}
}

// client returns a pooled client for the server of u.
func (cc *clientCmd) client(u *remoteURL, conns int) (*ftpclient.Client, error) {
	opts := ftpclient.Options{
		User: u.user, Password: u.password,
		Active: cc.f.active, DisableEPSV: cc.f.noEPSV, NoPipelining: cc.f.noPipelining, Timeout: cc.f.timeout,
	}
	if cc.f.verifyHash != "" {
		for name := range strings.SplitSeq(cc.f.verifyHash, ",") {
			algo, ok := ftpclient.HashAlgoName(name)
			if !ok {
				return nil, usageError{"--verify-hash: unknown algorithm " + strconv.Quote(strings.TrimSpace(name)) + " (known: crc32, sha256, sha512, sha1, md5)"}
			}
			opts.HashAlgos = append(opts.HashAlgos, algo)
		}
	}
	if u.implicitTLS || cc.f.tlsExplicit {
		tc := &tls.Config{InsecureSkipVerify: cc.f.insecure}
		if cc.f.caFile != "" {
			pem, err := os.ReadFile(cc.f.caFile)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, usageError{"--ca " + cc.f.caFile + ": no PEM certificates"}
			}
		}
		opts.TLS = tc
		opts.ImplicitTLS = u.implicitTLS
	}
	if cc.f.debug {
		opts.Debug = cc.stderr
	}
	cl := ftpclient.NewClient(u.addr, opts)
	cl.MaxConns = max(conns, 1)
	cl.Limiter = cc.limiter
	cl.Retries = cc.f.retries
	if cl.Retries == 0 {
		cl.Retries = -1
	}
	cc.clients = append(cc.clients, cl)
	return cl, nil
}

func (cc *clientCmd) parse(raw string) (*remoteURL, error) {
	u, err := parseRemoteURL(raw)
	if err != nil {
		return nil, err
	}
	if err := u.resolvePassword(cc.stdin, cc.stderr); err != nil {
		return nil, err
	}
	return u, nil
}

func (cc *clientCmd) ls(ctx context.Context, pos []string) error {
	if len(pos) != 1 {
		return usageError{"ls needs exactly one URL"}
	}
	u, err := cc.parse(pos[0])
	if err != nil {
		return err
	}
	cl, err := cc.client(u, 1)
	if err != nil {
		return err
	}
	return cl.Do(ctx, func(c *ftpclient.Conn) error {
		e, err := c.Stat(ctx, orDot(u.path))
		if err == nil && !e.IsDir() {
			cc.printEntry(e)
			return nil
		}
		entries, err := c.List(ctx, u.path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			cc.printEntry(e)
		}
		return nil
	})
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func (cc *clientCmd) printEntry(e ftp.Entry) {
	name := e.Name
	if e.IsDir() {
		name += "/"
	}
	if !cc.f.long {
		fmt.Fprintln(cc.stdout, name)
		return
	}
	t := "-"
	if !e.ModTime.IsZero() {
		t = e.ModTime.UTC().Format("2006-01-02 15:04:05")
	}
	if e.Target != "" {
		name += " -> " + e.Target
	}
	fmt.Fprintf(cc.stdout, "%-4s %12d %19s %s\n", e.Type, e.Size, t, name)
}

func (cc *clientCmd) get(ctx context.Context, pos []string) error {
	if len(pos) < 1 || len(pos) > 2 {
		return usageError{"get needs a URL and at most one destination"}
	}
	u, err := cc.parse(pos[0])
	if err != nil {
		return err
	}
	if u.path == "" || strings.HasSuffix(u.path, "/") {
		return usageError{"get needs a file URL; use ferry mirror for folders"}
	}
	dest := "."
	if len(pos) == 2 {
		dest = pos[1]
	}
	if hasGlob(u.path) {
		return cc.getGlob(ctx, u, dest)
	}
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		dest = filepath.Join(dest, path.Base(u.path))
	}
	conns := max(cc.f.segments, 1)
	if cc.f.verify {
		conns++ // the early HASH of a big download (ftpclient.EarlyHashAfter)
	}
	cl, err := cc.client(u, conns)
	if err != nil {
		return err
	}
	return cc.getOne(ctx, cl, u.path, dest)
}

// getOne downloads remote to the file dest with the command's options.
func (cc *clientCmd) getOne(ctx context.Context, cl *ftpclient.Client, remote, dest string) error {
	segs := max(cc.f.segments, 1)
	var size int64
	var isDir bool
	cl.Do(ctx, func(c *ftpclient.Conn) error {
		var err error
		if size, err = c.Size(ctx, remote); err != nil {
			if e, serr := c.Stat(ctx, remote); serr == nil && e.IsDir() {
				isDir = true
			}
		}
		return nil
	})
	if isDir {
		return usageError{remote + " is a folder; use ferry mirror to download folders"}
	}
	p := cc.newProgress(path.Base(remote), size)
	defer p.done()
	o := ftpclient.TransferOptions{Resume: cc.f.cont, Verify: cc.f.verify, Phase: p.phaseFunc()}
	_, serr := os.Stat(dest + ftpclient.SegmentStateSuffix)
	if segs > 1 || (cc.f.cont && serr == nil) { // -c after a segmented download resumes its segments
		var fn func(int64)
		if p != nil {
			fn = p.add
		}
		_, err := cl.DownloadSegmented(ctx, remote, dest, segs, o, fn)
		return err
	}
	if cc.f.cont && p != nil {
		if st, err := os.Stat(dest); err == nil {
			p.add(st.Size())
		}
	}
	o.WrapWriter = cc.wrapWriter(p)
	_, err := cl.Download(ctx, remote, dest, o)
	return err
}

func (cc *clientCmd) put(ctx context.Context, pos []string) error {
	if len(pos) < 2 {
		return usageError{"put needs at least one file and a URL"}
	}
	u, err := cc.parse(pos[len(pos)-1])
	if err != nil {
		return err
	}
	files := pos[:len(pos)-1]
	cl, err := cc.client(u, cc.f.parallel)
	if err != nil {
		return err
	}
	toDir := len(files) > 1 || u.path == "" || strings.HasSuffix(u.path, "/")
	if !toDir {
		cl.Do(ctx, func(c *ftpclient.Conn) error {
			if e, err := c.Stat(ctx, u.path); err == nil && e.IsDir() {
				toDir = true
			}
			return nil
		})
	}
	type job struct{ local, remote string }
	var jobs []job
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return err
		}
		if st.IsDir() {
			return usageError{f + " is a folder; use ferry mirror"}
		}
		remote := u.path
		if toDir {
			remote = path.Join(u.path, filepath.Base(f))
		}
		jobs = append(jobs, job{f, remote})
	}
	errs := make(chan error, len(jobs))
	sem := make(chan struct{}, max(cc.f.parallel, 1))
	for _, j := range jobs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			st, _ := os.Stat(j.local)
			p := cc.newProgress(filepath.Base(j.local), st.Size())
			o := ftpclient.TransferOptions{Resume: cc.f.cont, Verify: cc.f.verify, WrapReader: cc.wrapReader(p), Phase: p.phaseFunc()}
			_, err := cl.Upload(ctx, j.local, j.remote, o)
			p.done()
			if err != nil {
				err = fmt.Errorf("%s: %w", j.local, err)
			}
			errs <- err
		}()
	}
	var all []error
	for range jobs {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

func (cc *clientCmd) mirror(ctx context.Context, pos []string) error {
	if len(pos) != 2 {
		return usageError{"mirror needs a source and a destination"}
	}
	srcRemote, dstRemote := isURL(pos[0]), isURL(pos[1])
	if srcRemote == dstRemote {
		return usageError{"mirror needs exactly one URL (the other side is a local folder)"}
	}
	o := ftpclient.MirrorOptions{
		OnlyNewer: cc.f.onlyNewer, Delete: cc.f.del, DryRun: cc.f.dryRun,
		Parallel: cc.f.parallel, Verify: cc.f.verify, Exclude: cc.f.exclude,
		Include: cc.f.include, Segments: cc.f.segments,
	}
	if err := cc.mirrorFilters(&o, time.Now()); err != nil {
		return err
	}
	if !cc.f.quiet || cc.f.dryRun {
		o.Log = func(a ftpclient.MirrorAction) {
			if a.Op == "skip" {
				if cc.f.dryRun {
					fmt.Fprintf(cc.stdout, "skip %s (%s)\n", a.Path, a.Reason)
				}
				return
			}
			if a.Op == "get" || a.Op == "put" {
				fmt.Fprintf(cc.stdout, "%s %s (%d bytes)\n", a.Op, a.Path, a.Size)
			} else {
				fmt.Fprintf(cc.stdout, "%s %s\n", a.Op, a.Path)
			}
		}
	}
	raw := pos[0]
	if dstRemote {
		raw = pos[1]
	}
	u, err := cc.parse(raw)
	if err != nil {
		return err
	}
	cl, err := cc.client(u, max(cc.f.parallel, 1)*max(cc.f.segments, 1)+1)
	if err != nil {
		return err
	}
	var st ftpclient.MirrorStats
	if srcRemote {
		st, err = cl.MirrorDown(ctx, orDot(u.path), pos[1], o)
	} else {
		st, err = cl.MirrorUp(ctx, pos[0], orDot(u.path), o)
	}
	if !cc.f.quiet {
		verb := "transferred"
		if cc.f.dryRun {
			verb = "would transfer"
		}
		fmt.Fprintf(cc.stderr, "%s %d files (%d bytes), %d folders made, %d deleted, %d up to date, %d filtered out\n",
			verb, st.Files, st.Bytes, st.Dirs, st.Deleted, st.Skipped, st.Filtered)
	}
	return err
}

func (cc *clientCmd) rm(ctx context.Context, pos []string) error {
	if len(pos) == 0 {
		return usageError{"rm needs at least one URL"}
	}
	return cc.eachURL(ctx, pos, func(c *ftpclient.Conn, u *remoteURL) error {
		targets := []string{u.path}
		if hasGlob(u.path) {
			matches, err := expandGlob(ctx, c, u.path, cc.f.recursive || cc.f.dir)
			if err != nil {
				return err
			}
			targets = matches
		}
		for _, t := range targets {
			var err error
			switch {
			case cc.f.recursive:
				err = removeAll(ctx, c, t)
			case cc.f.dir:
				err = c.Rmdir(ctx, t)
			default:
				err = c.Delete(ctx, t)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// eachURL runs fn on a connection to each URL in turn, stopping at the
// first error.
func (cc *clientCmd) eachURL(ctx context.Context, urls []string, fn func(*ftpclient.Conn, *remoteURL) error) error {
	for _, raw := range urls {
		u, err := cc.parse(raw)
		if err != nil {
			return err
		}
		cl, err := cc.client(u, 1)
		if err != nil {
			return err
		}
		if err := cl.Do(ctx, func(c *ftpclient.Conn) error { return fn(c, u) }); err != nil {
			return err
		}
	}
	return nil
}

func removeAll(ctx context.Context, c *ftpclient.Conn, p string) error {
	var files, dirs []string
	err := c.Walk(ctx, p, func(q string, e ftp.Entry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			dirs = append(dirs, q)
		} else {
			files = append(files, q)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := c.Delete(ctx, f); err != nil {
			return err
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := c.Rmdir(ctx, dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (cc *clientCmd) mkdir(ctx context.Context, pos []string) error {
	if len(pos) == 0 {
		return usageError{"mkdir needs at least one URL"}
	}
	return cc.eachURL(ctx, pos, func(c *ftpclient.Conn, u *remoteURL) error {
		if cc.f.parents {
			return c.MkdirAll(ctx, u.path)
		}
		return c.Mkdir(ctx, u.path)
	})
}

func (cc *clientCmd) mv(ctx context.Context, pos []string) error {
	if len(pos) != 2 {
		return usageError{"mv needs a URL and a new path"}
	}
	u, err := cc.parse(pos[0])
	if err != nil {
		return err
	}
	to := pos[1]
	if isURL(to) {
		v, err := parseRemoteURL(to)
		if err != nil {
			return err
		}
		if v.addr != u.addr {
			return usageError{"mv cannot move between servers"}
		}
		to = v.path
	} else if !strings.HasPrefix(to, "/") {
		to = path.Join(path.Dir(u.path), to)
	}
	cl, err := cc.client(u, 1)
	if err != nil {
		return err
	}
	return cl.Do(ctx, func(c *ftpclient.Conn) error { return c.Rename(ctx, u.path, to) })
}
