package ftpclient

import (
	"context"
	"fmt"
	"io"
	"net"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// Retr downloads path from offset (REST) into w and returns the number of
// bytes written. A plain transfer into an *os.File uses splice.
func (c *Conn) Retr(ctx context.Context, path string, offset int64, w io.Writer) (int64, error) {
	var n int64
	err := c.transfer(ctx, "RETR "+path, offset, func(conn net.Conn) error {
		var err error
		n, err = io.Copy(w, conn)
		return err
	})
	return n, err
}

// RetrRange downloads length bytes of path starting at offset into w and
// then aborts the transfer (unless the file ended). It is the building block
// of segmented downloads.
func (c *Conn) RetrRange(ctx context.Context, path string, offset, length int64, w io.Writer) (int64, error) {
	var n int64
	err := c.transfer(ctx, "RETR "+path, offset, func(conn net.Conn) error {
		var err error
		n, err = io.CopyN(w, conn, length)
		if err == io.EOF {
			return nil
		}
		if err == nil {
			return errAbortDone
		}
		return err
	})
	return n, err
}

// Stor uploads r to path, replacing it. With offset > 0 it sends REST first
// and the server writes from that offset (resume).
func (c *Conn) Stor(ctx context.Context, path string, offset int64, r io.Reader) (int64, error) {
	return c.upload(ctx, "STOR "+path, offset, r)
}

// Append uploads r to the end of path (APPE).
func (c *Conn) Append(ctx context.Context, path string, r io.Reader) (int64, error) {
	return c.upload(ctx, "APPE "+path, 0, r)
}

func (c *Conn) upload(ctx context.Context, line string, offset int64, r io.Reader) (int64, error) {
	var n int64
	err := c.transfer(ctx, line, offset, func(conn net.Conn) error {
		var err error
		n, err = io.Copy(conn, r)
		if err != nil {
			return err
		}
		return finishUpload(conn, c.opts.timeout())
	})
	return n, err
}

// finishUpload half-closes the data connection (TLS: close_notify) and
// waits for the server to close its side. Closing at once could reset the
// connection while unread data (such as TLS 1.3 session tickets) sits in our
// receive buffer, and the server would report a failed upload.
func finishUpload(conn net.Conn, timeout time.Duration) error {
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		return nil
	}
	if err := cw.CloseWrite(); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(timeout))
	io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
	return nil
}

