package ftp

import "unicode/utf8"

// MatchGlob reports whether name matches the shell pattern, as used by
// LIST, NLST and MLSD arguments such as "*.txt":
//
//   - "*" matches any sequence of characters (including none, and "/");
//   - "?" matches any one character;
//   - "[abc]", "[a-z]" match one character from the class; "[!a-z]" and
//     "[^a-z]" match one character not in it; a "]" right after "[", "[!" or
//     "[^" is a member, and so is a "-" at the start or end of the class;
//   - "\" escapes the next character, inside classes too.
//
// An unterminated "[" and a trailing "\" match themselves. Characters are
// UTF-8 code points; an invalid byte counts as one character that matches
// only itself.
//
// Matching is iterative and takes O(len(pattern)*len(name)) time at worst:
// on a mismatch it only ever backtracks to the most recent "*".
func MatchGlob(pattern, name string) bool {
	p, n := 0, 0
	starP, starN := -1, 0 // pattern index after the last '*', and the name index it is tried at
	for {
		if p < len(pattern) && pattern[p] == '*' {
			for p < len(pattern) && pattern[p] == '*' {
				p++
			}
			if p == len(pattern) {
				return true // a trailing star matches the rest
			}
			starP, starN = p, n
			continue
		}
		if n == len(name) {
			return p == len(pattern)
		}
		if p < len(pattern) {
			c, cw := decodeRune(name[n:])
			if ok, pw := matchOne(pattern[p:], c); ok {
				p += pw
				n += cw
				continue
			}
		}
		// Mismatch: let the last star swallow one more character.
		if starP < 0 {
			return false
		}
		_, cw := decodeRune(name[starN:])
		starN += cw
		p, n = starP, starN
	}
}

// matchOne matches the single-character token at the start of pattern
// (not "*") against c and returns whether it matched and the token's width.
func matchOne(pattern string, c rune) (ok bool, width int) {
	switch pattern[0] {
	case '?':
		return true, 1
	case '[':
		if matched, w, valid := matchClass(pattern, c); valid {
			return matched, w
		}
		return c == '[', 1
	case '\\':
		if len(pattern) > 1 {
			r, w := decodeRune(pattern[1:])
			return r == c, 1 + w
		}
		return c == '\\', 1
	}
	r, w := decodeRune(pattern)
	return r == c, w
}

// matchClass matches the bracket expression at the start of pattern against
// c. valid is false when the class has no closing "]".
func matchClass(pattern string, c rune) (matched bool, width int, valid bool) {
	i := 1
	negate := false
	if i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^') {
		negate = true
		i++
	}
	first := true
	for {
		if i >= len(pattern) {
			return false, 0, false
		}
		if pattern[i] == ']' && !first {
			return matched != negate, i + 1, true
		}
		first = false
		lo, w := classChar(pattern, i)
		if w == 0 {
			return false, 0, false
		}
		i += w
		hi := lo
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			hi, w = classChar(pattern, i+1)
			if w == 0 {
				return false, 0, false
			}
			i += 1 + w
		}
		if lo <= c && c <= hi {
			matched = true
		}
	}
}

// classChar decodes the possibly escaped character at pattern[i]. It returns
// width 0 when a "\" ends the pattern.
func classChar(pattern string, i int) (rune, int) {
	if pattern[i] == '\\' {
		if i+1 >= len(pattern) {
			return 0, 0
		}
		r, w := decodeRune(pattern[i+1:])
		return r, 1 + w
	}
	return decodeRune(pattern[i:])
}

// HasGlob reports whether s contains an unescaped "*" or "?" or a complete
// "[...]" class, that is whether MatchGlob(s, name) can match anything but
// s itself (with escapes removed). Servers usually look the argument up as a
// literal name first and glob only when that fails and HasGlob is true.
func HasGlob(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		case '[':
			if _, _, valid := matchClass(s[i:], 0); valid {
				return true
			}
		}
	}
	return false
}

// decodeRune decodes the first UTF-8 character of s. An invalid byte b is
// returned as the non-Unicode value 0x110000+b, so that it matches only
// itself rather than every other invalid byte.
func decodeRune(s string) (rune, int) {
	r, w := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && w == 1 {
		return utf8.MaxRune + 1 + rune(s[0]), 1
	}
	return r, w
}
