package ftpserver_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/ferryftp/ferry/ftpclient"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage/memfs"
)

// An embedded server: files in memory, one account checked by a custom
// Authenticator. Real deployments keep hashed passwords (package
// userstore) and files on disk or in S3 (storage/localfs, storage/s3fs).
func Example() {
	files := memfs.New()
	if err := files.WriteFile("hello.txt", []byte("hello from ferry\n")); err != nil {
		log.Fatal(err)
	}

	auth := ftpserver.AuthenticatorFunc(func(ctx context.Context, l ftpserver.LoginInfo) (*ftpserver.Identity, error) {
		if l.User != "scanner" || l.Password != "s3cret" {
			return nil, ftpserver.ErrAuthFailed // 530, after the login-failure delay
		}
		return &ftpserver.Identity{User: l.User, FS: files, Perms: ftpserver.PermAll}, nil
	})
	srv, err := ftpserver.New(ftpserver.Options{Auth: auth})
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // ":21" in production
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) // lets running transfers finish
	}()

	// A client uploads a scan and downloads the greeting.
	ctx := context.Background()
	c, err := ftpclient.Dial(ctx, l.Addr().String(), ftpclient.Options{User: "scanner", Password: "s3cret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Quit(ctx)
	if _, err := c.Stor(ctx, "scan-0001.pdf", 0, bytes.NewReader([]byte("%PDF-1.7 ..."))); err != nil {
		log.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := c.Retr(ctx, "hello.txt", 0, &got); err != nil {
		log.Fatal(err)
	}
	stored, _ := files.ReadFile("scan-0001.pdf")
	fmt.Print(got.String())
	fmt.Printf("stored %d bytes\n", len(stored))
	// Output:
	// hello from ferry
	// stored 12 bytes
}
