package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/config"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage/quota"
	"github.com/ferryftp/ferry/userstore"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

const userUsage = `Usage: ferry user COMMAND [flags] [NAME]

Manage the users of a SQL user database (see docs/users.md):

  ferry user add NAME [flags]      create a user (password from the terminal or --password-stdin)
  ferry user del NAME              delete a user
  ferry user list [--json]         list users (never shows hashes or secrets)
  ferry user passwd NAME           set a new password (terminal without echo, or one line of stdin)
  ferry user set NAME [flags]      change a user: only the flags given change

The database is --db, else $FERRY_DB, else ferry.db in the current
directory: a SQLite file path, or a postgres:// URL for PostgreSQL.
Changes apply at the next login on every server using the database.
`

// userDBDefault is the database used without --db.
func userDBDefault() string {
	if v := os.Getenv("FERRY_DB"); v != "" {
		return v
	}
	return sqlstore.DefaultDSN
}

// userMain runs `ferry user ...`.
func userMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return usageError{"user needs a command: add, del, list, passwd or set"}
	}
	switch args[0] {
	case "add", "set":
		return userAddSet(args[0], args[1:], stdin, stdout, stderr)
	case "del", "delete", "rm":
		return userDel(args[1:], stdout, stderr)
	case "list", "ls":
		return userList(args[1:], stdout, stderr)
	case "passwd", "password":
		return userPasswd(args[1:], stdin, stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, userUsage)
		return nil
	}
	fmt.Fprint(stderr, userUsage)
	return usageError{fmt.Sprintf("user: unknown command %q", args[0])}
}

// userFlagSet returns a flag set with --db.
func userFlagSet(name, usage string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("ferry user "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", userDBDefault(), "user `database`: a SQLite file or a postgres:// URL (env FERRY_DB)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ferry user %s\n\nFlags:\n", usage)
		printFlags(stderr, fs)
	}
	return fs, db
}

// oneName parses args and returns the single NAME argument.
func oneName(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usageError{fmt.Sprintf("%s takes one user name", fs.Name())}
	}
	if err := userstore.CheckName(pos[0]); err != nil {
		return "", usageError{fmt.Sprintf("user name %q: %v", pos[0], err)}
	}
	return pos[0], nil
}

// openUserDB opens the database; only add may create a SQLite file.
func openUserDB(dsn string, create bool, stderr io.Writer) (*sqlstore.Store, context.Context, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	isNew := false
	if !sqlstore.IsPostgres(dsn) {
		_, err := os.Stat(dsn)
		isNew = errors.Is(err, os.ErrNotExist)
	}
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{MustExist: !create})
	if err != nil {
		cancel()
		if errors.Is(err, sqlstore.ErrNoDatabase) {
			err = fmt.Errorf("user database %s does not exist (ferry user add creates it; --db or FERRY_DB selects another)", dsn)
		}
		return nil, nil, nil, err
	}
	if isNew {
		fmt.Fprintf(stderr, "ferry: created user database %s\n", dsn)
	}
	return s, ctx, cancel, nil
}

func userDel(args []string, stdout, stderr io.Writer) error {
	fs, db := userFlagSet("del", "del NAME", stderr)
	name, err := oneName(fs, args)
	if err != nil {
		return err
	}
	s, ctx, cancel, err := openUserDB(*db, false, stderr)
	if err != nil {
		return err
	}
	defer cancel()
	defer s.Close()
	if err := s.Delete(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted user %s\n", name)
	return nil
}

func userPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, db := userFlagSet("passwd", "passwd NAME [--password-stdin]", stderr)
	fs.Bool("password-stdin", false, "read the password from one line of standard input (the default when it is not a terminal)")
	hashFlag := fs.String("password-hash", "", "store this argon2id or bcrypt `hash` instead of reading a password")
	name, err := oneName(fs, args)
	if err != nil {
		return err
	}
	hash := *hashFlag
	if hash != "" {
		if err := password.Check(hash); err != nil {
			return usageError{"--password-hash: " + err.Error()}
		}
	}
	s, ctx, cancel, err := openUserDB(*db, false, stderr)
	if err != nil {
		return err
	}
	defer cancel()
	defer s.Close()
	if _, err := s.Get(ctx, name); err != nil { // before asking for a password
		return err
	}
	if hash == "" {
		pw, err := readNewPassword(stdin, stderr, true)
		if err != nil {
			return err
		}
		if hash, err = password.Hash(pw); err != nil {
			return err
		}
	}
	if err := s.SetPassword(ctx, name, hash); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "changed the password of user %s\n", name)
	return nil
}

