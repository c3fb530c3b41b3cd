package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyHashChoosesTheAlgorithm(t *testing.T) {
	addr, root := clientServer(t)
	data := randomData(300_000)
	mustWrite(t, filepath.Join(root, "v.bin"), data)
	base := "ftp://alice:secret@" + addr
	cases := []struct {
		flag  []string
		phase string // on the progress line
		sent  string // in the transcript, "" for nothing to look for
	}{
		{nil, "verifying CRC32", "> OPTS HASH CRC32"},
		{[]string{"--verify-hash", "sha256"}, "verifying SHA-256", "> HASH v.bin"},
		{[]string{"--verify-hash", "SHA-512,md5"}, "verifying MD5", "> OPTS HASH MD5"}, // ferry has no SHA-512
		{[]string{"--verify-hash", "sha512"}, "verifying size", "> SIZE v.bin"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(append([]string{"get"}, tc.flag...), " "), func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "v.bin")
			args := append(append([]string{"get", "--progress", "--debug"}, tc.flag...), base+"/v.bin", dst)
			code, _, errOut := ferryCLI(t, args...)
			if code != 0 || !strings.Contains(errOut, tc.phase) || !strings.Contains(errOut, tc.sent) {
				t.Fatalf("exit %d, want 0, %q and %q in stderr:\n%s", code, tc.phase, tc.sent, errOut)
			}
			mustSame(t, dst, data)
			if tc.phase == "verifying size" && strings.Contains(errOut, "> HASH") {
				t.Fatalf("HASH sent although the server offers none of the algorithms asked for:\n%s", errOut)
			}
		})
	}
	t.Run("put with --verify-hash md5", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "u.bin")
		mustWrite(t, src, data)
		code, _, errOut := ferryCLI(t, "put", "--debug", "--verify-hash", "md5", src, base+"/u.bin")
		if code != 0 || !strings.Contains(errOut, "> OPTS HASH MD5") || !strings.Contains(errOut, "< 213 MD5 ") {
			t.Fatalf("exit %d:\n%s", code, errOut)
		}
		mustSame(t, filepath.Join(root, "u.bin"), data)
	})
	t.Run("an unknown algorithm is a usage error", func(t *testing.T) {
		code, _, errOut := ferryCLI(t, "get", "--verify-hash", "crc32,blake3", base+"/v.bin", filepath.Join(t.TempDir(), "x"))
		if code != exitUsage || !strings.Contains(errOut, `--verify-hash: unknown algorithm "blake3"`) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

// TestVerifyFallsBackToSizeOnServersWithoutHash runs verified transfers
// against the peer servers (no HASH): they are checked by size.
func TestVerifyFallsBackToSizeOnServersWithoutHash(t *testing.T) {
	for _, tg := range cliTargets()[1:] {
		t.Run("against "+tg.name, func(t *testing.T) {
			base, root, chown := tg.start(t)
			data := randomData(200_000)
			mustWrite(t, filepath.Join(root, "s.bin"), data)
			chown()
			dst := filepath.Join(t.TempDir(), "s.bin")
			code, _, errOut := ferryCLI(t, "get", "--progress", base+"/s.bin", dst)
			if code != 0 || !strings.Contains(errOut, "verifying size") {
				t.Fatalf("get: exit %d, stderr %q", code, errOut)
			}
			mustSame(t, dst, data)
			code, _, errOut = ferryCLI(t, "put", "--progress", dst, base+"/s2.bin")
			if code != 0 || !strings.Contains(errOut, "verifying size") {
				t.Fatalf("put: exit %d, stderr %q", code, errOut)
			}
			mustSame(t, filepath.Join(root, "s2.bin"), data)
		})
	}
}
