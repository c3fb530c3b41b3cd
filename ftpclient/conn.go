package ftpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/wire"
)

// PASVAddrPolicy says what to do with the address in a 227 (PASV) reply.
type PASVAddrPolicy uint8

const (
	// PASVAddrFixPrivate replaces a private, loopback, link-local,
	// CGNAT or unspecified address by the control connection's peer
	// address when that differs (the NAT fix). It is the default.
	PASVAddrFixPrivate PASVAddrPolicy = iota
	// PASVAddrUseControl always connects to the control peer address.
	PASVAddrUseControl
	// PASVAddrTrust connects to whatever address the server sent.
	PASVAddrTrust
)

// Options configures a Conn.
type Options struct {
	// User and Password log in; an empty User means "anonymous".
	User, Password string

	// TLS enables FTPS: explicit (AUTH TLS) unless ImplicitTLS is set. The
	// config is cloned; ServerName defaults to the dial host and
	// ClientSessionCache to a new LRU cache (see the package doc).
	TLS         *tls.Config
	ImplicitTLS bool

	// Active makes the server connect to us (EPRT/PORT). ActiveAddr is the
	// local IP to listen on and announce (default: the control
	// connection's local address); ActivePortMin/Max restrict the
	// listening port (default: any).
	Active                       bool
	ActiveAddr                   string
	ActivePortMin, ActivePortMax int

	// DisableEPSV uses PASV (and PORT rather than EPRT for IPv4) only.
	DisableEPSV bool
	// NoPipelining waits for the reply to EPSV before sending the transfer
	// command. By default, once an EPSV has succeeded on the connection,
	// a transfer sends EPSV and its command (RETR, STOR, LIST...) in one
	// write and saves a round trip per file (RFC 959 lets a client send a
	// command before the previous reply; the server answers in order).
	NoPipelining bool
	// PASVAddr is the policy for the address in PASV replies.
	PASVAddr PASVAddrPolicy
	// DisableMLSx lists with LIST and stats with SIZE/MDTM even when the
	// server offers MLSD/MLST.
	DisableMLSx bool
	// ListParsers parse LIST output; default ftp.DefaultListParsers.
	ListParsers []ftp.ListParser

	// Timeout bounds each command/reply exchange and each data connection
	// set-up (default 30s). Transfers themselves are bounded by the context.
	Timeout time.Duration
	// Dialer dials the control and passive data connections.
	Dialer *net.Dialer
	// DialContext, when set, replaces Dialer (for proxies and tests).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// HashAlgos is the order of preference of HASH algorithms
	// (draft-bryan-ftpext-hash names such as "CRC32" or "SHA-256") for
	// verification and Hash: the first one the server offers is used.
	// nil means DefaultHashAlgos; when the server offers none of them,
	// verification compares sizes.
	HashAlgos []string
	// Debug, when set, receives the control connection transcript
	// ("> CMD" / "< reply"), with passwords redacted.
	Debug io.Writer
}

func (o *Options) dial(ctx context.Context, addr string) (net.Conn, error) {
	if o.DialContext != nil {
		return o.DialContext(ctx, "tcp", addr)
	}
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	return d.DialContext(ctx, "tcp", addr)
}

// dialData dials a passive data connection: as dial, but without TCP
// keep-alive probes (a data connection carries bytes until it ends), which
// saves their set-up calls on every transfer.
func (o *Options) dialData(ctx context.Context, addr string) (net.Conn, error) {
	if o.DialContext != nil {
		return o.DialContext(ctx, "tcp", addr)
	}
	var d net.Dialer
	if o.Dialer != nil {
		d = *o.Dialer
	}
	d.KeepAlive = -1
	return d.DialContext(ctx, "tcp", addr)
}

func (o *Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 30 * time.Second
}

// ErrBroken is wrapped by the errors of a Conn whose control connection can
// no longer be used (closed, timed out, out of step).
var ErrBroken = errors.New("ftpclient: connection broken")

// Conn is one FTP control connection. Its methods must not be called
// concurrently; use Client for parallel work.
type Conn struct {
	opts     Options
	host     string
	conn     net.Conn // plain TCP or *tls.Conn
	r        *wire.Reader
	tlsConf  *tls.Config
	protP    bool
	features map[string]string
	hashSaid bool // OPTS HASH sent (announceHash)
	noEPSV   bool
	noEPRT   bool
	epsvOK   bool // an EPSV succeeded: transfers may pipeline it
	remoteIP netip.Addr
	localIP  netip.Addr

	mu     sync.Mutex
	broken error
}

