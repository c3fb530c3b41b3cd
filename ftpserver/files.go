package ftpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/storage"
)

// need checks a permission and replies 550 when it is missing.
func (s *session) need(p Perms) bool {
	if s.ident.Perms.Has(p) {
		return true
	}
	s.reply(ftp.CodeFileUnavailable, "Permission denied.")
	return false
}

// target resolves a path argument and returns its virtual path and storage name.
func (s *session) target(arg string) (vpath, name string, ok bool) {
	vp, err := s.resolve(arg)
	if err != nil {
		s.replyErr(err)
		return "", "", false
	}
	return vp, fsName(vp), true
}

// statArg checks a permission, resolves a path argument and stats it,
// replying itself when any step fails.
func (s *session) statArg(arg string, perm Perms) (vpath, name string, fi fs.FileInfo, ok bool) {
	if !s.need(perm) {
		return "", "", nil, false
	}
	if vpath, name, ok = s.target(arg); !ok {
		return "", "", nil, false
	}
	fi, err := s.ident.FS.Stat(s.ctx, name)
	if err != nil {
		s.replyErr(err)
		return "", "", nil, false
	}
	return vpath, name, fi, true
}

// statOpen describes an open file: from the file itself when the backend
// hands out one that can say (an *os.File), else by name.
func statOpen(ctx context.Context, fsys storage.FS, name string, rc io.ReadCloser) (fs.FileInfo, error) {
	if st, ok := rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
		return st.Stat()
	}
	return fsys.Stat(ctx, name)
}

// fileArg is statArg for commands that need a regular file.
func (s *session) fileArg(arg string, perm Perms) (vpath, name string, fi fs.FileInfo, ok bool) {
	if vpath, name, fi, ok = s.statArg(arg, perm); ok && !fi.Mode().IsRegular() {
		s.reply(ftp.CodeFileUnavailable, "Not a regular file.")
		return "", "", nil, false
	}
	return vpath, name, fi, ok
}

func (s *session) typeName() string {
	if s.binary {
		return "BINARY"
	}
	return "ASCII"
}

func (s *session) cmdRETR(arg string) bool {
	off := s.restOffset
	s.restOffset = 0
	if !s.need(PermRead) {
		return true
	}
	vp, name, ok := s.target(arg)
	if !ok {
		return true
	}
	// Open first and describe the open file: one path resolution, and the
	// size belongs to the very file that is sent.
	rc, err := s.ident.FS.Open(s.ctx, name, off)
	if err != nil {
		s.takeDataSetup()
		s.replyErr(restErr(err, storage.CreateOptions{Offset: off}))
		return true
	}
	fi, err := statOpen(s.ctx, s.ident.FS, name, rc)
	switch {
	case err != nil:
		rc.Close()
		s.takeDataSetup()
		s.replyErr(err)
		return true
	case !fi.Mode().IsRegular():
		rc.Close()
		s.takeDataSetup()
		s.reply(ftp.CodeFileUnavailable, "Not a regular file.")
		return true
	case off > fi.Size():
		rc.Close()
		s.takeDataSetup()
		s.reply(ftp.CodeInvalidRestart, "Invalid REST offset: the file is shorter.")
		return true
	}
	binary := s.binary
	var pos func() int64
	f, isFile := rc.(*os.File)
	if isFile && binary {
		pos = func() int64 { p, _ := f.Seek(0, io.SeekCurrent); return p }
	}
	body := func(ctx context.Context, conn net.Conn, x *transfer) (int64, error, error) {
		var n int64
		var err error
		switch {
		case isFile && binary:
			n, err = io.Copy(conn, f) // sendfile(2) on a plain *net.TCPConn
		case binary:
			n, err = io.Copy(countingWriter{conn, &x.count}, rc)
		default:
			n, err = io.Copy(&toCRLF{w: countingWriter{conn, &x.count}}, rc)
		}
		netErr, localErr := classify(err)
		return n, netErr, localErr
	}
	size := max(fi.Size()-off, 0)
	opening := fmt.Sprintf("Opening %s mode data connection for %s (%d bytes).", s.typeName(), printable(arg), size)
	s.startTransfer("RETR", vp, opening, size, pos, body, func(outcome) error { rc.Close(); return nil })
	return true
}