// Size returns the size of a file (SIZE, RFC 3659).
func (c *Conn) Size(ctx context.Context, path string) (int64, error) {
	rep, err := c.expect(ctx, 2, "SIZE "+path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(rep.Message()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ftpclient: SIZE %s: %w: %q", path, ftp.ErrBadReply, rep.Message())
	}
	return n, nil
}

// ModTime returns a file's modification time (MDTM, RFC 3659), in UTC.
func (c *Conn) ModTime(ctx context.Context, path string) (time.Time, error) {
	rep, err := c.expect(ctx, 2, "MDTM "+path)
	if err != nil {
		return time.Time{}, err
	}
	t, err := ftp.ParseMDTM(strings.TrimSpace(rep.Message()))
	if err != nil {
		return time.Time{}, fmt.Errorf("ftpclient: MDTM %s: %w: %q", path, ftp.ErrBadReply, rep.Message())
	}
	return t, nil
}

// mdtmBatch is how many MDTM commands modTimes sends in one write.
const mdtmBatch = 32

// modTimes returns the MDTM times of paths, in order; a path the server
// gives no time for has the zero time. Unless Options.NoPipelining is set,
// the commands go out mdtmBatch to a write and the replies are read after
// each write (RFC 959: replies come in the order of the commands), so a
// folder of files costs a few round trips rather than one per file.
func (c *Conn) modTimes(ctx context.Context, paths []string) ([]time.Time, error) {
	times := make([]time.Time, len(paths))
	batch := mdtmBatch
	if c.opts.NoPipelining {
		batch = 1
	}
	var b strings.Builder
	for start := 0; start < len(paths); start += batch {
		chunk := paths[start:min(start+batch, len(paths))]
		b.Reset()
		for _, p := range chunk {
			if strings.ContainsAny(p, "\r\n") {
				return nil, fmt.Errorf("ftpclient: refusing to send a command with CR or LF: %q", "MDTM "+p)
			}
			c.debugf("> MDTM %s", p)
			b.WriteString("MDTM " + p + "\r\n")
		}
		if err := c.sendRaw(ctx, b.String()); err != nil {
			return nil, err
		}
		for i := range chunk {
			rep, err := c.readReply(ctx)
			if err != nil {
				return nil, err
			}
			if rep.Code/100 != 2 {
				continue
			}
			if t, err := ftp.ParseMDTM(strings.TrimSpace(rep.Message())); err == nil {
				times[start+i] = t
			}
		}
	}
	return times, nil
}

// SetModTime sets a file's modification time with MFMT, or with the
// two-argument MDTM form when the server does not list MFMT.
func (c *Conn) SetModTime(ctx context.Context, path string, t time.Time) error {
	verb := "MDTM "
	if c.HasFeature("MFMT") {
		verb = "MFMT "
	}
	_, err := c.expect(ctx, 2, verb+t.UTC().Format("20060102150405")+" "+path)
	return err
}

// Mkdir creates a directory (MKD).
func (c *Conn) Mkdir(ctx context.Context, path string) error {
	_, err := c.expect(ctx, 2, "MKD "+path)
	return err
}

// MkdirAll creates path and any missing parents; existing directories are
// not an error.
func (c *Conn) MkdirAll(ctx context.Context, p string) error {
	if p == "" || p == "/" || p == "." {
		return nil
	}
	if e, err := c.Stat(ctx, p); err == nil && e.IsDir() {
		return nil
	}
	if err := c.MkdirAll(ctx, path.Dir(p)); err != nil {
		return err
	}
	err := c.Mkdir(ctx, p)
	if err != nil {
		if e, serr := c.Stat(ctx, p); serr == nil && e.IsDir() {
			return nil
		}
	}
	return err
}

// Rmdir removes an empty directory (RMD).
func (c *Conn) Rmdir(ctx context.Context, path string) error {
	_, err := c.expect(ctx, 2, "RMD "+path)
	return err
}

// Delete removes a file (DELE).
func (c *Conn) Delete(ctx context.Context, path string) error {
	_, err := c.expect(ctx, 2, "DELE "+path)
	return err
}

// Rename renames from to to (RNFR, RNTO).
func (c *Conn) Rename(ctx context.Context, from, to string) error {
	if _, err := c.expect(ctx, 3, "RNFR "+from); err != nil {
		return err
	}
	_, err := c.expect(ctx, 2, "RNTO "+to)
	return err
}

// Cwd changes the working directory (CWD).
func (c *Conn) Cwd(ctx context.Context, path string) error {
	_, err := c.expect(ctx, 2, "CWD "+path)
	return err
}

// Pwd returns the working directory (PWD).
func (c *Conn) Pwd(ctx context.Context) (string, error) {
	rep, err := c.expect(ctx, 2, "PWD")
	if err != nil {
		return "", err
	}
	msg := rep.Message()
	i := strings.IndexByte(msg, '"')
	if i < 0 {
		return "", fmt.Errorf("ftpclient: PWD: %w: %q", ftp.ErrBadReply, msg)
	}
	// RFC 959 appendix II: a quote inside the name is doubled.
	var b strings.Builder
	for j := i + 1; j < len(msg); j++ {
		if msg[j] == '"' {
			if j+1 < len(msg) && msg[j+1] == '"' {
				b.WriteByte('"')
				j++
				continue
			}
			return b.String(), nil
		}
		b.WriteByte(msg[j])
	}
	return "", fmt.Errorf("ftpclient: PWD: %w: %q", ftp.ErrBadReply, msg)
}
