package s3fs

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
)

// errReserved reports a name that s3fs keeps for partial uploads.
var errReserved = &reservedError{}

type reservedError struct{}

func (*reservedError) Error() string { return "name reserved for partial uploads" }

// Is makes a reserved name match fs.ErrPermission.
func (*reservedError) Is(target error) bool { return target == fs.ErrPermission }

// partPrefix starts the base name of the hidden object that keeps an
// aborted upload's data for a resume.
const partPrefix = ".ferry-part."

// reserved reports whether an element of name is reserved for partial
// uploads.
func reserved(name string) bool {
	if !strings.Contains(name, partPrefix) {
		return false
	}
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, partPrefix) {
			return true
		}
	}
	return false
}

// s3Error is an error from the object store that matches no io/fs error.
// Its text holds the S3 error code and message, or the network error, but
// never the request URL or credentials.
type s3Error struct {
	msg string
	err error // for errors.Is on network errors; nil for S3 replies
}

func (e *s3Error) Error() string { return "s3: " + e.msg }
func (e *s3Error) Unwrap() error { return e.err }

// mapErr turns an error from minio-go into an *fs.PathError for op and
// name whose Err matches the io/fs error that fits, or the context's error
// when ctx is done.
func (f *FS) mapErr(ctx context.Context, op, name string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return &fs.PathError{Op: op, Path: name, Err: cerr}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: classify(err)}
}

// classify maps an S3 error response or a transport error to an error
// without secrets.
func classify(err error) error {
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey", "NotFound", "NoSuchUpload":
		return fs.ErrNotExist
	case "NoSuchBucket":
		return &kindError{"bucket does not exist", fs.ErrNotExist}
	case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
		return &kindError{"access denied (" + resp.Code + ")", fs.ErrPermission}
	case "PreconditionFailed":
		return fs.ErrExist
	}
	switch {
	case resp.StatusCode == 404 && (resp.Code == "" || strings.HasPrefix(resp.Code, "NoSuch")):
		// An unknown code with 404 is not a missing object: versitygw
		// answers an unknown access key with 404 XAdminUserNotFound.
		return fs.ErrNotExist
	case resp.StatusCode == 403:
		return &kindError{"access denied", fs.ErrPermission}
	}
	if resp.Code != "" {
		return &s3Error{msg: resp.Code + ": " + resp.Message}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &s3Error{msg: "request failed: " + ue.Err.Error(), err: ue.Err}
	}
	return &s3Error{msg: err.Error()}
}

// kindError is an error with its own text that matches a general error.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string        { return "s3: " + e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
