package ftp

import "strings"

// MaxVerbLen is the longest verb ParseCommand accepts. Real verbs have three
// or four letters; longer runs of letters are parsed so that the server can
// answer "500 unknown command", up to this cap.
const MaxVerbLen = 16

// Command is one parsed command line from the control connection.
type Command struct {
	Verb string // upper-cased ASCII letters, e.g. "RETR"
	Arg  string // everything after the separating space, verbatim (may end with spaces)
}

// ParseCommand splits a command line (without its CRLF) into verb and
// argument, following RFC 959 section 5.3:
//
//   - the verb is the leading run of ASCII letters, upper-cased; it must be
//     1 to MaxVerbLen letters long and be followed by the end of the line or
//     a space;
//   - after the verb, a run of spaces is skipped and the rest of the line is
//     the argument, kept verbatim (inner and trailing spaces included, as
//     file names may end with spaces).
//
// Whether the verb is known is the caller's business. Errors are *Error with
// CodeSyntaxError (500).
func ParseCommand(line string) (Command, error) {
	i := 0
	for i < len(line) && isASCIILetter(line[i]) {
		i++
	}
	switch {
	case i == 0:
		return Command{}, &Error{Code: CodeSyntaxError, Message: "Syntax error, command unrecognized."}
	case i > MaxVerbLen:
		return Command{}, &Error{Code: CodeSyntaxError, Message: "Syntax error, command too long."}
	case i < len(line) && line[i] != ' ':
		return Command{}, &Error{Code: CodeSyntaxError, Message: "Syntax error, command unrecognized."}
	}
	c := Command{Verb: upperASCII(line[:i])}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	c.Arg = line[i:]
	return c, nil
}

// String renders the command line for logs, with the argument of PASS and
// ACCT replaced by "****".
func (c Command) String() string {
	if c.Arg == "" {
		return c.Verb
	}
	if c.Verb == "PASS" || c.Verb == "ACCT" {
		return c.Verb + " ****"
	}
	return c.Verb + " " + c.Arg
}

func isASCIILetter(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// upperASCII upper-cases a string of ASCII letters without allocating when
// it already is upper case (the common case).
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}
