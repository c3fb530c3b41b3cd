package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// netrcEntry is one machine (or default, with machine "") of a netrc file.
type netrcEntry struct{ machine, login, password string }

// netrcLookup finds the login and password for host (and user, when
// given) in $NETRC or ~/.netrc; "default" entries match any host. A netrc
// that holds passwords and that others may read or write is refused, as
// ftp(1) does.
func netrcLookup(host, user string) (login, password string, ok bool, err error) {
	name := os.Getenv("NETRC")
	if name == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", "", false, nil
		}
		name = filepath.Join(home, ".netrc")
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return "", "", false, nil
	}
	entries := parseNetrc(string(data))
	for _, e := range entries {
		if e.password == "" {
			continue
		}
		if st, err := os.Stat(name); err == nil && st.Mode().Perm()&0o077 != 0 {
			return "", "", false, usageError{fmt.Sprintf(
				"%s holds passwords but others can read it (mode %04o); run: chmod 600 %s", name, st.Mode().Perm(), name)}
		}
		break
	}
	for _, e := range entries {
		if (e.machine == host || e.machine == "") && (user == "" || e.login == user) && e.password != "" {
			return e.login, e.password, true, nil
		}
	}
	return "", "", false, nil
}

// parseNetrc reads the netrc format that ftp(1), curl and lftp read:
// whitespace-separated tokens (machine, default, login, password, account,
// macdef); a token may be double-quoted, with backslash escapes, to hold
// spaces; a macdef body runs to the next empty line and is skipped. A
// "default" entry, which matches any host, is kept last.
func parseNetrc(s string) []netrcEntry {
	var entries []netrcEntry
	var def *netrcEntry
	var cur *netrcEntry
	i := 0
	next := func() (string, bool) {
		for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
			i++
		}
		if i >= len(s) {
			return "", false
		}
		var b strings.Builder
		if s[i] == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					default:
						b.WriteByte(s[i])
					}
				} else {
					b.WriteByte(s[i])
				}
				i++
			}
			i++ // closing quote
			return b.String(), true
		}
		for i < len(s) && !strings.ContainsRune(" \t\r\n", rune(s[i])) {
			b.WriteByte(s[i])
			i++
		}
		return b.String(), true
	}
	for {
		tok, ok := next()
		if !ok {
			break
		}
		switch tok {
		case "machine":
			m, _ := next()
			entries = append(entries, netrcEntry{machine: m})
			cur = &entries[len(entries)-1]
		case "default":
			def = &netrcEntry{}
			cur = def
		case "login", "password", "account":
			v, _ := next()
			if cur == nil {
				continue
			}
			switch tok {
			case "login":
				cur.login = v
			case "password":
				cur.password = v
			}
		case "macdef":
			next() // the macro's name
			// The body starts on the next line and ends at an empty line.
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
			if j := strings.Index(s[i:], "\n\n"); j >= 0 {
				i += j + 2
			} else if strings.HasPrefix(s[i:], "\n") {
				i++
			} else {
				i = len(s)
			}
			cur = nil
		}
	}
	if def != nil {
		entries = append(entries, *def)
	}
	return entries
}
