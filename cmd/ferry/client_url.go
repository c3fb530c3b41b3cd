package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"golang.org/x/term"
)

// remoteURL is a parsed ftp:// or ftps:// URL.
type remoteURL struct {
	addr        string // host:port
	host        string
	user        string
	password    string
	hasPassword bool
	path        string // "" is the login folder; "/x" is absolute
	implicitTLS bool
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "ftp://") || strings.HasPrefix(s, "ftps://")
}

// parseRemoteURL parses ftp://[user[:password]@]host[:port]/path. As in
// RFC 1738 the path is relative to the login folder; an absolute path starts
// with %2F (ftp://host/%2Fetc/motd).
func parseRemoteURL(raw string) (*remoteURL, error) {
	if !isURL(raw) {
		return nil, usageError{fmt.Sprintf("%q is not an ftp:// or ftps:// URL", raw)}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	if u.Hostname() == "" {
		return nil, usageError{fmt.Sprintf("%q has no host", raw)}
	}
	r := &remoteURL{host: u.Hostname(), implicitTLS: u.Scheme == "ftps"}
	port := u.Port()
	if port == "" {
		port = "21"
		if r.implicitTLS {
			port = "990"
		}
	}
	r.addr = net.JoinHostPort(r.host, port)
	if u.User != nil {
		r.user = u.User.Username()
		r.password, r.hasPassword = u.User.Password()
	}
	// ftp URLs have no query or fragment: a "?" (a glob character) or a
	// "#" belongs to the path.
	p := u.Path
	if u.RawQuery != "" || u.ForceQuery {
		q, _ := url.PathUnescape(u.RawQuery)
		p += "?" + q
	}
	if u.Fragment != "" {
		p += "#" + u.Fragment
	}
	r.path = strings.TrimPrefix(p, "/")
	return r, nil
}

// resolvePassword fills in the user and password: from the URL, then
// $FERRY_PASSWORD, then ~/.netrc (or $NETRC), then a prompt on the terminal.
// Without a user anywhere the login is anonymous.
func (r *remoteURL) resolvePassword(stdin io.Reader, stderr io.Writer) error {
	if r.hasPassword {
		return nil
	}
	if pw, ok := os.LookupEnv("FERRY_PASSWORD"); ok {
		r.password, r.hasPassword = pw, true
		if r.user == "" {
			r.user = os.Getenv("FERRY_USER")
		}
		return nil
	}
	login, npw, ok, err := netrcLookup(r.host, r.user)
	if err != nil {
		return err
	}
	if ok {
		if r.user == "" {
			r.user = login
		}
		r.password, r.hasPassword = npw, true
		return nil
	}
	if r.user == "" || r.user == "anonymous" || r.user == "ftp" {
		return nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usageError{fmt.Sprintf("no password for %s@%s: put it in the URL, $FERRY_PASSWORD or ~/.netrc", r.user, r.host)}
	}
	fmt.Fprintf(stderr, "Password for %s@%s: ", r.user, r.host)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	r.password, r.hasPassword = string(pw), true
	return nil
}
