package main

// The cost of verification as a user of the command line meets it: the
// whole wall-clock time of `ferry get` and `ferry put` processes, with
// verification (the default) and with --verify=false, against `ferry
// serve` and vsftpd (no HASH: a size check) on loopback. Off by default;
// run it as root (vsftpd runs as its own user) with
//
//	go test -run TestVerifyProcesses -v -timeout 1h ./bench -verify-proc-mib 1024 -verify-pairs 7
//
// Against ferry each row is measured per HASH algorithm the client is told
// to prefer (-verify-algos, passed as --verify-hash; default crc32 and
// sha256, so that the cost of CRC32 is seen beside SHA-256's in one run).
//
// Each pair runs the two commands back to back, their order alternating
// from pair to pair; the destination is removed before every run so both
// write a new file. It prints the median time of each command and the
// median of the per-pair ratios (verify / no verify), which holds better
// than the ratio of medians when the machine's speed drifts, and the
// median CPU time (user + system) of the client process and of the server
// (its process tree) during a run: the cost of verification in work done,
// which another process's load on the machine does not change much.

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/peers"
)

var (
	verifyProcMiB = flag.Int64("verify-proc-mib", 0, "MiB of the file for TestVerifyProcesses (0: skip the test)")
	verifyPairs   = flag.Int("verify-pairs", 5, "pairs (verify on, off) per case of TestVerifyProcesses")
	verifyAlgos   = flag.String("verify-algos", "crc32,sha256", "HASH algorithms (ferry --verify-hash values) to measure against ferry's server, comma-separated")
)

func TestVerifyProcesses(t *testing.T) {
	if *verifyProcMiB <= 0 {
		t.Skip("set -verify-proc-mib N to run the process-level verification benchmark")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	work := t.TempDir()
	ferry := filepath.Join(work, "ferry")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", ferry, "../cmd/ferry").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	src := filepath.Join(work, "src.bin")
	if err := writeRandomFile(src, *verifyProcMiB<<20); err != nil {
		t.Fatal(err)
	}
	type server struct {
		name, url, root string
		chown           func() error
		pid             int
	}
	root := t.TempDir()
	addr, pid := startFerryServe(t, ctx, ferry, root)
	servers := []server{{"ferry", "ftp://" + addr + "/", root, nil, pid}}
	if err := peers.Available(peers.Vsftpd); err == nil {
		p := peers.Start(t, peers.Vsftpd, peers.Options{})
		servers = append(servers, server{"vsftpd", "ftp://" + p.User + ":" + p.Password + "@" + p.Addr + "/", p.Root, p.Chown, p.Pid()})
	} else {
		t.Logf("vsftpd not measured: %v", err)
	}
	fmt.Printf("\n%d MiB, %d pairs, medians of whole-process wall-clock times\n", *verifyProcMiB, *verifyPairs)
	fmt.Printf("| server | command | --verify=false | verify | verify / no verify (median of pairs) | client CPU off → on | server CPU off → on |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range servers {
		if err := os.Link(src, filepath.Join(s.root, "dl.bin")); err != nil {
			t.Fatal(err)
		}
		if s.chown != nil {
			if err := s.chown(); err != nil {
				t.Fatal(err)
			}
		}
		dst := filepath.Join(work, "dst.bin")
		remoteUp := filepath.Join(s.root, "up.bin")
		get := func(verify bool) []string {
			return []string{"get", "-q", "--verify=" + fmt.Sprint(verify), s.url + "dl.bin", dst}
		}
		put := func(verify bool) []string {
			return []string{"put", "-q", "--verify=" + fmt.Sprint(verify), src, s.url + "up.bin"}
		}
		touch := func() { // a new modification time: the server's HASH cache misses
			now := time.Now()
			os.Chtimes(filepath.Join(s.root, "dl.bin"), now, now)
		}
		type procCase struct {
			name   string
			args   func(bool) []string
			before func()
		}
		cases := []procCase{
			{"ferry get (size check)", get, func() { os.Remove(dst) }},
			{"ferry put (size check)", put, func() { os.Remove(remoteUp) }},
		}
		if s.name == "ferry" {
			cases = nil
			for algo := range strings.SplitSeq(*verifyAlgos, ",") {
				algo = strings.TrimSpace(algo)
				// The --verify=false run gets the same arguments: the
				// flag changes nothing when verification is off.
				with := func(args func(bool) []string, extra ...string) func(bool) []string {
					return func(verify bool) []string {
						a := args(verify)
						return append(append([]string{a[0], "--verify-hash", algo}, extra...), a[1:]...)
					}
				}
				cases = append(cases,
					procCase{"ferry get, " + algo + ", server's HASH cache cold", with(get), func() { os.Remove(dst); touch() }},
					procCase{"ferry get, " + algo + ", server's HASH cache warm", with(get), func() { os.Remove(dst) }},
					procCase{"ferry get --segments 4, " + algo + ", cache cold", with(get, "--segments", "4"), func() { os.Remove(dst); touch() }},
					procCase{"ferry put, " + algo, with(put), func() { os.Remove(remoteUp) }},
				)
			}
		}
		for _, c := range cases {
			var off, on, ratio []float64
			var cpu [2][2][]float64 // [client, server][off, on]
			for i := range *verifyPairs {
				var pair [2]float64
				for j := range 2 {
					verify := (i+j)%2 == 0 // alternate the order
					c.before()
					srv0 := treeCPU(s.pid)
					d, ccpu, err := runTimed(ctx, ferry, c.args(verify))
					if err != nil {
						t.Fatalf("%s %s: %v", s.name, c.name, err)
					}
					k := 0
					if verify {
						k = 1
					}
					cpu[0][k] = append(cpu[0][k], ccpu)
					cpu[1][k] = append(cpu[1][k], (treeCPU(s.pid) - srv0).Seconds())
					if verify {
						pair[1] = d
					} else {
						pair[0] = d
					}
				}
				off, on, ratio = append(off, pair[0]), append(on, pair[1]), append(ratio, pair[1]/pair[0])
			}
			fmt.Printf("| %s | %s | %.2f s | %.2f s | %.2f (%+.0f%%) | %.2f → %.2f s | %.2f → %.2f s |\n", s.name, c.name, medianF(off), medianF(on), medianF(ratio), (medianF(ratio)-1)*100,
				medianF(cpu[0][0]), medianF(cpu[0][1]), medianF(cpu[1][0]), medianF(cpu[1][1]))
			t.Logf("%s %s: off %.2f, on %.2f, ratios %.2f", s.name, c.name, off, on, ratio)
		}
	}
}

// runTimed runs ferry with args and returns its wall-clock seconds and its
// CPU seconds (user + system).
func runTimed(ctx context.Context, ferry string, args []string) (wall, cpu float64, err error) {
	cmd := exec.CommandContext(ctx, ferry, args...)
	cmd.Env = append(os.Environ(), "FERRY_PASSWORD=")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start).Seconds()
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s: %v\n%s", ferry, strings.Join(args, " "), err, out)
	}
	return d, (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), nil
}

// startFerryServe runs `ferry serve --write` on root (anonymous users,
// the defaults of quick mode) on a free loopback port and returns its
// address and process id once it listens.
func startFerryServe(t *testing.T, ctx context.Context, ferry, root string) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.CommandContext(ctx, ferry, "serve", "--write", "--listen", addr, root)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening") {
				ready <- true
				io.Copy(io.Discard, stderr)
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("ferry serve exited before it listened")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ferry serve did not listen within 30 s")
	}
	return addr, cmd.Process.Pid
}
