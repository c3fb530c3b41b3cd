package ftpproxy

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/sessionbook"
	"github.com/ferryftp/ferry/internal/wire"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("ftpproxy: proxy closed")

// manyClients is how many client addresses with sessions at once make the
// proxy warn (once) that it forwards them without a PROXY header.
const manyClients = 10

// Proxy is an FTP application-level gateway. Create it with New, run it with
// Serve, stop it with Shutdown or Close.
type Proxy struct {
	opts Options
	book *sessionbook.Book // accept loop, caps, bans, shutdown tracking

	nextID      atomic.Uint64
	startWarned atomic.Bool
	noHdrWarned atomic.Bool

	blockedRelays atomic.Int64 // data connections in relayBlocking

	stats counters // behind Stats
}

// New checks opts and returns a Proxy.
func New(opts Options) (*Proxy, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Proxy{opts: *o, book: sessionbook.New(o.limits())}, nil
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (p *Proxy) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return p.Serve(l)
}

// Serve accepts control connections on l until the proxy is shut down. With
// ClientTLSMode TLSImplicit every connection starts with a TLS handshake.
// Temporary accept errors (such as running out of file descriptors) are
// retried after a pause.
func (p *Proxy) Serve(l net.Listener) error {
	p.warnNoProxyHeader()
	err := p.book.Serve(l, p.opts.Logger, p.startSession)
	if errors.Is(err, sessionbook.ErrClosing) {
		return ErrServerClosed
	}
	return err
}

// warnNoProxyHeader warns once, at start, when a reverse proxy forwards
// clients without a PROXY header: the backend then sees every client as the
// proxy's address, and its per-address caps and bans hit all clients at once.
func (p *Proxy) warnNoProxyHeader() {
	o := &p.opts
	if o.ProxyProtocol != 0 || o.Mode != ModeReverse || p.startWarned.Swap(true) {
		return
	}
	o.Logger.Warn("forwarding clients without a PROXY header: the server sees every client as the proxy's address, " +
		"so its per-address caps and login bans apply to all clients together; when the server reads PROXY headers " +
		"(ferry: proxy_protocol_from), set proxy_protocol = 2")
}

func (p *Proxy) startSession(c net.Conn) {
	client := addrPortOf(c.RemoteAddr())
	s := newSession(p, c, p.nextID.Add(1))
	entry, err := p.book.Admit(client.Addr(), s)
	if err != nil {
		msg := "Too many connections, try again later."
		switch {
		case errors.Is(err, sessionbook.ErrClosing):
			msg = "Proxy shutting down."
		case errors.Is(err, sessionbook.ErrBanned):
			msg = "Too many failed logins from your address; try again later."
		case errors.Is(err, sessionbook.ErrAddrFull):
			msg = "Too many connections from your address."
		}
		p.opts.Logger.Warn("session refused", "client", client.String(), "reason", msg)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if p.opts.ClientTLSMode != TLSImplicit {
			wire.WriteReply(c, ftp.CodeNotAvailable, msg)
		}
		c.Close()
		return
	}
	s.entry = entry
	defer entry.Release()
	p.stats.sessions.Add(1)
	if p.opts.ProxyProtocol == 0 {
		if n := p.book.Addresses(); n >= manyClients && !p.noHdrWarned.Swap(true) {
			p.opts.Logger.Warn("many clients forwarded without a PROXY header: servers see them all as the proxy's address "+
				"and may ban or cap it for everyone; set proxy_protocol when the servers read PROXY headers",
				"client_addresses", n)
		}
	}
	s.run()
}

// Shutdown stops accepting connections, tells idle sessions goodbye and
// waits for sessions to end until ctx is done, then closes the rest.
func (p *Proxy) Shutdown(ctx context.Context) error {
	_, idle := p.book.Shutdown()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, s := range p.book.Sessions() {
			s.(*session).closeIfIdle()
		}
		select {
		case <-idle:
			return nil
		case <-ctx.Done():
			p.Close()
			<-idle
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes all listeners and sessions at once.
func (p *Proxy) Close() error {
	live, _ := p.book.Shutdown()
	for _, s := range live {
		s.(*session).close()
	}
	return nil
}

// Sessions returns the number of open sessions.
func (p *Proxy) Sessions() int {
	n, _ := p.book.Len()
	return n
}
