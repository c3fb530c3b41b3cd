package ftpserver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// transfer is a data transfer (or listing) running in its own goroutine, so
// that ABOR, STAT and NOOP are answered meanwhile.
type transfer struct {
	verb    string
	path    string
	size    int64 // bytes a download will send, or -1 when unknown
	start   time.Time
	done    chan struct{}
	cancel  context.CancelFunc
	aborted atomic.Bool
	count   atomic.Int64 // bytes so far, for STAT, when counted
	pos     func() int64 // progress probe
	base    int64        // pos() when the transfer started
	small   bool         // a download that fits in the socket buffers
	user    string       // for events: the user when the transfer started
	passive bool         // for events: a passive data connection
	tls     bool         // for events: PROT P
	recv    *recvHash    // an upload's hasher, for the event's digest; nil if none
}

// outcome is how a transfer ended, as its cleanup needs to know it.
type outcome int

const (
	// completed: every byte moved and the data connection closed cleanly.
	completed outcome = iota
	// brokenOff: the client aborted, went away or never connected; what an
	// upload wrote so far may be resumed.
	brokenOff
	// failedHere: the server's side (storage) failed; what an upload wrote
	// so far is of no use and is removed.
	failedHere
)

// cleanupFunc runs when a transfer ends, before the final reply. An error
// from it turns a completed transfer into a local failure.
type cleanupFunc func(outcome) error

// bytes is how many bytes the transfer has moved so far.
func (x *transfer) bytes() int64 { return x.pos() - x.base }

// xferBody moves the data over an open data connection. It returns the bytes
// moved, an error of the data connection (reading or writing the network)
// and an error of the local side (storage); the two decide the final reply.
type xferBody func(ctx context.Context, conn net.Conn, x *transfer) (n int64, netErr, localErr error)

// transferRunning reports whether a transfer is in progress.
func (s *session) transferRunning() bool {
	s.xmu.Lock()
	defer s.xmu.Unlock()
	return s.xfer != nil
}

// waitTransfer blocks until the running transfer, if any, has ended.
func (s *session) waitTransfer() {
	s.xmu.Lock()
	x := s.xfer
	s.xmu.Unlock()
	if x != nil {
		<-x.done
	}
}

// smallTransfer is the size up to which a download counts as small: it fits
// in the socket buffers, so sending it cannot block for long.
const smallTransfer = 256 << 10

