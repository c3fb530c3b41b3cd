package ftp

import (
	"errors"
	"fmt"
	"strconv"
)

// Error is an FTP reply with a 4xx or 5xx code, used in both directions:
// the server turns it into a reply, and the client returns it when the
// server answers with a negative reply.
type Error struct {
	Code    int    // reply code, e.g. CodeFileUnavailable
	Message string // reply text without the code; may contain "\n" for multi-line replies
}

// Error returns the code and message as they would appear on the wire,
// e.g. "550 No such file".
func (e *Error) Error() string {
	return strconv.Itoa(e.Code) + " " + e.Message
}

// Errorf returns an *Error with the given code and a message formatted with
// fmt.Sprintf.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrBadReply is wrapped by every error about a reply from the peer that
// cannot be understood: a malformed reply line (see internal/wire) or a 227
// or 229 text without a usable address. It is a protocol error, not an
// *Error: the peer did not answer with a negative reply.
var ErrBadReply = errors.New("ftp: malformed reply")

// ErrNotIPv4 is returned by FormatPORT and FormatPASVReply for an address
// that is neither IPv4 nor IPv4-mapped IPv6; use EPRT and EPSV instead.
var ErrNotIPv4 = errors.New("ftp: address is not IPv4")