func (s *session) cmdSTOR(arg string) bool {
	off := s.restOffset
	s.restOffset = 0
	s.store("STOR", arg, storage.CreateOptions{Offset: off})
	return true
}

func (s *session) cmdAPPE(arg string) bool {
	s.restOffset = 0
	s.store("APPE", arg, storage.CreateOptions{Append: true})
	return true
}

// cmdSTOU stores under a new unique name (RFC 959; reply text per RFC 1123 4.1.2.9).
// The name is chosen now and created, exclusively, once the data
// connection is up; should another upload take it meanwhile, the transfer
// fails with 553 and nothing is overwritten.
func (s *session) cmdSTOU(arg string) bool {
	s.restOffset = 0
	if !s.need(PermWrite) {
		return true
	}
	base := arg
	if base == "" {
		base = "ftp"
	}
	for i := 0; i < 10; i++ {
		var b [4]byte
		rand.Read(b[:])
		cand := base + "." + hex.EncodeToString(b[:])
		if i == 0 && arg != "" {
			cand = arg
		}
		vp, name, ok := s.target(cand)
		if !ok {
			return true
		}
		if _, err := s.ident.FS.Stat(s.ctx, name); err == nil {
			continue
		}
		opts := storage.CreateOptions{Exclusive: true}
		if err := s.checkCreate(name, opts); errors.Is(err, fs.ErrExist) {
			continue
		} else if err != nil {
			s.takeDataSetup()
			s.replyErr(err)
			return true
		}
		s.receive("STOU", vp, "FILE: "+printable(path.Base(vp)), name, opts)
		return true
	}
	s.takeDataSetup()
	s.reply(ftp.CodeBadFileName, "Could not find a unique file name.")
	return true
}

// store starts an upload for STOR and APPE.
func (s *session) store(verb, arg string, opts storage.CreateOptions) {
	if !s.need(PermWrite) {
		s.takeDataSetup()
		return
	}
	vp, name, ok := s.target(arg)
	if !ok {
		s.takeDataSetup()
		return
	}
	if fi, err := s.ident.FS.Stat(s.ctx, name); err == nil && fi.IsDir() {
		s.takeDataSetup()
		s.reply(ftp.CodeFileUnavailable, "Is a directory.")
		return
	}
	if err := s.checkCreate(name, opts); err != nil {
		s.takeDataSetup()
		s.replyErr(err)
		return
	}
	s.receive(verb, vp, fmt.Sprintf("Opening %s mode data connection for %s.", s.typeName(), printable(arg)), name, opts)
}

// checkCreate asks the backend, when it can tell, whether creating name
// would be refused, so that the refusal comes before the 150 reply.
func (s *session) checkCreate(name string, opts storage.CreateOptions) error {
	cc, ok := s.ident.FS.(storage.CreateChecker)
	if !ok {
		return nil
	}
	err := cc.CheckCreate(s.ctx, name, opts)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil // the backend cannot tell; Create checks
	}
	return restErr(err, opts)
}

// restErr turns a backend's fs.ErrInvalid for a resume offset (of an
// upload, or of a download when opts.Offset is the REST offset) into the
// REST reply (554).
func restErr(err error, opts storage.CreateOptions) error {
	if err != nil && opts.Offset > 0 && errors.Is(err, fs.ErrInvalid) {
		return &ftp.Error{Code: ftp.CodeInvalidRestart, Message: "Invalid REST offset: the existing file is shorter."}
	}
	return err
}

