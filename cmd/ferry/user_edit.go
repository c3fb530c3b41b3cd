package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/config"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage/quota"
	"github.com/ferryftp/ferry/userstore"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// editFlags are the flags of `ferry user add` and `ferry user set`.
type editFlags struct {
	passwordStdin bool
	passwordHash  string
	root          string
	s3Endpoint    string
	s3Bucket      string
	s3Prefix      string
	s3Region      string
	s3Creds       string
	perms         string
	readOnly      bool
	maxSessions   int
	uploadRate    string
	downloadRate  string
	maxBytes      string
	maxFiles      int64
	rescanUsage   bool
	tlsRequired   bool
	disabled      bool
	enabled       bool
}

func userAddSet(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f editFlags
	fs, db := userFlagSet(cmd, cmd+" NAME [flags]", stderr)
	f.register(fs, cmd)
	name, err := oneName(fs, args)
	if err != nil {
		return err
	}
	r := editRequest{name: name, db: *db, f: &f, given: map[string]bool{}}
	fs.Visit(func(fl *flag.Flag) { r.given[fl.Name] = true })
	if err := r.parse(stdin, stderr); err != nil {
		return err
	}
	if cmd == "add" {
		return r.add(stdin, stdout, stderr)
	}
	return r.set(stdout, stderr)
}

// register defines the flags of ferry user add and set.
func (f *editFlags) register(fs *flag.FlagSet, cmd string) {
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from one line of standard input")
	fs.StringVar(&f.passwordHash, "password-hash", "", "store this argon2id or bcrypt `hash` (e.g. from ferry passwd or a config file)")
	fs.StringVar(&f.root, "root", "", "local `directory` the user sees as /")
	fs.StringVar(&f.s3Endpoint, "s3-endpoint", "", "S3 endpoint `URL` (default: the S3 backend's default)")
	fs.StringVar(&f.s3Bucket, "s3-bucket", "", "S3 `bucket` holding the user's files")
	fs.StringVar(&f.s3Prefix, "s3-prefix", "", "S3 key `prefix` the user sees as /")
	fs.StringVar(&f.s3Region, "s3-region", "", "S3 `region`")
	fs.StringVar(&f.s3Creds, "s3-credentials", "", "where the S3 keys come from: env:ACCESS_VAR,SECRET_VAR[,TOKEN_VAR] or profile:NAME (`ref`; never the keys)")
	fs.StringVar(&f.perms, "perms", "", "comma-separated `list` of list, read, write, delete, rename, mkdir or all (add's default: all)")
	fs.BoolVar(&f.readOnly, "read-only", false, "only list and read (same as --perms list,read)")
	fs.IntVar(&f.maxSessions, "max-sessions", 0, "cap on the user's concurrent sessions (0: the server's limit)")
	fs.StringVar(&f.uploadRate, "upload-rate", "", "bandwidth `rate` of the user's uploads, all sessions together, e.g. 512KiB/s or 10MB/s (0: unlimited)")
	fs.StringVar(&f.downloadRate, "download-rate", "", "bandwidth `rate` of the user's downloads, all sessions together (0: unlimited)")
	fs.StringVar(&f.maxBytes, "max-bytes", "", "quota: the `size` the user may store, e.g. 10GiB or 500MB (0: the server's limits.user_max_bytes; unlimited: none)")
	fs.Int64Var(&f.maxFiles, "max-files", 0, "quota: how many files the user may store (0: the server's limits.user_max_files; -1: unlimited)")
	fs.BoolVar(&f.tlsRequired, "tls-required", false, "refuse this user's login without TLS (--tls-required=false undoes)")
	fs.BoolVar(&f.disabled, "disabled", false, "refuse every login of this user (--disabled=false enables)")
	if cmd == "set" {
		fs.BoolVar(&f.enabled, "enabled", false, "allow logins again (same as --disabled=false)")
		fs.BoolVar(&f.rescanUsage, "rescan-usage", false, "forget the stored quota usage: the next login scans the user's storage")
	}
}

