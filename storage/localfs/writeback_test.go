package localfs_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
)

// randomBytes returns n reproducible pseudo-random bytes, so that a chunk
// written at the wrong offset cannot go unnoticed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sendOverTCP returns the receiving end of a loopback TCP connection whose
// other end writes data and closes.
func sendOverTCP(t *testing.T, data []byte) *net.TCPConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		c.Write(data)
		c.Close()
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// feed copies data into w as the server would: ReadFrom a TCP connection
// (splice on Linux), or plain Writes of 1,000 bytes (the path of ASCII,
// hashing and TLS uploads).
func feed(t *testing.T, w io.Writer, data []byte, overTCP bool) {
	t.Helper()
	var n int64
	var err error
	if overTCP {
		n, err = w.(io.ReaderFrom).ReadFrom(sendOverTCP(t, data))
	} else {
		n, err = io.CopyBuffer(struct{ io.Writer }{w}, bytes.NewReader(data), make([]byte, 1000))
	}
	if err != nil || n != int64(len(data)) {
		t.Fatalf("copied %d of %d bytes: %v", n, len(data), err)
	}
}

func TestChunkedWriteback(t *testing.T) {
	const chunk = 64 << 10
	kinds := []struct {
		desc string
		old  int                     // bytes of the existing file (0: none)
		opts storage.CreateOptions   // of the upload
		keep func(old []byte) []byte // what of the old file precedes the upload
	}{
		{"a new file", 0, storage.CreateOptions{}, func([]byte) []byte { return nil }},
		{"a resume at REST " + fmt.Sprint(chunk+13), 2*chunk + 100, storage.CreateOptions{Offset: chunk + 13}, func(o []byte) []byte { return o[:chunk+13] }},
		{"a resume at REST 7", 100, storage.CreateOptions{Offset: 7}, func(o []byte) []byte { return o[:7] }},
		{"an APPE", chunk/2 + 5, storage.CreateOptions{Append: true}, func(o []byte) []byte { return o }},
	}
	sizes := []int{chunk - 1, chunk, chunk + 1, 2*chunk + 7, 5*chunk + 3}
	for _, mode := range bothModes {
		for _, k := range kinds {
			for _, size := range sizes {
				for _, overTCP := range []bool{true, false} {
					how := "written in 1,000-byte Writes"
					if overTCP {
						how = "read from TCP"
					}
					t.Run(fmt.Sprintf("%s of %d bytes %s %s is intact and synced", k.desc, size, how, mode.desc), func(t *testing.T) {
						f, dir := newFS(t, mode.opts)
						log := localfs.WatchSyncs(f, chunk)
						old := randomBytes(1, k.old)
						if k.old > 0 {
							os.WriteFile(filepath.Join(dir, "f"), old, 0o644)
						}
						data := randomBytes(uint64(size), size)
						w, err := f.Create(t.Context(), "f", k.opts)
						if err != nil {
							t.Fatal(err)
						}
						feed(t, w, data, overTCP)
						if err := w.Close(); err != nil {
							t.Fatal(err)
						}
						want := append(append([]byte(nil), k.keep(old)...), data...)
						got, err := os.ReadFile(filepath.Join(dir, "f"))
						if err != nil || !bytes.Equal(got, want) {
							t.Fatalf("file holds %d bytes (%v), want %d; equal: %v", len(got), err, len(want), bytes.Equal(got, want))
						}
						checkSyncs(t, log.Snapshot(), int64(len(want)), chunk, !overTCP)
					})
				}
			}
		}
	}
}

// checkSyncs checks the syncer's calls for an upload that left a file of
// size bytes: writeback started in contiguous ranges from 0 of at least a
// chunk each (exactly one after the first when loose is false) up to less
// than a chunk from the end; waits for a contiguous prefix of what was
// started, never for the range just started; then one fsync, last.
func checkSyncs(t *testing.T, events []localfs.SyncEvent, size, chunk int64, loose bool) {
	t.Helper()
	if len(events) == 0 || events[len(events)-1].Op != "sync" {
		t.Fatalf("events %v: want a sync last", events)
	}
	var started, waited int64
	var lastStart int64 = -1
	for i, e := range events[:len(events)-1] {
		switch e.Op {
		case "start":
			if !localfs.WritebackSupported {
				t.Fatalf("event %d %v on a system without writeback requests", i, e)
			}
			if e.Off != started || e.N < chunk || (!loose && lastStart >= 0 && e.N != chunk) {
				t.Fatalf("event %d %v: want a range from %d of a chunk (%d) or more", i, e, started, chunk)
			}
			lastStart, started = e.Off, e.Off+e.N
		case "await":
			if e.Off != waited || e.Off+e.N > lastStart {
				t.Fatalf("event %d %v: want a wait from %d ending before the range last started (%d)", i, e, waited, lastStart)
			}
			waited = e.Off + e.N
		default:
			t.Fatalf("event %d %v before the end", i, e)
		}
	}
	if localfs.WritebackSupported && size-started >= chunk {
		t.Errorf("writeback started up to %d of %d bytes; want less than a chunk (%d) left for the fsync", started, size, chunk)
	}
}

func TestNoSyncRequestsNoWriteback(t *testing.T) {
	for _, mode := range bothModes {
		t.Run("an upload with NoSync "+mode.desc+" asks for no writeback and no sync", func(t *testing.T) {
			opts := mode.opts
			opts.NoSync = true
			f, dir := newFS(t, opts)
			log := localfs.WatchSyncs(f, 1024)
			data := randomBytes(2, 10_000)
			w, err := f.Create(t.Context(), "f", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			feed(t, w, data, true)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			wantDisk(t, dir, "f", string(data))
			if ev := log.Snapshot(); len(ev) != 0 {
				t.Errorf("syncer calls %v, want none", ev)
			}
		})
	}
}

func TestWritebackAtFullChunkSize(t *testing.T) {
	// The default chunk (8 MiB) with the real system calls: 17 MiB and a
	// little more over TCP, byte for byte.
	data := randomBytes(3, 17<<20+5)
	for _, mode := range bothModes {
		t.Run("a 17 MiB upload read from TCP "+mode.desc+" is intact", func(t *testing.T) {
			f, dir := newFS(t, mode.opts)
			w, err := f.Create(t.Context(), "f", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			feed(t, w, data, true)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "f"))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("file holds %d bytes (%v), want %d identical", len(got), err, len(data))
			}
		})
	}
}
