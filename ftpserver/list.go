package ftpserver

import (
	"bufio"
	"context"
	"io/fs"
	"net"
	"path"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// listing is the result of resolving a LIST/NLST/STAT argument.
type listing struct {
	dir     string        // virtual directory the entries are in
	entries []fs.FileInfo // sorted by name
	single  bool          // the argument named one file
	prefix  string        // NLST: prefix to print before names
}

// maxGlobEntries bounds how many directory entries a glob is matched against.
const maxGlobEntries = 100000

// parseListArgs strips ls-style flags ("-a", "-la") from a LIST argument.
func parseListArgs(arg string) (p string, all bool) {
	for {
		arg = strings.TrimLeft(arg, " ")
		if !strings.HasPrefix(arg, "-") {
			return arg, all
		}
		flag, rest, _ := strings.Cut(arg, " ")
		if strings.ContainsRune(flag, 'a') || strings.ContainsRune(flag, 'A') {
			all = true
		}
		arg = rest
	}
}

// list resolves a listing argument: a directory, a file, or a glob pattern
// in the last path element.
func (s *session) list(ctx context.Context, arg string, all bool) (*listing, error) {
	vp, err := s.resolve(arg)
	if err != nil {
		return nil, err
	}
	fsys := s.ident.FS
	base := path.Base(vp)
	if arg != "" && ftp.HasGlob(base) {
		dir := path.Dir(vp)
		infos, err := fsys.ReadDir(ctx, fsName(dir))
		if err != nil {
			return nil, err
		}
		if len(infos) > maxGlobEntries {
			return nil, &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "Directory too large to match a pattern in."}
		}
		l := &listing{dir: dir, prefix: globPrefix(arg)}
		for _, fi := range infos {
			if (all || !strings.HasPrefix(fi.Name(), ".") || strings.HasPrefix(base, ".")) && ftp.MatchGlob(base, fi.Name()) {
				l.entries = append(l.entries, fi)
			}
		}
		return l, nil
	}
	fi, err := fsys.Stat(ctx, fsName(vp))
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return &listing{dir: path.Dir(vp), entries: []fs.FileInfo{fi}, single: true, prefix: globPrefix(arg)}, nil
	}
	infos, err := fsys.ReadDir(ctx, fsName(vp))
	if err != nil {
		return nil, err
	}
	l := &listing{dir: vp}
	if arg != "" && arg != "." {
		l.prefix = strings.TrimSuffix(arg, "/") + "/"
	}
	for _, fi := range infos {
		if all || !strings.HasPrefix(fi.Name(), ".") {
			l.entries = append(l.entries, fi)
		}
	}
	return l, nil
}

// globPrefix is the directory part of an argument, kept in NLST output so
// that names can be fed back to RETR (as mget does).
func globPrefix(arg string) string {
	if i := strings.LastIndexByte(arg, '/'); i >= 0 {
		return arg[:i+1]
	}
	return ""
}

func (s *session) cmdLIST(arg string) error {
	p, all := parseListArgs(arg)
	return s.sendListing("LIST", p, all, func(w *bufio.Writer, l *listing) {
		now := time.Now()
		var line []byte
		for _, fi := range l.entries {
			line = ftp.AppendListLine(line[:0], fi, now)
			w.Write(line)
			w.WriteString("\r\n")
		}
	})
}

func (s *session) cmdNLST(arg string) error {
	p, all := parseListArgs(arg)
	return s.sendListing("NLST", p, all, func(w *bufio.Writer, l *listing) {
		for _, fi := range l.entries {
			w.WriteString(l.prefix)
			w.WriteString(fi.Name())
			w.WriteString("\r\n")
		}
	})
}

func (s *session) cmdMLSD(arg string) error {
	_, _, fi, err := s.statArg(arg, PermList)
	switch {
	case err != nil:
		return err
	case !fi.IsDir():
		return ftpErr(ftp.CodeFileUnavailable, "Not a directory; use MLST for a file.")
	}
	facts := s.mlstFacts
	return s.sendListing("MLSD", arg, true, func(w *bufio.Writer, l *listing) {
		var line []byte
		for _, fi := range l.entries {
			line = ftp.AppendMLSxEntry(line[:0], fi, fi.Name(), "", s.permFact(fi), facts)
			w.Write(line)
			w.WriteString("\r\n")
		}
	})
}

