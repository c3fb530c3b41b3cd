package ftp

import "strings"

// Reply is a complete server reply: a three-digit code and one or more lines
// of text with the code prefixes ("ddd " / "ddd-") removed.
type Reply struct {
	Code  int
	Lines []string
}

// Message returns the reply lines joined by "\n".
func (r Reply) Message() string {
	return strings.Join(r.Lines, "\n")
}

// Err returns nil for a 1xx, 2xx or 3xx reply and an *Error carrying the code
// and message otherwise.
func (r Reply) Err() error {
	if r.Code >= 100 && r.Code < 400 {
		return nil
	}
	return &Error{Code: r.Code, Message: r.Message()}
}

// Positive reports whether the reply is a positive preliminary, completion
// or intermediate reply (1xx, 2xx or 3xx).
func (r Reply) Positive() bool {
	return r.Code >= 100 && r.Code < 400
}
