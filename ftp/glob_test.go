package ftp

import (
	"strings"
	"testing"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		in      string
		want    bool
	}{
		{"a literal matches itself", "file.txt", "file.txt", true},
		{"a literal does not match another name", "file.txt", "file.txf", false},
		{"a star matches any suffix", "*.txt", "notes.txt", true},
		{"a star matches the empty string", "*.txt", ".txt", true},
		{"a star does not excuse a wrong suffix", "*.txt", "notes.txt.gz", false},
		{"a lone star matches everything", "*", "anything at all", true},
		{"a lone star matches the empty name", "*", "", true},
		{"an empty pattern matches only the empty name", "", "", true},
		{"an empty pattern does not match a name", "", "a", false},
		{"several stars are collapsed", "a**b***c", "aXbYc", true},
		{"a question mark matches one character", "file?.txt", "file1.txt", true},
		{"a question mark needs a character", "file?.txt", "file.txt", false},
		{"a question mark matches one UTF-8 character", "gr??e", "grüße", true},
		{"a star backtracks to find the last match", "*a*b", "xaxxbxab", true},
		{"a star in the middle matches across", "a*z", "abcdz", true},
		{"a class matches a member", "[abc].txt", "b.txt", true},
		{"a class rejects a non-member", "[abc].txt", "d.txt", false},
		{"a range matches inside it", "log[0-9]", "log7", true},
		{"a range rejects outside it", "log[0-9]", "logx", false},
		{"a negated class with ! rejects a member", "[!a-c]x", "bx", false},
		{"a negated class with ^ accepts a non-member", "[^a-c]x", "dx", true},
		{"a closing bracket first is a member", "[]a]", "]", true},
		{"a closing bracket first in a negated class is a member", "[!]a]", "]", false},
		{"a dash at the end of a class is a member", "[a-]", "-", true},
		{"a dash at the start of a class is a member", "[-a]", "-", true},
		{"an escaped closing bracket is a member", `[\]]`, "]", true},
		{"a reversed range matches nothing", "[z-a]", "m", false},
		{"a UTF-8 range matches", "[α-ω]", "λ", true},
		{"an unterminated class matches a literal bracket", "[abc", "[abc", true},
		{"an unterminated class does not act as a class", "[abc", "a", false},
		{"an escaped star is literal", `a\*`, "a*", true},
		{"an escaped star does not match anything else", `a\*`, "ab", false},
		{"an escaped question mark is literal", `\?`, "?", true},
		{"an escaped bracket is literal", `\[a]`, "[a]", true},
		{"a trailing backslash matches itself", `a\`, `a\`, true},
		{"classes combine with stars", "*.[ch]", "main.c", true},
		{"case matters", "*.TXT", "a.txt", false},
		{"a star matches a slash", "a*b", "a/b", true},
		{"invalid UTF-8 counts byte by byte", "?\xff", "\xfe\xff", true},
		{"a pathological pattern fails fast", strings.Repeat("*a", 50) + "b", strings.Repeat("a", 4000), false},
		{"a pathological pattern can still match", strings.Repeat("*a", 50) + "b", strings.Repeat("a", 4000) + "b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchGlob(tt.pattern, tt.in); got != tt.want {
				t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pattern, tt.in, got, tt.want)
			}
			if len(tt.pattern) < 20 && len(tt.in) < 20 {
				if ref := refMatch(tt.pattern, tt.in); ref != tt.want {
					t.Errorf("refMatch(%q, %q) = %v, want %v", tt.pattern, tt.in, ref, tt.want)
				}
			}
		})
	}
}

func TestHasGlob(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"a plain name has no glob", "file.txt", false},
		{"a star is a glob", "*.txt", true},
		{"a question mark is a glob", "a?", true},
		{"a complete class is a glob", "log[0-9]", true},
		{"an unterminated bracket is not a glob", "log[0-9", false},
		{"an escaped star is not a glob", `a\*`, false},
		{"an escaped bracket is not a glob", `\[a]`, false},
		{"a name of brackets only is a glob", "[]]", true},
		{"an empty string is not a glob", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HasGlob(tt.in); got != tt.want {
				t.Errorf("HasGlob(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// refMatch is a deliberately simple recursive reference matcher, written
// independently of MatchGlob, used by the tests and the fuzz target. It is
// exponential in the number of stars, so use it on short inputs only.
func refMatch(p, s string) bool {
	if p == "" {
		return s == ""
	}
	if p[0] == '*' {
		for i := 0; ; {
			if refMatch(p[1:], s[i:]) {
				return true
			}
			if i == len(s) {
				return false
			}
			_, w := decodeRune(s[i:])
			i += w
		}
	}
	if s == "" {
		return false
	}
	c, cw := decodeRune(s)
	switch p[0] {
	case '?':
		return refMatch(p[1:], s[cw:])
	case '\\':
		if len(p) == 1 {
			return s[0] == '\\' && refMatch("", s[1:])
		}
		r, w := decodeRune(p[1:])
		return r == c && refMatch(p[1+w:], s[cw:])
	case '[':
		if ok, rest, valid := refClass(p[1:], c); valid {
			return ok && refMatch(rest, s[cw:])
		}
		return c == '[' && refMatch(p[1:], s[cw:])
	}
	r, w := decodeRune(p)
	return r == c && refMatch(p[w:], s[cw:])
}

// refClass parses a class body (after "[") into a list of ranges and tests c.
func refClass(body string, c rune) (ok bool, rest string, valid bool) {
	neg := strings.HasPrefix(body, "!") || strings.HasPrefix(body, "^")
	if neg {
		body = body[1:]
	}
	var chars []rune // unescaped characters, with '-' markers kept separately
	var isDash []bool
	i := 0
	for {
		if i >= len(body) {
			return false, "", false
		}
		if body[i] == ']' && len(chars) > 0 {
			break
		}
		if body[i] == '\\' {
			if i+1 >= len(body) {
				return false, "", false
			}
			r, w := decodeRune(body[i+1:])
			chars, isDash = append(chars, r), append(isDash, false)
			i += 1 + w
			continue
		}
		r, w := decodeRune(body[i:])
		chars, isDash = append(chars, r), append(isDash, r == '-')
		i += w
	}
	in := false
	for j := 0; j < len(chars); j++ {
		if j+2 < len(chars) && isDash[j+1] {
			if chars[j] <= c && c <= chars[j+2] {
				in = true
			}
			j += 2
			continue
		}
		if chars[j] == c {
			in = true
		}
	}
	return in != neg, body[i+1:], true
}

func BenchmarkMatchGlobPathological(b *testing.B) {
	pattern := strings.Repeat("*a", 50) + "b"
	name := strings.Repeat("a", 4000)
	for b.Loop() {
		if MatchGlob(pattern, name) {
			b.Fatal("unexpected match")
		}
	}
}

func TestMatchGlobInvalidUTF8(t *testing.T) {
	t.Run("an invalid byte matches only itself", func(t *testing.T) {
		if MatchGlob("\xff", "\xfe") || !MatchGlob("\xff", "\xff") {
			t.Error("invalid bytes are confused")
		}
	})
	t.Run("an invalid byte in a class matches only itself", func(t *testing.T) {
		if MatchGlob("[\xff]", "\xfe") || !MatchGlob("[\xff]", "\xff") {
			t.Error("invalid bytes in classes are confused")
		}
	})
}