// editRequest is one ferry user add or set, its flags checked and parsed.
type editRequest struct {
	name, db   string
	f          *editFlags
	given      map[string]bool // flags given on the command line
	hash       string          // new password hash, "" to keep
	creds      userstore.Credentials
	perms      ftpserver.Perms
	permsGiven bool
	rates      ftpserver.Rates
	maxBytes   int64
}

// parse checks the flags and reads the password, root, credentials and
// permissions they name.
func (r *editRequest) parse(stdin io.Reader, stderr io.Writer) error {
	f := r.f
	if err := f.check(r.given); err != nil {
		return err
	}
	var err error
	if f.root != "" {
		if f.root, err = resolveRoot(f.root, stderr); err != nil {
			return err
		}
	}
	if r.creds, err = userstore.ParseCredentials(f.s3Creds); err != nil {
		return usageError{"--s3-credentials: " + err.Error()}
	}
	if r.perms, r.permsGiven, err = permsFromFlags(f.perms, f.readOnly); err != nil {
		return err
	}
	if r.rates.Upload, err = config.ParseRate(f.uploadRate); err != nil {
		return usageError{"--upload-rate: " + err.Error()}
	}
	if r.rates.Download, err = config.ParseRate(f.downloadRate); err != nil {
		return usageError{"--download-rate: " + err.Error()}
	}
	if r.maxBytes, err = config.ParseSize(f.maxBytes); err != nil {
		return usageError{"--max-bytes: " + err.Error()}
	}
	if f.maxFiles < -1 {
		return usageError{"--max-files: want a count, 0 (the server's default) or -1 (unlimited)"}
	}
	switch {
	case f.passwordHash != "":
		r.hash = f.passwordHash
	case f.passwordStdin:
		pw, err := readNewPassword(stdin, stderr, false)
		if err != nil {
			return err
		}
		if r.hash, err = password.Hash(pw); err != nil {
			return err
		}
	}
	return nil
}

// add creates the user, asking for a password on a terminal when none was
// given.
func (r *editRequest) add(stdin io.Reader, stdout, stderr io.Writer) error {
	f := r.f
	if f.root == "" && f.s3Bucket == "" {
		return usageError{"add needs --root DIR or --s3-bucket BUCKET"}
	}
	if r.hash == "" {
		if !isTerminal(stdin) {
			return usageError{"add needs a password: type it on a terminal, or give --password-stdin or --password-hash"}
		}
		pw, err := readNewPassword(stdin, stderr, true)
		if err != nil {
			return err
		}
		if r.hash, err = password.Hash(pw); err != nil {
			return err
		}
	}
	u := sqlstore.User{Name: r.name, PasswordHash: r.hash, MaxSessions: f.maxSessions,
		RequireTLS: f.tlsRequired, Disabled: f.disabled, Perms: r.perms, Rates: r.rates,
		Quota: quota.Limits{MaxBytes: r.maxBytes, MaxFiles: f.maxFiles}}
	if !r.permsGiven {
		u.Perms = ftpserver.PermAll // all, as for [[users]] in the config file
	}
	f.applyStorage(&u.Storage, r.given, r.creds)
	if err := u.Validate(); err != nil {
		return err
	}
	s, ctx, cancel, err := openUserDB(r.db, true, stderr)
	if err != nil {
		return err
	}
	defer cancel()
	defer s.Close()
	if err := s.Add(ctx, u); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added user %s (%s, %s)\n", r.name, u.Storage, u.Perms)
	return nil
}