// userJSON is one user in `ferry user list --json`. It has no password hash
// and no secret: credentials are only a reference.
type userJSON struct {
	Name        string      `json:"name"`
	Storage     storageJSON `json:"storage"`
	Perms       []string    `json:"perms"`
	MaxSessions int         `json:"max_sessions"`
	// UploadRate and DownloadRate are bytes per second, 0 for unlimited.
	UploadRate   int64 `json:"upload_rate"`
	DownloadRate int64 `json:"download_rate"`
	// MaxBytes and MaxFiles are the user's own quota: 0 for the server's
	// default, -1 for unlimited. UsedBytes and UsedFiles are the usage the
	// servers keep, absent until a server has scanned the storage.
	MaxBytes    int64     `json:"max_bytes"`
	MaxFiles    int64     `json:"max_files"`
	UsedBytes   *int64    `json:"used_bytes,omitempty"`
	UsedFiles   *int64    `json:"used_files,omitempty"`
	TLSRequired bool      `json:"tls_required"`
	Enabled     bool      `json:"enabled"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

type storageJSON struct {
	Type        string `json:"type"`
	Root        string `json:"root,omitempty"`
	Endpoint    string `json:"endpoint,omitempty"`
	Bucket      string `json:"bucket,omitempty"`
	Prefix      string `json:"prefix,omitempty"`
	Region      string `json:"region,omitempty"`
	Credentials string `json:"credentials,omitempty"`
}

func userList(args []string, stdout, stderr io.Writer) error {
	fs, db := userFlagSet("list", "list [--json]", stderr)
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"list takes no arguments"}
	}
	s, ctx, cancel, err := openUserDB(*db, false, stderr)
	if err != nil {
		return err
	}
	defer cancel()
	defer s.Close()
	users, err := s.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]userJSON, 0, len(users))
		for _, u := range users {
			st := u.Storage
			perms := []string{}
			if p := u.Perms.String(); p != "" {
				perms = strings.Split(p, ",")
			}
			j := userJSON{
				Name: u.Name,
				Storage: storageJSON{Type: st.Kind, Root: st.Root, Endpoint: st.Endpoint, Bucket: st.Bucket,
					Prefix: st.Prefix, Region: st.Region, Credentials: st.Credentials.String()},
				Perms: perms, MaxSessions: u.MaxSessions, TLSRequired: u.RequireTLS, Enabled: !u.Disabled,
				UploadRate: u.Rates.Upload, DownloadRate: u.Rates.Download,
				Created: u.Created, Updated: u.Updated,
				MaxBytes: u.Quota.MaxBytes, MaxFiles: u.Quota.MaxFiles,
			}
			if u.UsageKnown {
				j.UsedBytes, j.UsedFiles = &u.Usage.Bytes, &u.Usage.Files
			}
			out = append(out, j)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTORAGE\tPERMS\tSESSIONS\tRATE UP/DOWN\tQUOTA\tUSED\tTLS\tSTATUS\tUPDATED")
	for _, u := range users {
		sessions, tls, status := "-", "-", "enabled"
		if u.MaxSessions > 0 {
			sessions = fmt.Sprint(u.MaxSessions)
		}
		rates := "-"
		if u.Rates != (ftpserver.Rates{}) {
			rates = config.FormatRate(u.Rates.Upload) + " / " + config.FormatRate(u.Rates.Download)
		}
		if u.RequireTLS {
			tls = "required"
		}
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Storage, u.Perms, sessions, rates,
			quotaText(u.Quota), usageText(u), tls, status,
			u.Updated.Format(time.RFC3339))
	}
	return tw.Flush()
}

// quotaText shows a user's own quota in `ferry user list`: "10GiB/10000
// files", "default" for 0 and "unlimited" for -1 in either part, "-"
// when both are the default.
func quotaText(q quota.Limits) string {
	if q == (quota.Limits{}) {
		return "-"
	}
	bytes, files := "default", "default"
	if q.MaxBytes != 0 {
		bytes = config.FormatSize(q.MaxBytes)
	}
	switch {
	case q.MaxFiles < 0:
		files = "unlimited"
	case q.MaxFiles > 0:
		files = fmt.Sprint(q.MaxFiles)
	}
	return bytes + "/" + files + " files"
}

// usageText shows the usage the servers keep, "-" before the first scan.
func usageText(u sqlstore.User) string {
	if !u.UsageKnown {
		return "-"
	}
	return fmt.Sprintf("%dB/%d files", u.Usage.Bytes, u.Usage.Files)
}

// resolveRoot makes a --root absolute and warns when it does not exist
// here (it may exist only on the server nodes).
func resolveRoot(root string, stderr io.Writer) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if err := userstore.CheckRoot(abs); err != nil {
		fmt.Fprintf(stderr, "ferry: warning: %v on this machine; logins fail until it exists on the server\n", err)
	}
	return abs, nil
}

// permsFromFlags turns --perms/--read-only into Perms; ok is false when
// neither was given.
func permsFromFlags(perms string, readOnly bool) (p ftpserver.Perms, ok bool, err error) {
	switch {
	case perms != "" && readOnly:
		return 0, false, usageError{"--perms and --read-only exclude each other"}
	case readOnly:
		return ftpserver.PermReadOnly, true, nil
	case perms != "":
		p, err := ftpserver.ParsePerms(strings.Split(perms, ","))
		if err != nil {
			return 0, false, usageError{"--perms: " + err.Error()}
		}
		if p == 0 {
			return 0, false, usageError{"--perms: no permission given"}
		}
		return p, true, nil
	}
	return 0, false, nil
}
