package ftpclient_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/ferryftp/ferry/ftpclient"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage/memfs"
)

// startServer runs an in-memory ferry server for the examples and returns
// its address; a real program dials its server's "host:21".
func startServer() (string, func()) {
	files := memfs.New()
	if err := files.MkdirAll("reports"); err != nil {
		log.Fatal(err)
	}
	for name, text := range map[string]string{
		"reports/2026-11.csv": "day,orders\n1,12\n",
		"reports/2026-12.csv": "day,orders\n1,15\n2,9\n",
	} {
		if err := files.WriteFile(name, []byte(text)); err != nil {
			log.Fatal(err)
		}
	}
	auth := ftpserver.AuthenticatorFunc(func(ctx context.Context, l ftpserver.LoginInfo) (*ftpserver.Identity, error) {
		if l.User != "alice" || l.Password != "secret" {
			return nil, ftpserver.ErrAuthFailed
		}
		return &ftpserver.Identity{User: l.User, FS: files, Perms: ftpserver.PermReadOnly}, nil
	})
	srv, err := ftpserver.New(ftpserver.Options{Auth: auth})
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)
	return l.Addr().String(), func() { srv.Shutdown(context.Background()) }
}

// List a directory and download each file with a Client: a pool of
// control connections with retries, resume and verification (HASH when
// the server offers it, else size).
func Example() {
	addr, stop := startServer()
	defer stop()
	ctx := context.Background()

	cl := ftpclient.NewClient(addr, ftpclient.Options{User: "alice", Password: "secret"})
	defer cl.Close()
	var names []string
	err := cl.Do(ctx, func(c *ftpclient.Conn) error {
		entries, err := c.List(ctx, "reports")
		for _, e := range entries {
			names = append(names, e.Name)
		}
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "reports")
	defer os.RemoveAll(dir)
	for _, name := range names {
		n, err := cl.Download(ctx, "reports/"+name, filepath.Join(dir, name), ftpclient.TransferOptions{Verify: true})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d bytes, verified\n", name, n)
	}
	// Output:
	// 2026-11.csv: 16 bytes, verified
	// 2026-12.csv: 20 bytes, verified
}