// receive runs an upload to name. The file is created (or truncated, or
// opened for the resume) only once the data connection is up: any refusal
// before that (no PORT/PASV, no connection, a foreign peer, TLS refused,
// ABOR) leaves storage exactly as it was.
func (s *session) receive(verb, vp, opening, name string, opts storage.CreateOptions) {
	binary := s.binary
	up := &upload{}
	rh := s.receiveHash(name, opts)
	body := func(ctx context.Context, conn net.Conn, x *transfer) (int64, error, error) {
		wc, err := s.ident.FS.Create(ctx, name, opts)
		if err != nil {
			return 0, nil, restErr(err, opts)
		}
		up.wc = wc
		wc = rh.wrap(wc)
		rf, canReadFrom := wc.(io.ReaderFrom)
		seeker, canSeek := wc.(io.Seeker)
		var n int64
		switch {
		case binary && canReadFrom && canSeek:
			if start, err := seeker.Seek(0, io.SeekCurrent); err == nil {
				up.watch(&offsetProbe{s: seeker, start: start})
			}
			n, err = rf.ReadFrom(conn) // splice(2) from a plain *net.TCPConn
		case binary:
			up.watch(&x.count)
			n, err = io.Copy(wc, countingReader{conn, &x.count})
		default:
			up.watch(&x.count)
			n, err = io.Copy(wc, &fromCRLF{r: countingReader{conn, &x.count}})
		}
		netErr, localErr := classify(err)
		return n, netErr, localErr
	}
	s.startTransfer(verb, vp, opening, -1, up.pos, body, rh.end(s, name, up.end))
}

// upload is the state of one upload that the transfer goroutine and the
// stall watchdog share.
type upload struct {
	wc       io.WriteCloser // nil until the data connection is up
	progress atomic.Value   // a probeBox, once the body has started
}

type probeBox struct{ p progressProbe }

func (u *upload) watch(p progressProbe) { u.progress.Store(probeBox{p}) }

// progressProbe tells how many bytes an upload has written so far.
type progressProbe interface{ Load() int64 }

// offsetProbe reads an upload's progress from its file offset, on the
// zero-copy path where no byte passes through a counter.
type offsetProbe struct {
	s     io.Seeker
	start int64
}

// Load is the offset moved since the upload started.
func (p *offsetProbe) Load() int64 {
	off, err := p.s.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	return off - p.start
}

// pos is the number of bytes written so far; 0 before the file is open.
func (u *upload) pos() int64 {
	if b, ok := u.progress.Load().(probeBox); ok {
		return b.p.Load()
	}
	return 0
}

// end finishes the upload as the transfer ended: a completed upload is
// published; one the client broke off is kept for a resume (Abort); one
// that failed on the server's side, or could not be published, is removed
// (Discard) so that it does not hold the space.
func (u *upload) end(o outcome) error {
	if u.wc == nil {
		return nil // never created: nothing to undo
	}
	switch o {
	case completed:
		err := u.wc.Close()
		if err != nil {
			discard(u.wc)
		}
		return err
	case failedHere:
		if discard(u.wc) {
			return nil
		}
	}
	if a, ok := u.wc.(storage.Aborter); ok {
		return a.Abort()
	}
	return u.wc.Close()
}

// discard removes what wc wrote when the backend can, and reports whether
// it could.
func discard(wc io.WriteCloser) bool {
	d, ok := wc.(storage.Discarder)
	if ok {
		d.Discard()
	}
	return ok
}

func (s *session) cmdREST(arg string) bool {
	n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	if err != nil || n < 0 {
		s.reply(ftp.CodeArgSyntax, "REST needs a non-negative byte offset.")
		return true
	}
	s.restOffset = n
	s.reply(ftp.CodePending, fmt.Sprintf("Restarting at %d. Send STOR or RETR to initiate transfer.", n))
	return true
}

func (s *session) cmdALLO(string) bool {
	s.reply(ftp.CodeSuperfluous, "ALLO not needed at this site.")
	return true
}

func (s *session) cmdDELE(arg string) bool {
	if !s.need(PermDelete) {
		return true
	}
	vp, name, ok := s.target(arg)
	if !ok {
		return true
	}
	if err := s.ident.FS.Remove(s.ctx, name); err != nil {
		s.replyErr(err)
		return true
	}
	s.hashCache().drop(s.ident.FS, name)
	s.log.Info("deleted", "path", vp)
	s.reply(ftp.CodeFileActionOK, "File deleted.")
	return true
}

