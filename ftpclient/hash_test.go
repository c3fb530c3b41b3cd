package ftpclient

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHashChoiceFallsBackToWhatTheServerOffers(t *testing.T) {
	cases := []struct {
		feat  string // the FEAT HASH line's argument; "-" for no HASH
		prefs []string
		want  string
	}{
		{"SHA-256*;SHA-1;MD5;CRC32", nil, "CRC32"},
		{"SHA-1;SHA-256*;MD5", nil, "SHA-256"}, // no CRC32: the strongest offered
		{"SHA-512;SHA-1*", nil, "SHA-512"},
		{"MD5*;SHA-1", nil, "SHA-1"},
		{"md5", nil, "MD5"},
		{"CRC32", nil, "CRC32"},
		{"SHA-3;BLAKE2*", nil, ""}, // nothing the client knows: a size check
		{"-", nil, ""},             // no HASH (vsftpd, pure-ftpd, proftpd without mod_digest)
		{"SHA-256*;CRC32", []string{"SHA-256"}, "SHA-256"},
		{"SHA-256*;CRC32", []string{"SHA-512"}, ""},
		{"SHA-256*;CRC32", []string{"sha1", "crc32"}, "CRC32"},
	}
	for _, tc := range cases {
		c := &Conn{opts: Options{HashAlgos: tc.prefs}, features: map[string]string{}}
		if tc.feat != "-" {
			c.features["HASH"] = tc.feat
		}
		if got := c.hashChoice(); got != tc.want {
			t.Errorf("FEAT HASH %q, prefs %q: choice %q, want %q", tc.feat, tc.prefs, got, tc.want)
		}
	}
}

func TestHashAlgoNameAcceptsCommonSpellings(t *testing.T) {
	for in, want := range map[string]string{"crc32": "CRC32", "CRC-32": "CRC32", "sha256": "SHA-256", "SHA-256": "SHA-256", " Sha-1 ": "SHA-1", "sha512": "SHA-512", "md5": "MD5"} {
		if got, ok := HashAlgoName(in); !ok || got != want {
			t.Errorf("HashAlgoName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "sha3", "crc", "xxh3"} {
		if got, ok := HashAlgoName(bad); ok {
			t.Errorf("HashAlgoName(%q) = %q, want unknown", bad, got)
		}
	}
}

// flipWriter and flipReader corrupt one byte at offset at of the stream
// that passes through them, as a faulty network path or disk would.
type flipWriter struct {
	w   io.Writer
	at  int64
	off *int64
}

func (f flipWriter) Write(b []byte) (int, error) {
	if i := f.at - *f.off; i >= 0 && i < int64(len(b)) {
		b = append([]byte(nil), b...)
		b[i] ^= 0x40
	}
	*f.off += int64(len(b))
	return f.w.Write(b)
}

type flipReader struct {
	r   io.Reader
	at  int64
	off *int64
}

func (f flipReader) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if i := f.at - *f.off; i >= 0 && i < int64(n) {
		b[i] ^= 0x40
	}
	*f.off += int64(n)
	return n, err
}

// TestCorruptionInFlightIsDetected corrupts one byte between the local
// file and the data connection, on each side of the local digest: a
// download's byte is changed before the client hashes and writes it (the
// bytes received are not the server's), an upload's after the client
// hashed it (the server stores other bytes than the local file's). Either
// way the server's digest differs from the client's.
func TestCorruptionInFlightIsDetected(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	ctx := testCtx(t)
	data := randomBytes(1<<20 + 17)
	writeFile(t, filepath.Join(root, "d.bin"), data)
	for _, algos := range [][]string{nil, {"SHA-256"}, {"MD5"}} {
		name := "default (CRC32)"
		if algos != nil {
			name = algos[0]
		}
		t.Run(name, func(t *testing.T) {
			var transcript bytes.Buffer
			cl := NewClient(addr, Options{User: testUser, Password: testPass, Timeout: 10 * time.Second, HashAlgos: algos, Debug: &transcript})
			cl.Retries = -1
			t.Cleanup(func() { cl.Close() })
			want := "CRC32"
			if algos != nil {
				want = algos[0]
			}
			for _, at := range []int64{0, 123_456, int64(len(data)) - 1} {
				var off int64
				local := filepath.Join(t.TempDir(), "d.bin")
				_, err := cl.Download(ctx, "d.bin", local, TransferOptions{Verify: true,
					WrapWriter: func(w io.Writer) io.Writer { return flipWriter{w, at, &off} }})
				if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), want) {
					t.Fatalf("download, byte %d corrupted: err %v, want ErrVerify by %s", at, err, want)
				}
				off = 0
				up := filepath.Join(t.TempDir(), "u.bin")
				writeFile(t, up, data)
				_, err = cl.Upload(ctx, up, "u.bin", TransferOptions{Verify: true,
					WrapReader: func(r io.Reader) io.Reader { return flipReader{r, at, &off} }})
				if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), want) {
					t.Fatalf("upload, byte %d corrupted: err %v, want ErrVerify by %s", at, err, want)
				}
			}
			if !strings.Contains(transcript.String(), "> OPTS HASH "+want) {
				t.Fatalf("no OPTS HASH %s in the transcript:\n%s", want, transcript.String())
			}
		})
	}
}

func TestAlgorithmsTheServerLacksMeanASizeCheck(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	ctx := testCtx(t)
	data := randomBytes(300_000)
	writeFile(t, filepath.Join(root, "d.bin"), data)
	var transcript bytes.Buffer
	cl := NewClient(addr, Options{User: testUser, Password: testPass, Timeout: 10 * time.Second, HashAlgos: []string{"SHA-512"}, Debug: &transcript})
	t.Cleanup(func() { cl.Close() })
	var phases []string
	local := filepath.Join(t.TempDir(), "d.bin")
	if _, err := cl.Download(ctx, "d.bin", local, TransferOptions{Verify: true, Phase: func(l string) { phases = append(phases, l) }}); err != nil {
		t.Fatal(err)
	}
	mustEqualFile(t, local, data)
	if len(phases) != 1 || phases[0] != "verifying size" {
		t.Fatalf("phases %q", phases)
	}
	if s := transcript.String(); strings.Contains(s, "> HASH") || strings.Contains(s, "> OPTS HASH") || !strings.Contains(s, "> SIZE d.bin") {
		t.Fatalf("transcript:\n%s", s)
	}
}
