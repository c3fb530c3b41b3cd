package ftpclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCRC32CombineMatchesTheWholeCRC(t *testing.T) {
	data := randomBytes(1<<20 + 13)
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		i := rnd.IntN(len(data) + 1)
		if rnd.IntN(8) == 0 {
			i = []int{0, len(data)}[rnd.IntN(2)] // an empty part
		}
		a, b := data[:i], data[i:]
		got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b)))
		if want := crc32.ChecksumIEEE(data); got != want {
			t.Fatalf("split at %d: %08x, want %08x", i, got, want)
		}
	}
}

func TestCRCPartsGivesTheFilesCRCOnlyWhenEveryRangeIsIn(t *testing.T) {
	data := randomBytes(3<<20 + 5)
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ends := []int64{1000, 1<<20 + 7, 1<<20 + 7, 2 << 20, int64(len(data))} // an empty range too
	c := newCRCParts(name, ends)
	for _, i := range []int{3, 0, 4, 2} {
		c.done(i)
	}
	if _, ok := c.sum(); ok {
		t.Fatal("a sum without range 1")
	}
	c.done(1)
	b, ok := c.sum()
	if !ok || binary.BigEndian.Uint32(b) != crc32.ChecksumIEEE(data) {
		t.Fatalf("sum %x, %v; want %08x", b, ok, crc32.ChecksumIEEE(data))
	}
	short := newCRCParts(name, []int64{int64(len(data)) + 1}) // beyond the end
	short.done(0)
	if _, ok := short.sum(); ok {
		t.Fatal("a sum over bytes the file does not have")
	}
}

func TestSegmentedDownloadCombinesSegmentCRCs(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	ctx := testCtx(t)
	data := randomBytes(3*MinSegment + 12345)
	writeFile(t, filepath.Join(root, "seg.bin"), data)
	var fullReads atomic.Int64
	fileDigestHook = func(string) { fullReads.Add(1) }
	t.Cleanup(func() { fileDigestHook, segmentDoneHook = nil, nil })
	for _, tc := range []struct {
		algos     []string
		fullReads int64
	}{{nil, 0}, {[]string{"SHA-256"}, 1}} {
		t.Run(fmt.Sprint("prefs ", tc.algos), func(t *testing.T) {
			fullReads.Store(0)
			cl := NewClient(addr, Options{User: testUser, Password: testPass, Timeout: 10 * time.Second, HashAlgos: tc.algos})
			t.Cleanup(func() { cl.Close() })
			local := filepath.Join(t.TempDir(), "seg.bin")
			if _, err := cl.DownloadSegmented(ctx, "seg.bin", local, 3, TransferOptions{Verify: true}, nil); err != nil {
				t.Fatal(err)
			}
			mustEqualFile(t, local, data)
			if got := fullReads.Load(); got != tc.fullReads {
				t.Fatalf("%d reads of the whole file, want %d", got, tc.fullReads)
			}
		})
	}
	t.Run("a segment damaged on its way is caught", func(t *testing.T) {
		cl := testClient(t, addr)
		var once sync.Once
		segmentDoneHook = func(local string, s *segment) {
			if s.Start == 0 {
				return
			}
			once.Do(func() { // flip a byte of the first other segment to finish
				f, err := os.OpenFile(local, os.O_RDWR, 0)
				if err != nil {
					t.Error(err)
					return
				}
				defer f.Close()
				b := make([]byte, 1)
				f.ReadAt(b, s.Start+7)
				b[0] ^= 0x80
				f.WriteAt(b, s.Start+7)
			})
		}
		local := filepath.Join(t.TempDir(), "seg.bin")
		if _, err := cl.DownloadSegmented(ctx, "seg.bin", local, 3, TransferOptions{Verify: true}, nil); !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "CRC32") {
			t.Fatalf("err %v, want ErrVerify by CRC32", err)
		}
	})
}