func (s *session) cmdRNFR(arg string) bool {
	vp, _, _, ok := s.statArg(arg, PermRename)
	if !ok {
		return true
	}
	if vp == "/" {
		s.reply(ftp.CodeFileUnavailable, "Cannot rename the root directory.")
		return true
	}
	s.renameFrom = vp
	s.reply(ftp.CodePending, "Ready for RNTO.")
	return true
}

func (s *session) cmdRNTO(arg string) bool {
	from := s.renameFrom
	s.renameFrom = ""
	if from == "" {
		s.reply(ftp.CodeBadSequence, "Send RNFR first.")
		return true
	}
	if !s.need(PermRename) {
		return true
	}
	vp, name, ok := s.target(arg)
	if !ok {
		return true
	}
	if vp == "/" || strings.HasPrefix(vp+"/", from+"/") {
		s.reply(ftp.CodeBadFileName, "Cannot move a directory into itself.")
		return true
	}
	if err := s.ident.FS.Rename(s.ctx, fsName(from), name); err != nil {
		s.replyErr(err)
		return true
	}
	s.hashCache().drop(s.ident.FS, fsName(from))
	s.hashCache().drop(s.ident.FS, name)
	s.log.Info("renamed", "from", from, "to", vp)
	s.reply(ftp.CodeFileActionOK, "Rename successful.")
	return true
}

func (s *session) cmdSIZE(arg string) bool {
	_, _, fi, ok := s.fileArg(arg, PermList)
	if !ok {
		return true
	}
	s.reply(ftp.CodeFileStatus, strconv.FormatInt(fi.Size(), 10))
	return true
}

func (s *session) cmdMDTM(arg string) bool {
	_, _, fi, ok := s.statArg(arg, PermList)
	if !ok {
		return true
	}
	s.reply(ftp.CodeFileStatus, ftp.FormatMDTM(fi.ModTime()))
	return true
}

// cmdMFMT sets a file's modification time (draft-somers-ftp-mfxx).
func (s *session) cmdMFMT(arg string) bool {
	ts, p, found := strings.Cut(arg, " ")
	if !found || p == "" {
		s.reply(ftp.CodeArgSyntax, "MFMT needs a time and a path: MFMT YYYYMMDDHHMMSS path.")
		return true
	}
	t, err := ftp.ParseMDTM(ts)
	if err != nil {
		s.reply(ftp.CodeArgSyntax, "Bad time; use YYYYMMDDHHMMSS in UTC.")
		return true
	}
	if !s.need(PermWrite) {
		return true
	}
	ch, ok := s.ident.FS.(storage.Chtimeser)
	if !ok {
		s.reply(ftp.CodeNotImplemented, "MFMT is not supported by this storage.")
		return true
	}
	_, name, ok := s.target(p)
	if !ok {
		return true
	}
	before, err := s.ident.FS.Stat(s.ctx, name)
	if err != nil {
		s.replyErr(err)
		return true
	}
	if err := ch.Chtimes(s.ctx, name, t); err != nil {
		s.replyErr(err)
		return true
	}
	// A file system may clamp a time it cannot hold (ext4 with small
	// inodes stops at 2038) without an error: read it back, and never
	// confirm a time that was not stored.
	if after, err := s.ident.FS.Stat(s.ctx, name); err != nil || !sameSecond(after.ModTime(), t) {
		if err := ch.Chtimes(s.ctx, name, before.ModTime()); err != nil {
			s.log.Warn("MFMT: cannot put the old time back", "path", p, "err", err)
		}
		s.reply(ftp.CodeFileUnavailable, "The file system cannot store that time; the file keeps its old one.")
		return true
	}
	s.reply(ftp.CodeFileStatus, "Modify="+ftp.FormatMDTM(t)+"; "+p)
	return true
}

// sameSecond reports whether a stored time is the one asked for, allowing
// for file systems that keep only even seconds (FAT).
func sameSecond(stored, want time.Time) bool {
	d := stored.Sub(want)
	return d > -2*time.Second && d < 2*time.Second
}
