// Command ferry is an FTP server, client and proxy in one binary.
//
//	ferry serve [DIR]       serve DIR (or a --config file) over FTP
//	ferry passwd            print an argon2id hash for a config file
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `ferry — FTP server, client and proxy

Usage:
  ferry serve [flags] [DIR]   run the FTP server (see ferry serve --help)
  ferry passwd                read a password and print its argon2id hash
  ferry user add|del|list|passwd|set
                              manage users in a SQLite or PostgreSQL database
  ferry admin add|del|token|revoke|list
                              manage admin console accounts and API tokens
  ferry ls URL                list a remote folder (ftp:// or ftps:// URL)
  ferry get URL [DEST]        download a file or a glob (-c resume, --segments N)
  ferry put FILE... URL       upload files (-c resume, --parallel N)
  ferry mirror SRC DST        mirror a tree up or down (--delete, --include, --segments N)
  ferry rm URL...             delete remote files or a glob (-r trees, --dir folders)
  ferry mkdir URL...          create remote folders (-p parents)
  ferry mv URL NEWPATH        rename a remote file or folder
  ferry diagnose URL          check every step of an FTP session (--json, --write-test)
  ferry quote URL COMMAND...  send raw commands ('SITE CHMOD 644 f') and print the replies
  ferry proxy [flags]         run the FTP proxy / gateway (see ferry proxy --help)
  ferry firewall [flags]      print nftables/iptables/ipf/pf rules for serve or --proxy
  ferry version               print the version
  ferry man                   print the manual page (roff)

`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes a subcommand and returns the process exit code: 0 success,
// 1 runtime failure, 2 usage error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "passwd":
		err = passwd(args[1:], stdin, stdout, stderr)
	case "user":
		err = userMain(args[1:], stdin, stdout, stderr)
	case "admin":
		err = adminMain(args[1:], stdin, stdout, stderr)
	case "ls", "get", "put", "mirror", "rm", "mkdir", "mv", "quote":
		return clientMain(args[0], args[1:], stdin, stdout, stderr)
	case "diagnose":
		return diagnoseMain(args[1:], stdin, stdout, stderr)
	case "proxy":
		err = proxyMain(args[1:], stderr)
	case "firewall":
		err = firewallMain(args[1:], stdout, stderr)
	case "man":
		err = manMain(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "ferry", version)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "ferry: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "ferry:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "ferry:", err)
		return 1
	}
}

// usageError marks a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parseInterspersed parses flags that may come before or after positional
// arguments ("ferry serve DIR --write") and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
