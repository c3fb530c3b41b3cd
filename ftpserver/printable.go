package ftpserver

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// hasControl reports whether s holds a control character (C0, DEL or C1).
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// printable renders a client's argument for echoing in a reply: control
// characters become '?' and bytes that are not UTF-8 become U+FFFD, so a
// reply never carries raw bytes the client sent (NUL, escape sequences).
func printable(s string) string {
	if utf8.ValidString(s) && !hasControl(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
