package ftpclient

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"strings"

	"github.com/ferryftp/ferry/ftp"
)

// hashAlgos are the HASH algorithms (draft-bryan-ftpext-hash names) the
// client can verify with. CRC32 is the ISO 3309 / ITU-T V.42 CRC that
// zlib, gzip and PNG use (Go's crc32.IEEE), written as 8 hex digits,
// most significant first.
var hashAlgos = []struct {
	name string
	new  func() hash.Hash
}{
	{"CRC32", func() hash.Hash { return crc32.NewIEEE() }},
	{"SHA-256", sha256.New},
	{"SHA-512", sha512.New},
	{"SHA-1", sha1.New},
	{"MD5", md5.New},
}

// DefaultHashAlgos is the order in which verification picks a HASH
// algorithm the server offers when Options.HashAlgos is nil. CRC32 comes
// first: verification guards against transfers that went wrong (a
// truncated or corrupted file, a bug), not against a hostile server, which
// answers HASH itself anyway; CRC32 detects every burst error of up to 32
// bits and other damage with probability 1 − 2⁻³², and costs a few
// hundredths of a CPU second per GiB where SHA-256 costs half a second.
// Servers without CRC32 are verified with the strongest digest they offer.
var DefaultHashAlgos = []string{"CRC32", "SHA-256", "SHA-512", "SHA-1", "MD5"}

// HashAlgoName returns the draft-bryan-ftpext-hash name of a HASH
// algorithm the client knows, accepting any case and the spellings without
// a dash ("sha256", "crc-32"); ok is false for an unknown algorithm.
func HashAlgoName(name string) (string, bool) {
	squash := func(s string) string { return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "")) }
	for _, a := range hashAlgos {
		if squash(a.name) == squash(name) {
			return a.name, true
		}
	}
	return "", false
}

// hashChoice returns the first algorithm of the preference order
// (Options.HashAlgos, else DefaultHashAlgos) that the server offers in
// its FEAT HASH line, or "" when it offers none of them.
func (c *Conn) hashChoice() string {
	feat, ok := c.Feature("HASH")
	if !ok {
		return ""
	}
	offered := map[string]bool{}
	for a := range strings.SplitSeq(feat, ";") {
		if name, ok := HashAlgoName(strings.TrimSuffix(strings.TrimSpace(a), "*")); ok {
			offered[name] = true
		}
	}
	prefs := c.opts.HashAlgos
	if prefs == nil {
		prefs = DefaultHashAlgos
	}
	for _, p := range prefs {
		if name, ok := HashAlgoName(p); ok && offered[name] {
			return name
		}
	}
	return ""
}

// NewHash returns a hash.Hash for a HASH algorithm name, or nil.
func NewHash(algo string) hash.Hash {
	if name, ok := HashAlgoName(algo); ok {
		for _, a := range hashAlgos {
			if a.name == name {
				return a.new()
			}
		}
	}
	return nil
}

// announceHash tells the server, once per connection, that this session
// will ask for HASH digests with algo (OPTS HASH, draft-bryan-ftp-hash):
// ferry's server then hashes uploads as they arrive and answers the HASH
// after an upload without reading the file. A refusal is ignored (the HASH
// that follows decides); a lost connection shows in the next command.
func (c *Conn) announceHash(ctx context.Context, algo string) {
	if c.hashSaid {
		return
	}
	c.hashSaid = true
	if _, err := c.expect(ctx, 2, "OPTS HASH "+algo); err == nil {
		c.markHash(algo)
	}
}

// markHash records algo as the server's selected HASH algorithm (the
// FEAT line's "*").
func (c *Conn) markHash(algo string) {
	feat, ok := c.Feature("HASH")
	if !ok {
		return
	}
	var parts []string
	for a := range strings.SplitSeq(feat, ";") {
		a = strings.TrimSuffix(strings.TrimSpace(a), "*")
		if name, ok := HashAlgoName(a); ok && name == algo {
			a += "*"
		}
		parts = append(parts, a)
	}
	c.features["HASH"] = strings.Join(parts, ";")
}

// selectedHash returns the algorithm the FEAT line marks as selected.
func (c *Conn) selectedHash() string {
	feat, _ := c.Feature("HASH")
	for a := range strings.SplitSeq(feat, ";") {
		if s, ok := strings.CutSuffix(strings.TrimSpace(a), "*"); ok {
			name, _ := HashAlgoName(s)
			return name
		}
	}
	return ""
}

// Hash asks the server for the digest of a whole file with the HASH command
// (draft-bryan-ftpext-hash), with the first algorithm of the preference
// order (Options.HashAlgos) that the server offers, selecting it with OPTS
// HASH first when it is not the server's current one. It fails with an
// *ftp.Error 502 when the server has no HASH.
func (c *Conn) Hash(ctx context.Context, path string) (algo string, sum []byte, err error) {
	if !c.HasFeature("HASH") {
		return "", nil, fmt.Errorf("ftpclient: HASH %s: %w", path, &ftp.Error{Code: ftp.CodeNotImplemented, Message: "server does not offer HASH"})
	}
	if algo := c.hashChoice(); algo != "" && c.selectedHash() != algo {
		if _, err := c.expect(ctx, 2, "OPTS HASH "+algo); err != nil {
			return "", nil, err
		}
		c.markHash(algo)
	}
	rep, err := c.expect(ctx, 2, "HASH "+path)
	if err != nil {
		return "", nil, err
	}
	algo, sum, err = parseHashReply(rep.Message())
	if err != nil {
		return "", nil, fmt.Errorf("ftpclient: HASH %s: %w", path, err)
	}
	return algo, sum, nil
}

// parseHashReply parses the text of a 213 HASH reply,
// "SHA-256 0-1234 <hex> <path>". The hex digits may be in either case; a
// CRC32 written without its leading zeros (as some servers print a number)
// is padded to its 4 bytes.
func parseHashReply(msg string) (algo string, sum []byte, err error) {
	f := strings.Fields(msg)
	if len(f) < 3 {
		return "", nil, fmt.Errorf("%w: %q", ftp.ErrBadReply, msg)
	}
	algo = strings.ToUpper(f[0])
	if name, ok := HashAlgoName(algo); ok {
		algo = name
	}
	digits := f[2]
	if algo == "CRC32" && len(digits) < 8 {
		digits = strings.Repeat("0", 8-len(digits)) + digits
	}
	sum, err = hex.DecodeString(digits)
	if err != nil || len(sum) == 0 {
		return "", nil, fmt.Errorf("%w: %q", ftp.ErrBadReply, msg)
	}
	if h := NewHash(algo); h != nil && h.Size() != len(sum) {
		return "", nil, fmt.Errorf("%w: %s digest of %d bytes: %q", ftp.ErrBadReply, algo, len(sum), msg)
	}
	return algo, sum, nil
}
