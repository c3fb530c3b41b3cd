package ftpserver

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"io"
	"strings"

	"github.com/ferryftp/ferry/ftp"
)

// hashReadBuf is the size of the reads of a HASH that is not cached.
const hashReadBuf = 256 << 10

// hashAlgos are the HASH algorithms (draft-bryan-ftp-hash), in FEAT order.
// onReceive says whether uploads are hashed as they arrive (recvhash.go)
// in sessions that use the algorithm: for the cryptographic digests, whose
// CPU cost dominates, hashing beside the transfer beats reading the file
// after it. CRC32 costs so little that the copy through user space
// hashing on receive needs (instead of splice(2)) costs far more than the
// hash: its uploads keep splice and the HASH that follows reads the file
// back from the page cache (see docs/BENCHMARKS.md).
var hashAlgos = []struct {
	name      string
	new       func() hash.Hash
	onReceive bool
}{
	{"SHA-256", sha256.New, true},
	{"SHA-1", sha1.New, true},
	{"MD5", md5.New, true},
	{"CRC32", func() hash.Hash { return crc32.NewIEEE() }, false},
}

func hashAlgo(name string) (string, bool) {
	for _, a := range hashAlgos {
		if strings.EqualFold(a.name, strings.TrimSpace(name)) {
			return a.name, true
		}
	}
	return "", false
}

// featHash is the FEAT line: "HASH SHA-256*;SHA-1;MD5;CRC32".
func featHash(selected string) string {
	var b strings.Builder
	b.WriteString("HASH ")
	for i, a := range hashAlgos {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(a.name)
		if a.name == selected {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// cmdHASH answers "213 <algo> <start>-<end> <hex> <path>" for a whole file.
// A digest computed before is answered from the server's HASH cache while
// the file's size and modification time are unchanged.
func (s *session) cmdHASH(arg string) error {
	_, name, fi, err := s.fileArg(arg, PermRead)
	if err != nil {
		return err
	}
	cache := s.hashCache()
	s.hashWanted = true
	if sum, ok := cache.get(s.ident.FS, name, fi.Size(), fi.ModTime(), s.hashAlgo); ok {
		s.replyHash(fi.Size(), sum, arg)
		return nil
	}
	rc, err := s.ident.FS.Open(s.ctx, name, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	var h hash.Hash
	for _, a := range hashAlgos {
		if a.name == s.hashAlgo {
			h = a.new()
		}
	}
	// Large reads (the struct hides a file's WriteTo, which reads 32 KiB
	// at a time): a cold HASH of a big file is many fewer system calls.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{rc}, make([]byte, hashReadBuf))
	if err != nil {
		return err
	}
	sum := h.Sum(nil)
	// Cache it only if the file did not change while it was read.
	if n == fi.Size() {
		if after, err := s.ident.FS.Stat(s.ctx, name); err == nil && after.Size() == n && after.ModTime().Equal(fi.ModTime()) {
			cache.put(s.ident.FS, name, n, fi.ModTime(), s.hashAlgo, sum)
		}
	}
	s.replyHash(n, sum, arg)
	return nil
}

func (s *session) replyHash(n int64, sum []byte, arg string) {
	s.reply(ftp.CodeFileStatus, s.hashAlgo+" 0-"+itoa(n)+" "+hex.EncodeToString(sum)+" "+arg)
}
