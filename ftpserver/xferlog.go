package ftpserver

import (
	"strconv"
	"strings"
	"time"
)

// logTransfer logs a finished transfer and, when configured, writes an
// xferlog(5) line: current-time transfer-time remote-host bytes filename
// type special-action direction access-mode user service auth-method
// auth-user-id completion-status.
func (s *session) logTransfer(x *transfer, n int64, ok bool) {
	dur := time.Since(x.start)
	s.log.Info("transfer", "verb", x.verb, "path", x.path, "bytes", n, "ok", ok,
		"duration", dur.Round(time.Millisecond).String(), "mode", s.typeName())
	w := s.opts.TransferLog
	if w == nil || x.verb == "LIST" || x.verb == "NLST" || x.verb == "MLSD" {
		return
	}
	typ, dir, access, status := "a", "o", "r", "c"
	if s.binary {
		typ = "b"
	}
	if x.verb != "RETR" {
		dir = "i"
	}
	if s.ident.Anonymous {
		access = "a"
	}
	if !ok {
		status = "i"
	}
	secs := int64(dur.Round(time.Second) / time.Second)
	line := strings.Join([]string{
		time.Now().Format("Mon Jan _2 15:04:05 2006"), strconv.FormatInt(secs, 10),
		s.remote.Addr().String(), strconv.FormatInt(n, 10), xferName(x.path), typ, "_", dir, access,
		xferName(s.ident.User), "ftp", "0", "*", status}, " ") + "\n"
	s.srv.xlogMu.Lock()
	w.Write([]byte(line))
	s.srv.xlogMu.Unlock()
}

// xferName keeps a field on one line and free of spaces, as xferlog parsers expect.
func xferName(p string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, p)
}