// sendListing resolves a listing synchronously (so errors are answered
// before any data connection is used) and sends it as a transfer.
func (s *session) sendListing(verb, arg string, all bool, format func(*bufio.Writer, *listing)) error {
	if err := s.need(PermList); err != nil {
		return err
	}
	l, err := s.list(s.ctx, arg, all)
	if err != nil {
		return err
	}
	body := func(ctx context.Context, conn net.Conn, x *transfer) (int64, error, error) {
		cw := countingWriter{conn, &x.count}
		w := bufio.NewWriterSize(cw, 16*1024)
		format(w, l)
		err := w.Flush()
		return x.count.Load(), err, nil
	}
	// About 100 bytes a line: a listing of a few thousand entries is small.
	return s.startTransfer(verb, l.dir, "Opening ASCII mode data connection for file list.", int64(len(l.entries))*128, nil, body, nil)
}

func (s *session) cmdMLST(arg string) error {
	vp, _, fi, err := s.statArg(arg, PermList)
	if err != nil {
		return err
	}
	entry := ftp.AppendMLSxEntry(nil, fi, vp, "", s.permFact(fi), s.mlstFacts)
	s.reply(ftp.CodeFileActionOK, joinLines("Listing "+vp, string(entry), "End"))
	return nil
}

// permFact computes the RFC 3659 "perm" fact from the user's permissions.
func (s *session) permFact(fi fs.FileInfo) string {
	p := s.ident.Perms
	var b []byte
	add := func(ok bool, c byte) {
		if ok {
			b = append(b, c)
		}
	}
	if fi.IsDir() {
		add(p.Has(PermWrite), 'c')
		add(p.Has(PermDelete), 'd')
		add(p.Has(PermList), 'e')
		add(p.Has(PermRename), 'f')
		add(p.Has(PermList), 'l')
		add(p.Has(PermMkdir), 'm')
		add(p.Has(PermDelete), 'p')
	} else {
		add(p.Has(PermWrite), 'a')
		add(p.Has(PermDelete), 'd')
		add(p.Has(PermRename), 'f')
		add(p.Has(PermRead), 'r')
		add(p.Has(PermWrite), 'w')
	}
	return string(b)
}

// cmdSTAT reports status: of the server (no argument), of a running
// transfer, or a listing of a path over the control connection.
func (s *session) cmdSTAT(arg string) error {
	if arg == "" {
		lines := []string{"ferry FTP server status:",
			"Connected from " + s.remote.Addr().String(),
			"Logged in as " + s.userName(),
			"TYPE: " + s.typeName() + ", STRUcture: File, MODE: Stream"}
		s.xmu.Lock()
		x := s.xfer
		s.xmu.Unlock()
		if x != nil {
			lines = append(lines, "Transfer in progress: "+x.verb+" "+x.path+", "+itoa(x.bytes())+" bytes so far")
		} else {
			lines = append(lines, "No data connection")
		}
		lines = append(lines, s.quotaLines()...)
		s.reply(ftp.CodeSystemStatus, joinLines(append(lines, "End of status")...))
		return nil
	}
	if s.transferRunning() {
		return ftpErr(ftp.CodeBadSequence, "STAT with a path is not available during a transfer.")
	}
	if err := s.need(PermList); err != nil {
		return err
	}
	p, all := parseListArgs(arg)
	l, err := s.list(s.ctx, p, all)
	if err != nil {
		return err
	}
	lines := []string{"Status of " + arg + ":"}
	now := time.Now()
	for _, fi := range l.entries {
		lines = append(lines, string(ftp.AppendListLine(nil, fi, now)))
	}
	code := ftp.CodeDirStatus
	if l.single {
		code = ftp.CodeFileStatus
	}
	s.reply(code, joinLines(append(lines, "End of status")...))
	return nil
}
