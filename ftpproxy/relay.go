package ftpproxy

import (
	"context"
	"io"
	"net"
	"sync"
)

// maxBlockedRelays bounds the data connections relayed with relayBlocking
// at once: each holds an OS thread while it sleeps in the kernel. Relays
// beyond it go on with Go's reads and writes through 128 KiB.
const maxBlockedRelays = 256

// relaySizes are the buffer sizes of a blocking relay, smallest first: it
// starts with the first and moves to the next each time a read fills the
// buffer. The largest is ftp-proxy's read size.
var relaySizes = [...]int{128 << 10, 512 << 10, 2 << 20, 4 << 20}

// relayBufs holds one pool per relay size.
var relayBufs [len(relaySizes)]sync.Pool

func init() {
	for i, size := range relaySizes {
		relayBufs[i].New = func() any { b := make([]byte, size); return &b }
	}
}

// relay copies src to dst until EOF on src (or an error, or ctx ending).
//
// It starts with Go's reads and writes through a 128 KiB buffer, which
// hold no thread while a connection waits. Once a read fills that buffer
// the transfer is fast, and between two plain TCP sockets the rest goes
// through relayBlocking: blocking read(2)/write(2) in the goroutine's
// thread through a buffer that grows to 4 MiB. io.Copy would splice(2)
// instead, which moves pages without copying them, but through a 64 KiB
// pipe on non-blocking sockets: a system call pair and a poller wake-up
// per 64 KiB. And spliced pages are the sender's: when the server sent a
// file with sendfile(2) they are its page cache, cold in the CPU caches,
// and the client's copy out of them is the slow step of the whole path.
// On the 2-core test VM, 1 GiB from vsftpd through the proxy ran 1.26–1.29×
// as fast as spliced (three sets of 12 alternated curl runs: 0.69–0.88× the
// direct rate against 0.53–0.64×); splice through a 1 MiB pipe in blocking
// mode was no faster than Go's. docs/BENCHMARKS.md ("Round 4: sendfile against a copy") has the
// figures.
func (p *Proxy) relay(ctx context.Context, dst, src net.Conn) (n int64, err error) {
	dt, ok1 := dst.(*net.TCPConn)
	st, ok2 := src.(*net.TCPConn)
	fast := ok1 && ok2
	buf := relayBufs[0].Get().(*[]byte)
	defer relayBufs[0].Put(buf)
	for {
		r, rerr := src.Read(*buf)
		if r > 0 {
			w, werr := dst.Write((*buf)[:r])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		switch {
		case rerr == io.EOF:
			return n, nil
		case rerr != nil:
			return n, rerr
		}
		if fast && r == len(*buf) {
			fast = false // one try
			if p.blockedRelays.Add(1) <= maxBlockedRelays {
				m, err, handled := relayBlocking(ctx, dt, st)
				p.blockedRelays.Add(-1)
				if handled {
					return n + m, err
				}
			} else {
				p.blockedRelays.Add(-1)
			}
		}
	}
}
