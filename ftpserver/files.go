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

// errPermission is the reply to a command the user's permissions do not allow.
var errPermission = &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "Permission denied."}

// need returns errPermission when the user lacks p.
func (s *session) need(p Perms) error {
	if s.ident.Perms.Has(p) {
		return nil
	}
	return errPermission
}

// target checks a permission and resolves a path argument to its virtual
// path and storage name.
func (s *session) target(arg string, perm Perms) (vpath, name string, err error) {
	if err := s.need(perm); err != nil {
		return "", "", err
	}
	vp, err := s.resolve(arg)
	if err != nil {
		return "", "", err
	}
	return vp, fsName(vp), nil
}

// onPath checks a permission, resolves a path argument and applies op to
// its storage name.
func (s *session) onPath(arg string, perm Perms, op func(ctx context.Context, name string) error) (vpath, name string, err error) {
	if vpath, name, err = s.target(arg, perm); err == nil {
		err = op(s.ctx, name)
	}
	return vpath, name, err
}

// statArg checks a permission, resolves a path argument and stats it.
func (s *session) statArg(arg string, perm Perms) (vpath, name string, fi fs.FileInfo, err error) {
	if vpath, name, err = s.target(arg, perm); err != nil {
		return "", "", nil, err
	}
	if fi, err = s.ident.FS.Stat(s.ctx, name); err != nil {
		return "", "", nil, err
	}
	return vpath, name, fi, nil
}

// statOpen describes an open file: from the file itself when the backend
// hands out one that can say (an *os.File), else by name.
func statOpen(ctx context.Context, fsys storage.FS, name string, rc io.ReadCloser) (fs.FileInfo, error) {
	if st, ok := rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
		return st.Stat()
	}
	return fsys.Stat(ctx, name)
}

// infoOpener is a backend whose open also describes the file (localfs:
// the one fstat(2) it makes to refuse what is not a regular file).
type infoOpener interface {
	OpenInfo(ctx context.Context, name string, offset int64) (*os.File, fs.FileInfo, error)
}

// openInfo opens name at offset and describes the open file, in one step
// where the backend can.
func openInfo(ctx context.Context, fsys storage.FS, name string, offset int64) (io.ReadCloser, fs.FileInfo, error) {
	if o, ok := fsys.(infoOpener); ok {
		f, fi, err := o.OpenInfo(ctx, name, offset)
		if err != nil {
			return nil, nil, err
		}
		return f, fi, nil
	}
	rc, err := fsys.Open(ctx, name, offset)
	if err != nil {
		return nil, nil, err
	}
	fi, err := statOpen(ctx, fsys, name, rc)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return rc, fi, nil
}

// errNotFile is the reply to a command that needs a regular file.
var errNotFile = &ftp.Error{Code: ftp.CodeFileUnavailable, Message: "Not a regular file."}

// fileArg is statArg for commands that need a regular file.
func (s *session) fileArg(arg string, perm Perms) (vpath, name string, fi fs.FileInfo, err error) {
	if vpath, name, fi, err = s.statArg(arg, perm); err == nil && !fi.Mode().IsRegular() {
		return "", "", nil, errNotFile
	}
	return vpath, name, fi, err
}

func (s *session) typeName() string {
	if s.binary {
		return "BINARY"
	}
	return "ASCII"
}