// startTransfer opens the data connection set up by PASV/EPSV/PORT/EPRT and
// runs body. opening is the text of the 150 reply; cleanup runs when the
// transfer ends, before the final reply, with the outcome. body runs only
// once the data connection is up (and protected, under PROT P), so an
// upload's body is where the target file is created: a transfer refused
// before that leaves storage untouched. pos, when not
// nil, reports progress for the stall watchdog (a file offset on zero-copy
// paths); otherwise the transfer's byte count is used. size is the number of
// bytes a download will send, or -1 when unknown.
//
// It returns the refusal when there is no data connection to use, else nil:
// the transfer sends its own replies.
//
// Transfers run in their own goroutine, so that ABOR, STAT and NOOP are
// answered meanwhile. A small plain download whose client has already
// connected to the passive port is sent by the control goroutine itself: it
// cannot block for longer than the socket's write deadline, and it saves
// the goroutine hand-offs that dominate the cost of small files.
func (s *session) startTransfer(verb, vpath, opening string, size int64, pos func() int64, body xferBody, cleanup cleanupFunc) error {
	p, target, ok := s.claimDataSetup()
	if !ok {
		if cleanup != nil {
			cleanup(brokenOff)
		}
		return ftpErr(ftp.CodeCantOpenData, "Use PORT, EPRT, PASV or EPSV first.")
	}
	x := &transfer{verb: verb, path: vpath, size: size, start: time.Now(), done: make(chan struct{}),
		small: size >= 0 && size <= smallTransfer && !s.rateLimited()}
	x.pos = x.count.Load
	if pos != nil {
		x.pos = pos
	}
	x.passive, x.tls = p != nil, s.protP
	s.transferState(x, true)
	if x.small && p != nil && p.acc == nil && !s.protP {
		if tcp := s.acceptPending(p); tcp != nil {
			ctx, cancel := context.WithCancel(s.ctx)
			x.cancel = cancel
			s.finishTransfer(ctx, x, s.dataReady(dataConn{conn: tcp, tcp: tcp}), opening, body, cleanup)
			cancel()
			s.transferState(x, false)
			return nil
		}
	}
	// Progress counts from here (STAT, the admin API, the stall watchdog;
	// the path above needs none of them and saves pos's lseek).
	x.base = x.pos()
	// Everything the data connection needs from the session is taken here,
	// in the control goroutine.
	var protect protectFunc
	if s.protP {
		protect = s.dataProtector()
	}
	if p != nil && p.acc == nil {
		// Not accepting yet: opened under PROT C (or before AUTH SSL
		// turned PROT P on), so the transfer accepts now.
		p.acc = s.startAcceptor(p.l, protect, true)
	} else if p != nil {
		p.acc.claim()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	x.cancel = cancel
	s.xmu.Lock()
	s.xfer = x
	s.xmu.Unlock()
	s.conn.SetReadDeadline(time.Time{}) // the idle timeout never fires during a transfer
	go s.runTransfer(ctx, x, p, target, protect, opening, body, cleanup)
	return nil
}

func (s *session) runTransfer(ctx context.Context, x *transfer, p *passive, target netip.AddrPort, protect protectFunc,
	opening string, body xferBody, cleanup cleanupFunc) {
	defer func() {
		x.cancel()
		s.xmu.Lock()
		s.xfer = nil
		closeAfter := s.closeAfter
		s.xmu.Unlock()
		s.transferState(x, false)
		// Re-arm the idle timeout before done is closed: after that the
		// control goroutine may run REIN or PASS, which change what
		// setReadDeadline reads.
		s.setReadDeadline()
		close(x.done)
		if closeAfter {
			s.reply(ftp.CodeNotAvailable, "Server shutting down; closing control connection.")
			s.conn.Close()
		}
	}()

	var ready func() (dataConn, error)
	if p != nil {
		defer p.close()
		// 150 goes out once the client has connected, before its TLS
		// handshake is waited for: curl, lftp and ftplib start TLS only
		// after the 150, aioftp before its command.
		p.acc.waitArrival(ctx)
		if !p.acc.arrivedAny() {
			if _, err := p.acc.wait(ctx); err != nil {
				s.dataFailed(x, err, cleanup)
				return
			}
		}
		ready = func() (dataConn, error) { return p.acc.wait(ctx) }
	} else {
		tcp, err := s.dial(ctx, target)
		if err != nil {
			s.dataFailed(x, err, cleanup)
			return
		}
		ready = func() (dataConn, error) {
			if protect == nil {
				return dataConn{conn: tcp, tcp: tcp}, nil
			}
			hctx, cancel := context.WithTimeout(ctx, s.opts.TLSHandshakeTimeout)
			conn, err := protect(hctx, tcp)
			cancel()
			if err != nil {
				tcp.Close()
				return dataConn{}, err
			}
			return dataConn{conn: conn, tcp: tcp}, nil
		}
	}
	s.finishTransfer(ctx, x, func() (dataConn, bool) {
		dc, err := ready()
		if err != nil {
			s.dataFailed(x, err, cleanup)
			return dataConn{}, false
		}
		return dc, true
	}, opening, body, cleanup)
}

// dataReady is the open step of a data connection that is ready already.
func (s *session) dataReady(dc dataConn) func() (dataConn, bool) {
	return func() (dataConn, bool) { return dc, true }
}

// dataFailed ends a transfer whose data connection could not be had:
// cleanup, then the reply that says why.
func (s *session) dataFailed(x *transfer, err error, cleanup cleanupFunc) {
	if cleanup != nil {
		cleanup(brokenOff)
	}
	s.observeDataFailed(x)
	switch {
	case x.aborted.Load():
		s.reply(ftp.CodeTransferAborted, "Transfer aborted before the data connection opened.")
	case errors.Is(err, errNoReuse):
		s.reply(ftp.CodeDataTLSRefused, "Data connection must resume a TLS session of this client (same user, same address).")
	case errors.Is(err, errDataTLS):
		s.reply(ftp.CodeCantOpenData, "TLS handshake on the data connection failed.")
	default:
		s.log.Info("data connection failed", "verb", x.verb, "err", err)
		s.reply(ftp.CodeCantOpenData, "Cannot open data connection.")
	}
}

// finishTransfer runs a transfer over a data connection: 150, open (which
// completes TLS under PROT P and replies itself when it fails), the body,
// the close, cleanup and the final reply. Nothing of the body runs, so
// nothing is created or opened for an upload, before open succeeds.
func (s *session) finishTransfer(ctx context.Context, x *transfer, open func() (dataConn, bool),
	opening string, body xferBody, cleanup cleanupFunc) {
	s.reply(ftp.CodeFileStatusOK, opening)
	dc, ok := open()
	if !ok {
		return
	}
	s.observeDataConn(x, true)
	tcp, conn := dc.tcp, dc.conn

	stopClose := context.AfterFunc(ctx, func() { tcp.Close() })
	var stopWatch func()
	if x.small {
		// Too short to stall for long: a deadline bounds it, no watchdog.
		// A small transfer is a download, which only writes: one timer.
		tcp.SetWriteDeadline(time.Now().Add(s.opts.DataTimeout))
		stopWatch = func() {}
	} else {
		stopWatch = s.watchStall(ctx, tcp, x)
	}
	n, netErr, localErr := body(ctx, s.limitConn(ctx, conn), x)
	stopWatch()
	stopClose()
	if netErr == nil {
		// A clean close tells the client the data is complete (stream mode).
		netErr = conn.Close()
	} else {
		conn.Close()
	}
	ok = netErr == nil && localErr == nil && !x.aborted.Load()
	if cleanup != nil {
		end := completed
		switch {
		case localErr != nil:
			end = failedHere
		case !ok:
			end = brokenOff
		}
		if err := cleanup(end); err != nil && localErr == nil {
			localErr = err
			ok = false
		}
	}
	if err := s.checkUpload(ctx, x, n, ok); err != nil {
		localErr, ok = err, false
	}
	s.logTransfer(x, n, ok)
	s.observeTransfer(x, n, transferResult(x.aborted.Load(), netErr, localErr))
	switch {
	case x.aborted.Load():
		s.reply(ftp.CodeTransferAborted, "Transfer aborted.")
	case localErr != nil:
		s.observeStorageErr(x.user, x.verb, localErr)
		s.replyErr(localErr)
	case netErr != nil:
		s.log.Info("data connection broke", "verb", x.verb, "err", netErr)
		s.reply(ftp.CodeTransferAborted, "Data connection lost; transfer aborted.")
	default:
		s.reply(ftp.CodeClosingData, "Transfer complete.")
	}
}

// watchStall closes the data connection when a transfer makes no progress
// for DataTimeout. It returns a function that stops the watch.
func (s *session) watchStall(ctx context.Context, conn net.Conn, x *transfer) func() {
	limit := s.opts.DataTimeout
	tick := max(min(limit/4, 5*time.Second), 10*time.Millisecond)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(tick)
		defer t.Stop()
		last, since := x.pos(), time.Now()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				if p := x.pos(); p != last {
					last, since = p, now
				} else if now.Sub(since) >= limit {
					s.log.Info("data connection stalled; closing", "verb", x.verb, "after", limit.String())
					conn.Close()
					return
				}
			}
		}
	}()
	return func() { close(stop); <-done }
}

