package ftpserver

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// UploadInfo describes a complete upload for Options.UploadCheck.
type UploadInfo struct {
	EventInfo
	Verb     string // STOR, APPE or STOU
	Path     string // the virtual path
	Bytes    int64  // bytes received by this transfer
	Duration time.Duration
	// SHA256 is the hex digest of the data when the server computed it
	// (see TransferEvent.SHA256), else "".
	SHA256 string
}

// defaultUploadCheckTimeout bounds Options.UploadCheck when
// Options.UploadCheckTimeout is not set.
const defaultUploadCheckTimeout = time.Minute

// errRejected is the reply to an upload that Options.UploadCheck refused.
var errRejected = &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "Upload rejected by the server's check; the file was removed."}

// checkUpload runs Options.UploadCheck on an upload that completed (ok):
// after its data was published (and made durable, when the server does),
// before the final reply. When the check fails, or does not answer within
// UploadCheckTimeout, the file is removed and errRejected is returned, so
// the client gets 550 instead of 226. It returns nil for anything that is
// not a completed upload, or when no check is configured.
func (s *session) checkUpload(ctx context.Context, x *transfer, n int64, ok bool) error {
	check := s.opts.UploadCheck
	if !ok || check == nil || (x.verb != "STOR" && x.verb != "APPE" && x.verb != "STOU") {
		return nil
	}
	timeout := s.opts.UploadCheckTimeout
	if timeout <= 0 {
		timeout = defaultUploadCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	err := check(cctx, UploadInfo{EventInfo: s.info(x.user), Verb: x.verb, Path: x.path, Bytes: n,
		Duration: time.Since(x.start), SHA256: x.sha256()})
	cancel()
	if err == nil {
		return nil
	}
	name := fsName(x.path)
	s.log.Warn("upload rejected by the check; removing it", "path", x.path, "err", err)
	if rerr := s.ident.FS.Remove(context.WithoutCancel(ctx), name); rerr != nil {
		s.log.Error("cannot remove a rejected upload", "path", x.path, "err", rerr)
	}
	s.hashCache().drop(s.ident.FS, name)
	return errRejected
}

// sha256 is the hex SHA-256 of an upload's data when it was computed on
// the way (recvHash with SHA-256), else "".
func (x *transfer) sha256() string {
	if r := x.recv; r != nil && r.algo == "SHA-256" && r.sum != nil {
		return hex.EncodeToString(r.sum)
	}
	return ""
}