func (s *session) cmdRETR(arg string) error {
	off := s.restOffset
	s.restOffset = 0
	vp, name, err := s.target(arg, PermRead)
	if err != nil {
		return err
	}
	// Open first and describe the open file: one path resolution, and the
	// size belongs to the very file that is sent.
	rc, fi, err := openInfo(s.ctx, s.ident.FS, name, off)
	if err != nil {
		return restErr(err, storage.CreateOptions{Offset: off})
	}
	switch {
	case !fi.Mode().IsRegular():
		err = errNotFile
	case off > fi.Size():
		err = ftpErr(ftp.CodeInvalidRestart, "Invalid REST offset: the file is shorter.")
	}
	if err != nil {
		rc.Close()
		return err
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
		case isFile && binary && x.small:
			// The size the 150 reply announced, in one sendfile(2) or
			// one read and write: to EOF would take a call that sends
			// nothing.
			n, err = s.sendSmall(conn, f, x.size)
		case isFile && binary:
			n, err = s.sendFile(ctx, conn, f)
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
	return s.startTransfer("RETR", vp, opening, size, pos, body, func(outcome) error { rc.Close(); return nil })
}

// sendFile sends f from its offset to EOF over a plain data connection,
// with sendfile(2) or through a buffer as Options.Sendfile decides, on a
// blocking socket while fewer than maxBlockedSends do so.
func (s *session) sendFile(ctx context.Context, conn net.Conn, f *os.File) (int64, error) {
	tcp, ok := conn.(*net.TCPConn)
	var buf []byte
	if !ok || !s.opts.Sendfile.useSendfile(tcp) {
		b := copyBufs.Get().(*[copyBufSize]byte)
		defer copyBufs.Put(b)
		buf = b[:]
	}
	if ok && s.srv.blockedSends.Add(1) <= maxBlockedSends {
		n, err, handled := sendFileBlocking(ctx, tcp, f, buf, s.opts.DataTimeout)
		s.srv.blockedSends.Add(-1)
		if handled {
			return n, err
		}
	} else if ok {
		s.srv.blockedSends.Add(-1)
	}
	if buf == nil {
		return io.Copy(conn, f) // sendfile(2) on a plain *net.TCPConn
	}
	// Hide the types' ReaderFrom/WriterTo so that the buffer is used.
	return io.CopyBuffer(struct{ io.Writer }{conn}, struct{ io.Reader }{f}, buf)
}

// sendSmall sends the first size bytes of f, which fit in the socket
// buffers, with one sendfile(2) or through a buffer as Options.Sendfile
// decides.
func (s *session) sendSmall(conn net.Conn, f *os.File, size int64) (int64, error) {
	if tcp, ok := conn.(*net.TCPConn); ok && s.opts.Sendfile.useSendfile(tcp) {
		return io.Copy(conn, io.LimitReader(f, size))
	}
	b := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(b)
	return io.CopyBuffer(struct{ io.Writer }{conn}, io.LimitReader(f, size), b[:])
}

func (s *session) cmdSTOR(arg string) error {
	off := s.restOffset
	s.restOffset = 0
	return s.store("STOR", arg, storage.CreateOptions{Offset: off})
}

func (s *session) cmdAPPE(arg string) error {
	s.restOffset = 0
	return s.store("APPE", arg, storage.CreateOptions{Append: true})
}

// cmdSTOU stores under a new unique name (RFC 959; reply text per RFC 1123 4.1.2.9).
// The name is chosen now and created, exclusively, once the data
// connection is up; should another upload take it meanwhile, the transfer
// fails with 553 and nothing is overwritten.
func (s *session) cmdSTOU(arg string) error {
	s.restOffset = 0
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
		vp, name, err := s.target(cand, PermWrite)
		if err != nil {
			return err
		}
		if _, err := s.ident.FS.Stat(s.ctx, name); err == nil {
			continue
		}
		opts := storage.CreateOptions{Exclusive: true}
		if err := s.checkCreate(name, opts); errors.Is(err, fs.ErrExist) {
			continue
		} else if err != nil {
			return err
		}
		return s.receive("STOU", vp, "FILE: "+printable(path.Base(vp)), name, opts)
	}
	return ftpErr(ftp.CodeBadFileName, "Could not find a unique file name.")
}

