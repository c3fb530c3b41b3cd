package ftpserver_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

// crc32Hex is the CRC32 of s as HASH writes it: 8 lowercase hex digits.
func crc32Hex(s string) string { return fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(s))) }

func TestCRC32HashReplies(t *testing.T) {
	c, fsys, _ := hashServer(t, 0)
	if msg := c.Do(211, "FEAT"); !strings.Contains(msg, " HASH SHA-256*;SHA-1;MD5;CRC32\n") {
		t.Fatalf("FEAT lacks the HASH line with CRC32:\n%s", msg)
	}
	if msg := c.Do(200, "OPTS HASH crc32"); msg != "CRC32" {
		t.Fatalf("OPTS HASH crc32 = %q, want the draft's name CRC32", msg)
	}
	if msg := c.Do(200, "OPTS HASH"); msg != "CRC32" {
		t.Fatalf("OPTS HASH = %q, want the selected algorithm", msg)
	}
	// The check value of the CRC-32 of zlib and gzip (ISO 3309, ITU-T V.42).
	if err := fsys.WriteFile("check.txt", []byte("123456789")); err != nil {
		t.Fatal(err)
	}
	if msg := c.Do(213, "HASH check.txt"); msg != "CRC32 0-9 cbf43926 check.txt" {
		t.Fatalf("HASH = %q", msg)
	}
	// A CRC below 0x10000000 keeps its leading zeros: always 8 digits.
	var small string
	for i := 0; small == ""; i++ {
		if s := fmt.Sprint("data ", i); crc32.ChecksumIEEE([]byte(s)) < 0x10000000 {
			small = s
		}
	}
	if err := fsys.WriteFile("small.txt", []byte(small)); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("CRC32 0-%d %s small.txt", len(small), crc32Hex(small))
	if msg := c.Do(213, "HASH small.txt"); msg != want || !strings.HasPrefix(strings.Fields(msg)[2], "0") {
		t.Fatalf("HASH = %q, want %q", msg, want)
	}
	c.Do(501, "OPTS HASH CRC-64")
	if msg := c.Do(200, "OPTS HASH"); msg != "CRC32" {
		t.Fatalf("a refused OPTS HASH changed the algorithm to %q", msg)
	}
}

func TestCRC32CacheFollowsTheFile(t *testing.T) {
	c, fsys, _ := hashServer(t, 0)
	c.Do(200, "OPTS HASH CRC32")
	c.Stor("STOR", "u.bin", "uploaded")
	steps := []struct {
		name      string
		change    func()
		want      string
		wantOpens int64
	}{
		// CRC32 uploads keep splice(2): the first HASH reads the file back.
		{"the first HASH after a CRC32 upload reads the file", nil, crc32Hex("uploaded"), 1},
		{"the second is cached", nil, crc32Hex("uploaded"), 1},
		{"a new size is read again", func() { writeBehind(t, fsys, "u.bin", "uploaded, then changed") }, crc32Hex("uploaded, then changed"), 2},
		{"and cached again", nil, crc32Hex("uploaded, then changed"), 2},
		{"the same size with a new modification time is read again", func() {
			writeBehind(t, fsys, "u.bin", "UPLOADED, THEN CHANGED")
			fsys.Chtimes(context.Background(), "u.bin", time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC))
		}, crc32Hex("UPLOADED, THEN CHANGED"), 3},
		{"a new upload drops the entry", func() { c.Stor("STOR", "u.bin", "third") }, crc32Hex("third"), 4},
		{"SHA-256 is its own entry", func() { c.Do(200, "OPTS HASH SHA-256") }, sha256Hex("third"), 5},
		{"and CRC32's is still there", func() { c.Do(200, "OPTS HASH CRC32") }, crc32Hex("third"), 5},
		{"DELE drops it: a new file of the same name is read", func() {
			c.Do(250, "DELE u.bin")
			writeBehind(t, fsys, "u.bin", "third") // same content and size, new file
		}, crc32Hex("third"), 6},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change()
			}
			if got := hashDigest(t, c, "u.bin"); got != st.want {
				t.Fatalf("HASH %s, want %s", got, st.want)
			}
			if got := fsys.opens.Load(); got != st.wantOpens {
				t.Fatalf("%d opens, want %d", got, st.wantOpens)
			}
		})
	}
}