// set changes what the flags name and leaves the rest.
func (r *editRequest) set(stdout, stderr io.Writer) error {
	f, given := r.f, r.given
	if len(given) == 0 || (len(given) == 1 && given["db"]) {
		return usageError{"set: nothing to change (see ferry user set --help)"}
	}
	s, ctx, cancel, err := openUserDB(r.db, false, stderr)
	if err != nil {
		return err
	}
	defer cancel()
	defer s.Close()
	err = s.Update(ctx, r.name, func(u *sqlstore.User) error {
		if r.hash != "" {
			u.PasswordHash = r.hash
		}
		f.applyStorage(&u.Storage, given, r.creds)
		if r.permsGiven {
			u.Perms = r.perms
		}
		if given["max-sessions"] {
			u.MaxSessions = f.maxSessions
		}
		if given["upload-rate"] {
			u.Rates.Upload = r.rates.Upload
		}
		if given["download-rate"] {
			u.Rates.Download = r.rates.Download
		}
		if given["max-bytes"] {
			u.Quota.MaxBytes = r.maxBytes
		}
		if given["max-files"] {
			u.Quota.MaxFiles = f.maxFiles
		}
		if given["tls-required"] {
			u.RequireTLS = f.tlsRequired
		}
		if given["disabled"] {
			u.Disabled = f.disabled
		}
		if given["enabled"] {
			u.Disabled = !f.enabled
		}
		return nil
	})
	if err == nil && f.rescanUsage {
		err = s.Rescan(ctx, r.name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "changed user %s\n", r.name)
	return nil
}

// s3Flags are the flags that describe S3 storage.
var s3Flags = []string{"s3-endpoint", "s3-bucket", "s3-prefix", "s3-region", "s3-credentials"}

// check reports contradictory flags.
func (f *editFlags) check(given map[string]bool) error {
	anyS3 := false
	for _, n := range s3Flags {
		anyS3 = anyS3 || given[n]
	}
	switch {
	case given["root"] && anyS3:
		return usageError{"--root and --s3-* exclude each other: a user's files are either local or in S3"}
	case given["root"] && f.root == "":
		return usageError{"--root is empty"}
	case given["s3-bucket"] && f.s3Bucket == "":
		return usageError{"--s3-bucket is empty"}
	case f.passwordStdin && f.passwordHash != "":
		return usageError{"--password-stdin and --password-hash exclude each other"}
	case f.maxSessions < 0:
		return usageError{"--max-sessions must not be negative"}
	case given["disabled"] && given["enabled"]:
		return usageError{"--disabled and --enabled exclude each other"}
	}
	if f.passwordHash != "" {
		if err := password.Check(f.passwordHash); err != nil {
			return usageError{"--password-hash: " + err.Error()}
		}
	}
	return nil
}

// applyStorage changes st as the storage flags say: --root makes it local;
// --s3-* flags make it S3, starting afresh when it was local and changing
// only the given fields when it was S3 already.
func (f *editFlags) applyStorage(st *userstore.StorageSpec, given map[string]bool, creds userstore.Credentials) {
	if given["root"] {
		*st = userstore.StorageSpec{Kind: userstore.StorageLocal, Root: f.root}
		return
	}
	anyS3 := false
	for _, n := range s3Flags {
		anyS3 = anyS3 || given[n]
	}
	if !anyS3 {
		return
	}
	if !st.IsS3() {
		*st = userstore.StorageSpec{Kind: userstore.StorageS3}
	}
	set := func(flagName string, dst *string, v string) {
		if given[flagName] {
			*dst = v
		}
	}
	set("s3-endpoint", &st.Endpoint, f.s3Endpoint)
	set("s3-bucket", &st.Bucket, f.s3Bucket)
	set("s3-prefix", &st.Prefix, f.s3Prefix)
	set("s3-region", &st.Region, f.s3Region)
	if given["s3-credentials"] {
		st.Credentials = creds
	}
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readNewPassword reads a password: on a terminal (when allowed) without
// echo and twice, else one line of stdin.
func readNewPassword(stdin io.Reader, stderr io.Writer, prompt bool) (string, error) {
	var pw string
	if f, ok := stdin.(*os.File); ok && prompt && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		pw = string(a)
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}
