package ftpserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/storage"
)

// replyFor maps an error from a backend or an authenticator to the reply the
// client sees. It is the only place that does so: backend error text is never
// sent to clients (it may name host paths); the caller logs it.
func replyFor(err error) *ftp.Error {
	// storage's sentinels come first: they also match the io/fs errors.
	var fe *ftp.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errAuthUnavailable): // first: an authenticator's own text, even an *ftp.Error's, is never shown
		return &ftp.Error{Code: ftp.CodeNotAvailable, Message: "Login temporarily unavailable; try again later."}
	case errors.As(err, &fe):
		return fe
	case errors.Is(err, errors.ErrUnsupported):
		return &ftp.Error{Code: ftp.CodeNotImplemented, Message: "Not supported by this storage."}
	case errors.Is(err, storage.ErrNotEmpty):
		return &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "Directory not empty."}
	case errors.Is(err, storage.ErrIsDir):
		return &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "Is a directory."}
	case errors.Is(err, storage.ErrNotDir):
		return &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "Not a directory."}
	case errors.Is(err, storage.ErrBusy):
		return &ftp.Error{Code: ftp.CodeFileBusy, Message: "File busy: another upload to it is running."}
	case errors.Is(err, fs.ErrNotExist):
		return &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "No such file or directory."}
	case errors.Is(err, fs.ErrPermission):
		return &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "Permission denied."}
	case errors.Is(err, fs.ErrExist):
		return &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "File exists."}
	case errors.Is(err, fs.ErrInvalid):
		return &ftp.Error{Code: ftp.CodeBadFileName, Message: "File name not allowed."}
	case errors.Is(err, syscall.ENOSPC):
		return &ftp.Error{Code: ftp.CodeInsufficientStorage, Message: "Insufficient storage space."}
	case errors.Is(err, syscall.EDQUOT):
		return &ftp.Error{Code: ftp.CodeExceededStorage, Message: "Storage quota exceeded."}
	case errors.Is(err, syscall.ENAMETOOLONG):
		return &ftp.Error{Code: ftp.CodeBadFileName, Message: "File name too long."}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &ftp.Error{Code: ftp.CodeLocalError, Message: "Operation cancelled."}
	default:
		return &ftp.Error{Code: ftp.CodeLocalError, Message: "Local error in processing."}
	}
}

// errCloseSession ends the session without a further reply: a handler
// returns it when it has said goodbye itself (QUIT) or when the control
// connection can no longer be answered (a failed TLS handshake).
var errCloseSession = errors.New("ftpserver: session closed")

// ftpErr returns the *ftp.Error a handler returns for dispatch to reply
// code and msg.
func ftpErr(code int, msg string) error {
	return &ftp.Error{Code: code, Message: msg}
}

// errAuthUnavailable marks an authenticator's failure other than
// ErrAuthFailed (a database down, a timeout): replyFor answers it with 421,
// which ends the session.
var errAuthUnavailable = errors.New("authenticator failed")

// authUnavailable wraps an authenticator's failure in errAuthUnavailable.
func authUnavailable(err error) error {
	return fmt.Errorf("%w: %w", errAuthUnavailable, err)
}
