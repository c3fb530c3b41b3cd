package ftpproxy_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"

	"github.com/ferryftp/ferry/ftpclient"
	"github.com/ferryftp/ferry/ftpproxy"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage/memfs"
)

// A reverse proxy in front of one FTP server: clients connect to the
// proxy, which relays the control connection, rewrites the addresses in
// PASV/EPSV replies to its own and splices the data connections. Here the
// backend is an in-memory ferry server; in production it is any FTP server
// behind a firewall, and the proxy listens on ":21".
func Example() {
	backend := startBackend()

	p, err := ftpproxy.New(ftpproxy.Options{
		Mode:    ftpproxy.ModeReverse,
		Backend: backend,
		// DataPortMin/DataPortMax: the passive range to open in the
		// firewall; zero lets the kernel choose.
	})
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go p.Serve(l)
	defer p.Close()

	ctx := context.Background()
	c, err := ftpclient.Dial(ctx, l.Addr().String(), ftpclient.Options{User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Quit(ctx)
	var got bytes.Buffer
	if _, err := c.Retr(ctx, "motd.txt", 0, &got); err != nil {
		log.Fatal(err)
	}
	fmt.Print(got.String())
	// Output: served through the proxy
}

// startBackend runs the FTP server the proxy forwards to.
func startBackend() string {
	files := memfs.New()
	if err := files.WriteFile("motd.txt", []byte("served through the proxy\n")); err != nil {
		log.Fatal(err)
	}
	srv, err := ftpserver.New(ftpserver.Options{
		Auth: ftpserver.AuthenticatorFunc(func(ctx context.Context, l ftpserver.LoginInfo) (*ftpserver.Identity, error) {
			if l.User != "alice" || l.Password != "secret" {
				return nil, ftpserver.ErrAuthFailed
			}
			return &ftpserver.Identity{User: l.User, FS: files, Perms: ftpserver.PermReadOnly}, nil
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)
	return l.Addr().String()
}