// Dial connects to addr ("host:port"), logs in, negotiates TLS when
// configured, reads FEAT and switches to binary (TYPE I).
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("ftpclient: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, opts.timeout())
	defer cancel()
	raw, err := opts.dial(dctx, addr)
	if err != nil {
		return nil, fmt.Errorf("ftpclient: %w", err)
	}
	c := &Conn{opts: opts, host: host, conn: raw}
	c.remoteIP = addrOf(raw.RemoteAddr())
	c.localIP = addrOf(raw.LocalAddr())
	if opts.TLS != nil {
		c.tlsConf = opts.TLS.Clone()
		if c.tlsConf.ServerName == "" {
			c.tlsConf.ServerName = host
		}
		if c.tlsConf.ClientSessionCache == nil {
			c.tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(32)
		}
		if len(c.tlsConf.NextProtos) == 0 {
			c.tlsConf.NextProtos = []string{"ftp"} // ALPN, against cross-protocol attacks (ALPACA)
		}
	}
	if err := c.handshake(ctx); err != nil {
		c.conn.Close()
		return nil, err
	}
	return c, nil
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

func (c *Conn) handshake(ctx context.Context) error {
	if c.tlsConf != nil && c.opts.ImplicitTLS {
		if err := c.startTLS(ctx); err != nil {
			return err
		}
	}
	c.r = wire.NewReader(c.conn, 64<<10)
	rep, err := c.readReply(ctx)
	for err == nil && rep.Code == ftp.CodeServiceReadyIn {
		rep, err = c.readReply(ctx)
	}
	if err != nil {
		return err
	}
	if rep.Code != ftp.CodeServiceReady {
		return fmt.Errorf("ftpclient: greeting: %w", replyErr(rep))
	}
	if c.tlsConf != nil && !c.opts.ImplicitTLS {
		if _, err := c.expect(ctx, 2, "AUTH TLS"); err != nil {
			return err
		}
		if err := c.startTLS(ctx); err != nil {
			return err
		}
		c.r = wire.NewReader(c.conn, 64<<10)
	}
	if err := c.login(ctx); err != nil {
		return err
	}
	if c.tlsConf != nil {
		if _, err := c.expect(ctx, 2, "PBSZ 0"); err != nil {
			return err
		}
		if _, err := c.expect(ctx, 2, "PROT P"); err != nil {
			return err
		}
		c.protP = true
	}
	c.features = map[string]string{}
	if rep, err := c.cmd(ctx, "FEAT"); err == nil && rep.Code == ftp.CodeSystemStatus && len(rep.Lines) >= 2 {
		for _, l := range rep.Lines[1 : len(rep.Lines)-1] {
			l = strings.TrimSpace(l)
			name, arg, _ := strings.Cut(l, " ")
			if name != "" {
				c.features[strings.ToUpper(name)] = arg
			}
		}
	} else if err != nil {
		return err
	}
	if c.HasFeature("UTF8") {
		if _, err := c.cmd(ctx, "OPTS UTF8 ON"); err != nil {
			return err
		}
	}
	_, err = c.expect(ctx, 2, "TYPE I")
	return err
}

func (c *Conn) startTLS(ctx context.Context) error {
	tc := tls.Client(c.conn, c.tlsConf)
	hctx, cancel := context.WithTimeout(ctx, c.opts.timeout())
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("ftpclient: TLS handshake: %w", err)
	}
	c.conn = tc
	return nil
}

func (c *Conn) login(ctx context.Context) error {
	user, pass := c.opts.User, c.opts.Password
	if user == "" {
		user = "anonymous"
		if pass == "" {
			pass = "ferry@"
		}
	}
	rep, err := c.cmd(ctx, "USER "+user)
	if err != nil {
		return err
	}
	if rep.Code == ftp.CodeNeedPassword {
		rep, err = c.cmd(ctx, "PASS "+pass)
		if err != nil {
			return err
		}
	}
	if rep.Code/100 != 2 {
		return fmt.Errorf("ftpclient: login as %s: %w", user, replyErr(rep))
	}
	return nil
}

// HasFeature reports whether the server listed name (e.g. "MLST", "EPSV",
// "HASH") in its FEAT reply.
func (c *Conn) HasFeature(name string) bool {
	_, ok := c.features[strings.ToUpper(name)]
	return ok
}

// Feature returns the parameters of a FEAT line, e.g. "SHA-256*;MD5" for HASH.
func (c *Conn) Feature(name string) (string, bool) {
	v, ok := c.features[strings.ToUpper(name)]
	return v, ok
}

// TLS reports whether the control connection is protected by TLS.
func (c *Conn) TLS() bool { _, ok := c.conn.(*tls.Conn); return ok }

// Err returns the reason the Conn is broken, or nil.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