func (s *session) cmdABOR(string) error {
	s.xmu.Lock()
	x := s.xfer
	s.xmu.Unlock()
	if x == nil {
		s.closePassive()
		s.port = netipZero
		s.reply(ftp.CodeDataOpenNoTransfer, "No transfer to abort.")
		return nil
	}
	x.aborted.Store(true)
	x.cancel()
	<-x.done // the transfer replies 426 first
	s.reply(ftp.CodeClosingData, "ABOR command successful.")
	return nil
}

// countingWriter counts bytes for progress; it is only used on paths that
// are not zero-copy anyway.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

// countChunk is the most countingWriter passes on in one write, so that
// progress moves while a source that writes all at once (a WriterTo such as
// an in-memory file) is sent; it is io.Copy's own buffer size.
const countChunk = 32 << 10

func (c countingWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		n, err := c.w.Write(p[:min(len(p), countChunk)])
		c.n.Add(int64(n))
		total += n
		if err != nil {
			return total, err
		}
		p = p[n:]
	}
	return total, nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// classify separates an io.Copy error into a network error (the data
// connection failed or was closed) and a local one (storage failed).
func classify(err error) (netErr, localErr error) {
	var oe *net.OpError
	switch {
	case err == nil || errors.Is(err, io.EOF):
		return nil, nil
	case errors.As(err, &oe), errors.Is(err, net.ErrClosed), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, os.ErrDeadlineExceeded):
		return err, nil
	default:
		return nil, err
	}
}
