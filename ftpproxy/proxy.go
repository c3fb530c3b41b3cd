package ftpproxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/internal/wire"
)

// ErrClosed is returned by Serve after Shutdown or Close.
var ErrClosed = errors.New("ftpproxy: proxy closed")

// Proxy is an FTP application-level gateway. Create it with New, run it with
// Serve, stop it with Shutdown or Close.
type Proxy struct {
	opts Options

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	perIP     map[netip.Addr]int
	closed    bool
	wg        sync.WaitGroup
	nextID    atomic.Uint64
}

// New checks opts and returns a Proxy.
func New(opts Options) (*Proxy, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	return &Proxy{
		opts:      opts,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
		perIP:     map[netip.Addr]int{},
	}, nil
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
func (p *Proxy) Serve(l net.Listener) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	p.listeners[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.listeners, l)
		p.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTemporary) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		p.startSession(c)
	}
}

var errTemporary = errors.New("temporary")

func (p *Proxy) startSession(c net.Conn) {
	client := addrPortOf(c.RemoteAddr())
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.Close()
		return
	}
	over := p.opts.MaxSessions > 0 && len(p.sessions) >= p.opts.MaxSessions ||
		p.opts.MaxSessionsPerIP > 0 && p.perIP[client.Addr()] >= p.opts.MaxSessionsPerIP
	if over {
		p.mu.Unlock()
		p.opts.Logger.Warn("session refused: too many sessions", "client", client.String())
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if p.opts.ClientTLSMode != TLSImplicit {
			wire.WriteReply(c, 421, "Too many connections, try again later.")
		}
		c.Close()
		return
	}
	s := newSession(p, c, p.nextID.Add(1))
	p.sessions[s] = struct{}{}
	p.perIP[client.Addr()]++
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		s.run()
		p.mu.Lock()
		delete(p.sessions, s)
		if p.perIP[client.Addr()]--; p.perIP[client.Addr()] <= 0 {
			delete(p.perIP, client.Addr())
		}
		p.mu.Unlock()
	}()
}

// Shutdown stops accepting connections, tells idle sessions goodbye and
// waits for sessions to end until ctx is done, then closes the rest.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	for l := range p.listeners {
		l.Close()
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		p.mu.Lock()
		for s := range p.sessions {
			s.closeIfIdle()
		}
		p.mu.Unlock()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			p.Close()
			<-done
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes all listeners and sessions at once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for l := range p.listeners {
		l.Close()
	}
	for s := range p.sessions {
		s.close()
	}
	p.mu.Unlock()
	return nil
}

// Sessions returns the number of open sessions.
func (p *Proxy) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}
