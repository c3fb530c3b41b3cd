package ftpclient

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
)

// earlyHashes lowers the early HASH threshold to 1 MiB and records how
// each early HASH ended, for one test.
type earlyHashes struct {
	mu   sync.Mutex
	sums [][]byte
	errs []error
}

func watchEarlyHashes(t *testing.T) *earlyHashes {
	e := &earlyHashes{}
	earlyHashAfter = 1 << 20
	earlyHashHook = func(algo string, sum []byte, err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if err == nil && algo != "CRC32" {
			err = errors.New("algorithm " + algo)
		}
		e.sums, e.errs = append(e.sums, sum), append(e.errs, err)
	}
	t.Cleanup(func() { earlyHashAfter, earlyHashHook = EarlyHashAfter, nil })
	return e
}

// only returns the one early HASH's result.
func (e *earlyHashes) only(t *testing.T) ([]byte, error) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.errs) != 1 {
		t.Fatalf("%d early HASHes, want 1", len(e.errs))
	}
	return e.sums[0], e.errs[0]
}

func TestABigDownloadAsksForTheHashWhileItRuns(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	ctx := testCtx(t)
	data := randomBytes(4<<20 + 3)
	want := binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	writeFile(t, filepath.Join(root, "big.bin"), data)

	t.Run("on a second connection, and the local digest is the stream's", func(t *testing.T) {
		e := watchEarlyHashes(t)
		cl := testClient(t, addr)
		cl.MaxConns = 2
		local := filepath.Join(t.TempDir(), "big.bin")
		hook := unlinkOnFirst(t, local) // the file cannot be read again by name
		var phases []string
		_, err := cl.Download(ctx, "big.bin", local, TransferOptions{
			Verify:     true,
			WrapWriter: func(w io.Writer) io.Writer { return hookWriter{w, hook} },
			Phase:      func(l string) { phases = append(phases, l) },
		})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := e.only(t)
		if err != nil || string(sum) != string(want[:]) {
			t.Fatalf("early HASH %x, %v; want %x", sum, err, want)
		}
		if len(phases) != 1 || phases[0] != "verifying CRC32" {
			t.Fatalf("phases %q", phases)
		}
	})
	t.Run("with no connection to spare it is asked after the transfer", func(t *testing.T) {
		e := watchEarlyHashes(t)
		cl := testClient(t, addr)
		cl.MaxConns = 1
		local := filepath.Join(t.TempDir(), "big.bin")
		if _, err := cl.Download(ctx, "big.bin", local, TransferOptions{Verify: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.only(t); !errors.Is(err, errNoEarlyHash) {
			t.Fatalf("early HASH: %v, want none", err)
		}
		mustEqualFile(t, local, data)
	})
	t.Run("a resumed download hashes its prefix once, then the stream", func(t *testing.T) {
		e := watchEarlyHashes(t)
		cl := testClient(t, addr)
		local := filepath.Join(t.TempDir(), "big.bin")
		writeFile(t, local, data[:1<<20+7])
		n, err := cl.Download(ctx, "big.bin", local, TransferOptions{Resume: true, Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(data)-(1<<20+7)) {
			t.Fatalf("fetched %d bytes", n)
		}
		if _, err := e.only(t); err != nil {
			t.Fatal(err)
		}
		mustEqualFile(t, local, data)
	})
	t.Run("a resumed download whose prefix is wrong fails", func(t *testing.T) {
		watchEarlyHashes(t)
		cl := testClient(t, addr)
		local := filepath.Join(t.TempDir(), "big.bin")
		bad := append([]byte{}, data[:1<<20]...)
		bad[100] ^= 1
		writeFile(t, local, bad)
		if _, err := cl.Download(ctx, "big.bin", local, TransferOptions{Resume: true, Verify: true}); !errors.Is(err, ErrVerify) {
			t.Fatalf("err %v, want ErrVerify", err)
		}
	})
}

func TestASegmentedDownloadIsVerifiedWithOneLocalRead(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	ctx := testCtx(t)
	data := randomBytes(6<<20 + 11)
	writeFile(t, filepath.Join(root, "seg.bin"), data)
	for _, conns := range []int{3, 4} { // no connection to spare; one
		t.Run("with "+string(rune('0'+conns))+" connections for 3 segments", func(t *testing.T) {
			e := watchEarlyHashes(t)
			cl := testClient(t, addr)
			cl.MaxConns = conns
			local := filepath.Join(t.TempDir(), "seg.bin")
			var phases []string
			if _, err := cl.DownloadSegmented(ctx, "seg.bin", local, 3, TransferOptions{Verify: true, Phase: func(l string) { phases = append(phases, l) }}, nil); err != nil {
				t.Fatal(err)
			}
			mustEqualFile(t, local, data)
			e.mu.Lock()
			early := len(e.errs)
			e.mu.Unlock()
			if want := conns - 3; early != want {
				t.Fatalf("%d early HASHes, want %d", early, want)
			}
			if len(phases) != 1 || phases[0] != "verifying CRC32" {
				t.Fatalf("phases %q", phases)
			}
		})
	}
	t.Run("a kept segment with wrong bytes fails verification", func(t *testing.T) {
		watchEarlyHashes(t)
		cl := testClient(t, addr)
		cl.MaxConns = 4
		local := filepath.Join(t.TempDir(), "seg.bin")
		part := append([]byte{}, data...)
		part[len(part)-5] ^= 1 // in the last segment, which the status file says is done
		writeFile(t, local, part)
		st := &segmentState{Remote: "seg.bin", Size: int64(len(data)), Segments: split(0, int64(len(data)), 3)}
		last := st.Segments[2]
		last.done.Store(last.End - last.Start)
		if err := st.save(local + SegmentStateSuffix); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.DownloadSegmented(ctx, "seg.bin", local, 3, TransferOptions{Resume: true, Verify: true}, nil); !errors.Is(err, ErrVerify) {
			t.Fatalf("err %v, want ErrVerify", err)
		}
	})
}

// openCounting counts the Opens of a storage (reads of a file).
type openCounting struct {
	storage.FS
	opens atomic.Int64
}

func (o *openCounting) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	o.opens.Add(1)
	return o.FS.Open(ctx, name, offset)
}

func TestAVerifiedUploadIsReadOnceOnEachSide(t *testing.T) {
	// SHA-256: the server hashes the upload as it arrives and answers
	// HASH from that. CRC32 (the default): the upload keeps splice and
	// the server reads the file back once for the HASH.
	for _, tc := range []struct {
		algos []string
		opens int64
	}{{[]string{"SHA-256"}, 0}, {nil, 1}} {
		fsys := &openCounting{FS: memfs.New()}
		srv := ftpservertest.Start(t, "127.0.0.1:0", ftpserver.Options{
			Auth: ftpservertest.Auth(ftpservertest.User{Name: testUser, Password: testPass, FS: fsys, Perms: ftpserver.PermAll}),
		})
		cl := NewClient(srv.Addr, Options{User: testUser, Password: testPass, Timeout: 10 * time.Second, HashAlgos: tc.algos})
		t.Cleanup(func() { cl.Close() })
		data := randomBytes(2<<20 + 9)
		local := filepath.Join(t.TempDir(), "u.bin")
		writeFile(t, local, data)
		hook := unlinkOnFirst(t, local) // the client cannot read it again by name
		_, err := cl.Upload(testCtx(t), local, "u.bin", TransferOptions{
			Verify:     true,
			WrapReader: func(r io.Reader) io.Reader { return hookReader{r, hook} },
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := fsys.opens.Load(); n != tc.opens {
			t.Fatalf("prefs %q: the server opened the upload %d times to answer HASH, want %d", tc.algos, n, tc.opens)
		}
	}
}
