package main

// The cost of verification as users meet it: ferry get/put with and
// without --verify, through the real client (ftpclient), against ferry
// (HASH) and vsftpd (no HASH: a size check). Off by default; run it with
//
//	go test -run TestVerifyOverhead -v -verify-mib 1024 -verify-rounds 3 ./bench
//
// It prints, per server and direction, the median wall-clock time of a
// transfer without verification, with it, and the overhead in per cent.
// ferry's download is measured twice: with the server's HASH cache cold
// (the file touched before each round, so the server reads it to hash it)
// and warm (the digest cached by the previous round's HASH).

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpclient"
	"github.com/ferryftp/ferry/internal/peers"
)

var (
	verifyMiB    = flag.Int64("verify-mib", 0, "MiB of the file for TestVerifyOverhead (0: skip the test)")
	verifyRounds = flag.Int("verify-rounds", 3, "rounds of TestVerifyOverhead (median reported)")
)

type verifyCase struct {
	name  string
	run   func(ctx context.Context, verify bool) error
	touch func() // before each verified round (cold cache), or nil
}

func TestVerifyOverhead(t *testing.T) {
	if *verifyMiB <= 0 {
		t.Skip("set -verify-mib N to run the verification benchmark")
	}
	size := *verifyMiB << 20
	ctx := context.Background()
	work := t.TempDir()
	src := filepath.Join(work, "src.bin")
	if err := writeRandomFile(src, size); err != nil {
		t.Fatal(err)
	}
	type server struct {
		name, addr, user, pass, root string
		chown                        func() error
	}
	var servers []server
	root := t.TempDir()
	addr, _ := transferServer(t, root, false)
	servers = append(servers, server{"ferry", addr, "u", "p", root, nil})
	if err := peers.Available(peers.Vsftpd); err == nil {
		p := peers.Start(t, peers.Vsftpd, peers.Options{})
		servers = append(servers, server{"vsftpd", p.Addr, p.User, p.Password, p.Root, p.Chown})
	} else {
		t.Logf("vsftpd not measured: %v", err)
	}
	fmt.Printf("\n%d MiB, %d rounds, medians (wall clock of one transfer)\n", *verifyMiB, *verifyRounds)
	fmt.Printf("| server | transfer | no verify | verify | overhead |\n| --- | --- | --- | --- | --- |\n")
	for _, s := range servers {
		cl := ftpclient.NewClient(s.addr, ftpclient.Options{User: s.user, Password: s.pass, Timeout: time.Minute})
		t.Cleanup(func() { cl.Close() })
		remote := filepath.Join(s.root, "dl.bin")
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(remote, data, 0o644); err != nil {
			t.Fatal(err)
		}
		data = nil
		if s.chown != nil { // the peer runs as its own user
			if err := s.chown(); err != nil {
				t.Fatal(err)
			}
		}
		dst := filepath.Join(work, "dst-"+s.name)
		download := func(ctx context.Context, verify bool) error {
			_, err := cl.Download(ctx, "dl.bin", dst, ftpclient.TransferOptions{Verify: verify})
			return err
		}
		upload := func(ctx context.Context, verify bool) error {
			_, err := cl.Upload(ctx, src, "up.bin", ftpclient.TransferOptions{Verify: verify})
			return err
		}
		cases := []verifyCase{{"download", download, nil}, {"upload", upload, nil}}
		if s.name == "ferry" {
			touch := func() {
				now := time.Now()
				os.Chtimes(remote, now, now)
			}
			cases = []verifyCase{
				{"download, server cache cold", download, touch},
				{"download, server cache warm", download, nil},
				{"upload", upload, nil},
			}
		}
		for _, c := range cases {
			var off, on []float64
			for range *verifyRounds {
				d, err := timed(ctx, c.run, false)
				if err != nil {
					t.Fatalf("%s %s: %v", s.name, c.name, err)
				}
				off = append(off, d)
				if c.touch != nil {
					c.touch()
				}
				d, err = timed(ctx, c.run, true)
				if err != nil {
					t.Fatalf("%s %s verified: %v", s.name, c.name, err)
				}
				on = append(on, d)
			}
			mOff, mOn := medianF(off), medianF(on)
			fmt.Printf("| %s | %s | %.2f s | %.2f s | %+.0f%% |\n", s.name, c.name, mOff, mOn, (mOn/mOff-1)*100)
		}
	}
}

func timed(ctx context.Context, fn func(context.Context, bool) error, verify bool) (float64, error) {
	start := time.Now()
	err := fn(ctx, verify)
	return time.Since(start).Seconds(), err
}

func medianF(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