func (c *Conn) fail(err error) error {
	c.mu.Lock()
	if c.broken == nil {
		c.broken = fmt.Errorf("%w: %v", ErrBroken, err)
		c.conn.Close()
	}
	b := c.broken
	c.mu.Unlock()
	return b
}

// deadline sets the control connection's deadline for one exchange: the
// earlier of ctx's deadline and now+Timeout. The returned stop function
// undoes the context watch.
func (c *Conn) deadline(ctx context.Context) func() {
	d := time.Now().Add(c.opts.timeout())
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	c.conn.SetDeadline(d)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

func (c *Conn) send(ctx context.Context, line string) error {
	if err := c.Err(); err != nil {
		return err
	}
	if strings.ContainsAny(line, "\r\n") {
		return fmt.Errorf("ftpclient: refusing to send a command with CR or LF: %q", line)
	}
	c.debugf("> %s", redact(line))
	stop := c.deadline(ctx)
	defer stop()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return c.fail(ctxErr(ctx, err))
	}
	return nil
}

// sendTwo sends two command lines in one write.
func (c *Conn) sendTwo(ctx context.Context, first, second string) error {
	if strings.ContainsAny(first+second, "\r\n") {
		return fmt.Errorf("ftpclient: refusing to send a command with CR or LF: %q", first+"|"+second)
	}
	c.debugf("> %s", redact(first))
	c.debugf("> %s", redact(second))
	return c.sendRaw(ctx, first+"\r\n"+second+"\r\n")
}

// sendRaw writes lines, already terminated and checked, in one write.
func (c *Conn) sendRaw(ctx context.Context, lines string) error {
	if err := c.Err(); err != nil {
		return err
	}
	stop := c.deadline(ctx)
	defer stop()
	if _, err := io.WriteString(c.conn, lines); err != nil {
		return c.fail(ctxErr(ctx, err))
	}
	return nil
}

func (c *Conn) readReply(ctx context.Context) (ftp.Reply, error) {
	if err := c.Err(); err != nil {
		return ftp.Reply{}, err
	}
	stop := c.deadline(ctx)
	defer stop()
	rep, err := c.r.ReadReply()
	if err != nil {
		return rep, c.fail(ctxErr(ctx, err))
	}
	c.debugf("< %d %s", rep.Code, strings.Join(rep.Lines, "\n<     "))
	if rep.Code == ftp.CodeNotAvailable {
		c.fail(replyErr(rep))
		return rep, replyErr(rep)
	}
	return rep, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// cmd sends one command and reads its reply (any code).
func (c *Conn) cmd(ctx context.Context, line string) (ftp.Reply, error) {
	if err := c.send(ctx, line); err != nil {
		return ftp.Reply{}, err
	}
	return c.readReply(ctx)
}

// expect sends a command and requires a reply of class want (2 or 3).
func (c *Conn) expect(ctx context.Context, want int, line string) (ftp.Reply, error) {
	rep, err := c.cmd(ctx, line)
	if err != nil {
		return rep, err
	}
	if rep.Code/100 != want {
		verb, arg, _ := strings.Cut(redact(line), " ")
		if arg != "" {
			return rep, fmt.Errorf("ftpclient: %s %s: %w", verb, arg, replyErr(rep))
		}
		return rep, fmt.Errorf("ftpclient: %s: %w", verb, replyErr(rep))
	}
	return rep, nil
}

// Quote sends a raw command and returns the server's reply; a 4xx/5xx reply
// is returned as an *ftp.Error.
func (c *Conn) Quote(ctx context.Context, line string) (ftp.Reply, error) {
	rep, err := c.cmd(ctx, line)
	if err != nil {
		return rep, err
	}
	return rep, rep.Err()
}

func replyErr(rep ftp.Reply) error {
	if err := rep.Err(); err != nil {
		return err
	}
	return &ftp.Error{Code: rep.Code, Message: rep.Message()}
}

func redact(line string) string {
	if len(line) >= 5 && strings.EqualFold(line[:5], "PASS ") {
		return "PASS ****"
	}
	return line
}

func (c *Conn) debugf(format string, args ...any) {
	if c.opts.Debug != nil {
		fmt.Fprintf(c.opts.Debug, format+"\n", args...)
	}
}

// Noop sends NOOP.
func (c *Conn) Noop(ctx context.Context) error {
	_, err := c.expect(ctx, 2, "NOOP")
	return err
}

// Quit sends QUIT and closes the connection.
func (c *Conn) Quit(ctx context.Context) error {
	_, err := c.cmd(ctx, "QUIT")
	c.Close()
	return err
}

// Close closes the control connection without QUIT.
func (c *Conn) Close() error {
	c.fail(errors.New("closed"))
	return nil
}
