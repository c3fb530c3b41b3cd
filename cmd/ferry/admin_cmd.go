package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/ferryftp/ferry/internal/console"
	"github.com/ferryftp/ferry/password"
)

const adminUsage = `Usage: ferry admin COMMAND [--accounts FILE] ...

Manage the accounts of the admin console and API (docs/admin.md). They live
in a TOML file (--accounts, or $FERRY_ADMIN_ACCOUNTS) that ferry serve reads
at every login: changes apply at once, without a reload.

Commands:
  add NAME                 add an admin, or set its password (read from the
                           terminal without echo, or one line of stdin)
  del NAME                 remove an admin and its tokens
  token NAME --admin A [--scope read|full]
                           make an API token for admin A; it is printed once
                           and only its SHA-256 is stored
  revoke NAME              delete the token NAME
  list                     list admins and tokens
`

func adminMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return usageError{"admin needs a command: add, del, token, revoke or list"}
	}
	cmd := args[0]
	fs := flag.NewFlagSet("ferry admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage, "\nFlags:\n"); printFlags(stderr, fs) }
	path := fs.String("accounts", os.Getenv("FERRY_ADMIN_ACCOUNTS"), "admin accounts `file` (env FERRY_ADMIN_ACCOUNTS)")
	owner := fs.String("admin", "", "token: the admin `name` the token acts for")
	scope := fs.String("scope", console.ScopeRead, "token: `scope`, read (GET only) or full")
	if cmd == "help" || cmd == "-h" || cmd == "--help" || cmd == "-help" {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, adminUsage, "\nFlags:\n")
		printFlags(stdout, fs)
		return nil
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if *path == "" {
		return usageError{"admin: name the accounts file with --accounts FILE or $FERRY_ADMIN_ACCOUNTS"}
	}
	want := 1
	if cmd == "list" {
		want = 0
	}
	if len(pos) != want {
		return usageError{fmt.Sprintf("admin %s takes %d argument(s)", cmd, want)}
	}
	acc, err := console.NewAccountsFile(*path).Load()
	if err != nil {
		return err
	}
	switch cmd {
	case "list":
		for _, u := range acc.Users {
			fmt.Fprintf(stdout, "admin %s\n", u.Name)
		}
		for _, t := range acc.Tokens {
			fmt.Fprintf(stdout, "token %s admin=%s scope=%s\n", t.Name, t.Admin, t.Scope)
		}
		return nil
	case "add":
		pw, err := readNewPassword(stdin, stderr, true)
		if err != nil {
			return err
		}
		h, err := password.Hash(pw)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(acc.Users, func(u console.User) bool { return u.Name == pos[0] })
		if i >= 0 {
			acc.Users[i].Password = h
		} else {
			acc.Users = append(acc.Users, console.User{Name: pos[0], Password: h})
		}
	case "del":
		n := len(acc.Users)
		acc.Users = slices.DeleteFunc(acc.Users, func(u console.User) bool { return u.Name == pos[0] })
		if len(acc.Users) == n {
			return fmt.Errorf("no admin %q", pos[0])
		}
		acc.Tokens = slices.DeleteFunc(acc.Tokens, func(t console.Token) bool { return t.Admin == pos[0] })
	case "token":
		if slices.ContainsFunc(acc.Tokens, func(t console.Token) bool { return t.Name == pos[0] }) {
			return fmt.Errorf("a token %q exists; revoke it first", pos[0])
		}
		tok, sum := console.NewToken()
		acc.Tokens = append(acc.Tokens, console.Token{Name: pos[0], Admin: *owner, Scope: *scope, SHA256: sum})
		if err := acc.Validate(); err != nil {
			return err
		}
		if err := writeAccounts(*path, acc); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "The token (shown once; only its SHA-256 is stored):")
		fmt.Fprintln(stdout, tok)
		return nil
	case "revoke":
		n := len(acc.Tokens)
		acc.Tokens = slices.DeleteFunc(acc.Tokens, func(t console.Token) bool { return t.Name == pos[0] })
		if len(acc.Tokens) == n {
			return fmt.Errorf("no token %q", pos[0])
		}
	default:
		fmt.Fprint(stderr, adminUsage)
		return usageError{fmt.Sprintf("admin: unknown command %q", cmd)}
	}
	if err := acc.Validate(); err != nil {
		return err
	}
	return writeAccounts(*path, acc)
}

// writeAccounts replaces the accounts file atomically, readable by its
// owner only.
func writeAccounts(path string, acc *console.Accounts) error {
	data, err := acc.Encode()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".admin-accounts-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return errors.Join(errors.New("admin accounts: cannot replace the file"), err)
	}
	return nil
}