// store starts an upload for STOR and APPE.
func (s *session) store(verb, arg string, opts storage.CreateOptions) error {
	vp, name, err := s.target(arg, PermWrite)
	if err != nil {
		return err
	}
	if fi, err := s.ident.FS.Stat(s.ctx, name); err == nil && fi.IsDir() {
		return ftpErr(ftp.CodeFileUnavailable, "Is a directory.")
	}
	if err := s.checkCreate(name, opts); err != nil {
		return err
	}
	return s.receive(verb, vp, fmt.Sprintf("Opening %s mode data connection for %s.", s.typeName(), printable(arg)), name, opts)
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
func (s *session) receive(verb, vp, opening, name string, opts storage.CreateOptions) error {
	binary := s.binary
	up := &upload{}
	rh := s.receiveHash(name, opts)
	body := func(ctx context.Context, conn net.Conn, x *transfer) (int64, error, error) {
		wc, err := s.ident.FS.Create(ctx, name, opts)
		if err != nil {
			return 0, nil, restErr(err, opts)
		}
		up.wc, x.recv = wc, rh
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
	return s.startTransfer(verb, vp, opening, -1, up.pos, body, rh.end(s, name, up.end))
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

func (s *session) cmdREST(arg string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	if err != nil || n < 0 {
		return ftpErr(ftp.CodeArgSyntax, "REST needs a non-negative byte offset.")
	}
	s.restOffset = n
	s.reply(ftp.CodePending, fmt.Sprintf("Restarting at %d. Send STOR or RETR to initiate transfer.", n))
	return nil
}

func (s *session) cmdDELE(arg string) error {
	vp, name, err := s.onPath(arg, PermDelete, s.ident.FS.Remove)
	if err != nil {
		return err
	}
	s.hashCache().drop(s.ident.FS, name)
	s.observeFileOp("DELE", vp, "")
	s.log.Info("deleted", "path", vp)
	s.reply(ftp.CodeFileActionOK, "File deleted.")
	return nil
}

func (s *session) cmdRNFR(arg string) error {
	vp, _, _, err := s.statArg(arg, PermRename)
	switch {
	case err != nil:
		return err
	case vp == "/":
		return ftpErr(ftp.CodeFileUnavailable, "Cannot rename the root directory.")
	}
	s.renameFrom = vp
	s.reply(ftp.CodePending, "Ready for RNTO.")
	return nil
}

func (s *session) cmdRNTO(arg string) error {
	from := s.renameFrom
	s.renameFrom = ""
	if from == "" {
		return ftpErr(ftp.CodeBadSequence, "Send RNFR first.")
	}
	vp, name, err := s.target(arg, PermRename)
	switch {
	case err != nil:
		return err
	case vp == "/" || strings.HasPrefix(vp+"/", from+"/"):
		return ftpErr(ftp.CodeBadFileName, "Cannot move a directory into itself.")
	}
	if err := s.ident.FS.Rename(s.ctx, fsName(from), name); err != nil {
		return err
	}
	s.hashCache().drop(s.ident.FS, fsName(from))
	s.hashCache().drop(s.ident.FS, name)
	s.observeFileOp("RNTO", vp, from)
	s.log.Info("renamed", "from", from, "to", vp)
	s.reply(ftp.CodeFileActionOK, "Rename successful.")
	return nil
}

func (s *session) cmdSIZE(arg string) error {
	_, _, fi, err := s.fileArg(arg, PermList)
	if err != nil {
		return err
	}
	s.reply(ftp.CodeFileStatus, strconv.FormatInt(fi.Size(), 10))
	return nil
}

func (s *session) cmdMDTM(arg string) error {
	_, _, fi, err := s.statArg(arg, PermList)
	if err != nil {
		return err
	}
	s.reply(ftp.CodeFileStatus, ftp.FormatMDTM(fi.ModTime()))
	return nil
}

// cmdMFMT sets a file's modification time (draft-somers-ftp-mfxx).
func (s *session) cmdMFMT(arg string) error {
	ts, p, found := strings.Cut(arg, " ")
	if !found || p == "" {
		return ftpErr(ftp.CodeArgSyntax, "MFMT needs a time and a path: MFMT YYYYMMDDHHMMSS path.")
	}
	t, err := ftp.ParseMDTM(ts)
	if err != nil {
		return ftpErr(ftp.CodeArgSyntax, "Bad time; use YYYYMMDDHHMMSS in UTC.")
	}
	if err := s.need(PermWrite); err != nil {
		return err
	}
	ch, ok := s.ident.FS.(storage.Chtimeser)
	if !ok {
		return ftpErr(ftp.CodeNotImplemented, "MFMT is not supported by this storage.")
	}
	_, name, before, err := s.statArg(p, PermWrite)
	if err != nil {
		return err
	}
	if err := ch.Chtimes(s.ctx, name, t); err != nil {
		return err
	}
	// A file system may clamp a time it cannot hold (ext4 with small
	// inodes stops at 2038) without an error: read it back, and never
	// confirm a time that was not stored.
	if after, err := s.ident.FS.Stat(s.ctx, name); err != nil || !sameSecond(after.ModTime(), t) {
		if err := ch.Chtimes(s.ctx, name, before.ModTime()); err != nil {
			s.log.Warn("MFMT: cannot put the old time back", "path", p, "err", err)
		}
		return ftpErr(ftp.CodeFileUnavailable, "The file system cannot store that time; the file keeps its old one.")
	}
	s.reply(ftp.CodeFileStatus, "Modify="+ftp.FormatMDTM(t)+"; "+p)
	return nil
}

// sameSecond reports whether a stored time is the one asked for, allowing
// for file systems that keep only even seconds (FAT).
func sameSecond(stored, want time.Time) bool {
	d := stored.Sub(want)
	return d > -2*time.Second && d < 2*time.Second
}
