package ftpserver

import (
	"path"
	"strings"

	"github.com/ferryftp/ferry/ftp"
)

// resolve turns a client path (absolute, or relative to the working
// directory) into a clean absolute virtual path. ".." never climbs above "/".
func (s *session) resolve(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", &ftp.Error{Code: ftp.CodeBadFileName, Message: "File name not allowed."}
	}
	if p == "" {
		return s.cwd, nil
	}
	if !strings.HasPrefix(p, "/") {
		p = s.cwd + "/" + p
	}
	return path.Clean("/" + p), nil
}

// fsName converts a clean absolute virtual path to a storage name.
func fsName(vpath string) string {
	if vpath == "/" || vpath == "" {
		return "."
	}
	return strings.TrimPrefix(vpath, "/")
}

// quotePath quotes a path for a 257 reply (RFC 959 appendix II: embedded
// double quotes are doubled).
func quotePath(p string) string {
	return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
}
