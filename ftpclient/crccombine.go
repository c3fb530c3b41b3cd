package ftpclient

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"sync"

	"github.com/ferryftp/ferry/internal/hashpipe"
)

// CRC-32 (IEEE) of a file from the CRCs of its parts, as zlib's
// crc32_combine does: a segmented download hashes each segment once it is
// complete, by reading it back from the page cache while the other
// segments still arrive, and combines the results, instead of reading the
// whole file after the download.

// x2nTable[k] is x^(2^k) modulo the CRC polynomial (reflected).
var x2nTable = sync.OnceValue(func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	for k := range t {
		t[k] = p
		p = multModP(p, p)
	}
	return t
})

// multModP multiplies a and b modulo the CRC polynomial (both reflected).
func multModP(a, b uint32) uint32 {
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crc32.IEEE
		} else {
			b >>= 1
		}
	}
}

// crc32Combine returns the CRC of A followed by B from crc1 (A's), crc2
// (B's) and B's length: crc1 · x^(8·len2) + crc2.
func crc32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	p := uint32(1) << 31 // x^0
	t := x2nTable()
	for k := 3; len2 > 0; k, len2 = k+1, len2>>1 { // x^(8·len2) = x^(len2·2^3)
		if len2&1 != 0 {
			p = multModP(t[k&31], p)
		}
	}
	return multModP(p, crc1) ^ crc2
}

// crcParts holds the CRCs of consecutive ranges of a file, computed as the
// ranges complete, and gives the whole file's CRC once all are in.
type crcParts struct {
	name  string
	ends  []int64 // ends[i] is where range i ends; range 0 starts at 0
	mu    sync.Mutex
	crcs  []uint32
	have  []bool
	err   error
	wg    sync.WaitGroup
	inUse chan struct{} // bounds the ranges hashed at once
}

// newCRCParts prepares the CRC of the file name made of ranges ending at
// ends (ascending; the last is the file's size).
func newCRCParts(name string, ends []int64) *crcParts {
	c := &crcParts{name: name, ends: ends, crcs: make([]uint32, len(ends)), have: make([]bool, len(ends)), inUse: make(chan struct{}, 2)}
	start := int64(0)
	for i, end := range ends {
		c.have[i] = end == start // an empty range's CRC is 0
		start = end
	}
	return c
}

// done hashes range i in the background, now that its bytes are written.
// Safe on a nil *crcParts.
func (c *crcParts) done(i int) {
	if c == nil {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.inUse <- struct{}{}
		defer func() { <-c.inUse }()
		start := int64(0)
		if i > 0 {
			start = c.ends[i-1]
		}
		crc, err := crcRange(c.name, start, c.ends[i]-start)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.err = err
			return
		}
		c.crcs[i], c.have[i] = crc, true
	}()
}

// sum waits for the ranges handed to done and returns the file's CRC in
// HASH form (4 bytes, most significant first); ok is false when a range
// was not hashed (not done, or a read failed).
func (c *crcParts) sum() (b []byte, ok bool) {
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, false
	}
	var crc uint32
	start := int64(0)
	for i, end := range c.ends {
		if !c.have[i] {
			return nil, false
		}
		crc = crc32Combine(crc, c.crcs[i], end-start)
		start = end
	}
	return binary.BigEndian.AppendUint32(nil, crc), true
}

// crcRange reads n bytes of name from off and returns their CRC.
func crcRange(name string, off, n int64) (uint32, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	m, err := io.CopyBuffer(h, io.NewSectionReader(f, off, n), make([]byte, hashpipe.Chunk))
	if err == nil && m != n {
		err = io.ErrUnexpectedEOF
	}
	return h.Sum32(), err
}
