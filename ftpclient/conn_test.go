package ftpclient

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
)

type mode struct {
	name string
	v6   bool
	opts Options
}

var modes = []mode{
	{"passive EPSV over IPv4", false, Options{}},
	{"passive PASV over IPv4", false, Options{DisableEPSV: true}},
	{"active EPRT over IPv4", false, Options{Active: true}},
	{"active PORT over IPv4", false, Options{Active: true, DisableEPSV: true}},
	{"passive EPSV over IPv6", true, Options{}},
	{"active EPRT over IPv6", true, Options{Active: true}},
}

func TestTransfersWorkInEveryDataConnectionMode(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if m.v6 {
				ipv6Available(t)
				addr = "[::1]:0"
			}
			addr, root := server(t, addr)
			c := dial(t, addr, m.opts)
			ctx := testCtx(t)
			data := randomBytes(300_000)
			if n, err := c.Stor(ctx, "up.bin", 0, bytes.NewReader(data)); err != nil || n != int64(len(data)) {
				t.Fatalf("Stor = %d, %v", n, err)
			}
			mustEqualFile(t, filepath.Join(root, "up.bin"), data)
			var buf bytes.Buffer
			if n, err := c.Retr(ctx, "up.bin", 0, &buf); err != nil || n != int64(len(data)) {
				t.Fatalf("Retr = %d, %v", n, err)
			}
			if !bytes.Equal(buf.Bytes(), data) {
				t.Fatal("downloaded bytes differ")
			}
			buf.Reset()
			if _, err := c.Retr(ctx, "up.bin", 1000, &buf); err != nil || !bytes.Equal(buf.Bytes(), data[1000:]) {
				t.Fatalf("Retr from offset 1000: %v (%d bytes)", err, buf.Len())
			}
			if _, err := c.Append(ctx, "up.bin", strings.NewReader("tail")); err != nil {
				t.Fatal(err)
			}
			mustEqualFile(t, filepath.Join(root, "up.bin"), append(data, "tail"...))
			entries, err := c.List(ctx, "")
			if err != nil || len(entries) != 1 || entries[0].Name != "up.bin" || entries[0].Size != int64(len(data)+4) {
				t.Fatalf("List = %+v, %v", entries, err)
			}
			raw, err := c.ListRaw(ctx, "/")
			if err != nil || len(raw) != 1 || raw[0].Name != "up.bin" || raw[0].Size != int64(len(data)+4) {
				t.Fatalf("ListRaw = %+v, %v", raw, err)
			}
		})
	}
}

func TestFileCommandsReportTheServersReply(t *testing.T) {
	addr, root := server(t, "")
	c := dial(t, addr, Options{})
	ctx := testCtx(t)
	writeFile(t, filepath.Join(root, "a.txt"), []byte("hello"))
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"mkdir creates a directory", func() error { return c.Mkdir(ctx, "d") }},
		{"mkdir -p creates parents and accepts existing ones", func() error { return c.MkdirAll(ctx, "d/e/f") }},
		{"rename moves a file", func() error { return c.Rename(ctx, "a.txt", "d/b.txt") }},
		{"stat sees the moved file", func() error {
			e, err := c.Stat(ctx, "d/b.txt")
			if err == nil && (e.Size != 5 || e.Type != ftp.EntryFile || e.Name != "b.txt" || e.ModTime.IsZero()) {
				return errors.New("bad entry")
			}
			return err
		}},
		{"stat sees a directory", func() error {
			e, err := c.Stat(ctx, "d/e")
			if err == nil && !e.IsDir() {
				return errors.New("not a dir")
			}
			return err
		}},
		{"size and mdtm answer", func() error {
			if n, err := c.Size(ctx, "d/b.txt"); err != nil || n != 5 {
				return errors.New("bad size")
			}
			_, err := c.ModTime(ctx, "d/b.txt")
			return err
		}},
		{"delete removes the file", func() error { return c.Delete(ctx, "d/b.txt") }},
		{"rmdir removes empty directories", func() error {
			if err := c.Rmdir(ctx, "d/e/f"); err != nil {
				return err
			}
			return c.Rmdir(ctx, "d/e")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("a missing file is a 550 ftp.Error naming the command", func(t *testing.T) {
		_, err := c.Retr(ctx, "nope", 0, &bytes.Buffer{})
		var fe *ftp.Error
		if !errors.As(err, &fe) || fe.Code != 550 || !strings.Contains(err.Error(), "RETR nope") {
			t.Fatalf("err = %v", err)
		}
		if err := c.Noop(ctx); err != nil {
			t.Fatalf("connection unusable after the error: %v", err)
		}
	})
	t.Run("stat of a missing path is an error", func(t *testing.T) {
		if _, err := c.Stat(ctx, "nope"); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("the SIZE/MDTM fallback stats files and directories", func(t *testing.T) {
		c2 := dial(t, addr, Options{DisableMLSx: true})
		writeFile(t, filepath.Join(root, "x/y.txt"), []byte("abc"))
		e, err := c2.Stat(ctx, "x/y.txt")
		if err != nil || e.Size != 3 || e.IsDir() || e.ModTime.IsZero() {
			t.Fatalf("Stat file = %+v, %v", e, err)
		}
		e, err = c2.Stat(ctx, "x")
		if err != nil || !e.IsDir() {
			t.Fatalf("Stat dir = %+v, %v", e, err)
		}
	})
}

func TestWalkVisitsTheTreeInOrderAndHonoursSkipDir(t *testing.T) {
	addr, root := server(t, "")
	for _, f := range []string{"a/1.txt", "a/2.txt", "b/skip/3.txt", "c.txt"} {
		writeFile(t, filepath.Join(root, f), []byte(f))
	}
	for _, o := range []Options{{}, {DisableMLSx: true}} {
		name := "with MLSD"
		if o.DisableMLSx {
			name = "with LIST"
		}
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr, o)
			var got []string
			err := c.Walk(testCtx(t), "/", func(p string, e ftp.Entry, err error) error {
				if err != nil {
					return err
				}
				if e.Name == "skip" {
					return fs.SkipDir
				}
				got = append(got, p)
				return nil
			})
			want := "/ /a /a/1.txt /a/2.txt /b /c.txt"
			if err != nil || strings.Join(got, " ") != want {
				t.Fatalf("Walk = %v, %v; want %s", got, err, want)
			}
		})
	}
}

func TestHashPrefersCRC32AndFollowsHashAlgos(t *testing.T) {
	addr, root := server(t, "")
	writeFile(t, filepath.Join(root, "h.bin"), []byte("hash me"))
	cases := []struct {
		prefs []string
		want  string
	}{
		{nil, "CRC32"},
		{[]string{"sha256"}, "SHA-256"},
		{[]string{"SHA-512", "md5", "CRC32"}, "MD5"}, // ferry's server has no SHA-512
		{[]string{"SHA-1"}, "SHA-1"},
	}
	for _, tc := range cases {
		c := dial(t, addr, Options{HashAlgos: tc.prefs})
		for range 2 { // the second time without OPTS HASH
			algo, sum, err := c.Hash(testCtx(t), "h.bin")
			if err != nil {
				t.Fatal(err)
			}
			h := NewHash(algo)
			h.Write([]byte("hash me"))
			if algo != tc.want || !bytes.Equal(h.Sum(nil), sum) {
				t.Fatalf("prefs %q: Hash = %s %x, want %s", tc.prefs, algo, sum, tc.want)
			}
		}
	}
}

func TestParseHashReply(t *testing.T) {
	cases := []struct {
		msg, algo, hex string
		ok             bool
	}{
		{"CRC32 0-9 cbf43926 f.txt", "CRC32", "cbf43926", true},
		{"crc32 0-9 CBF43926 f.txt", "CRC32", "cbf43926", true},
		{"CRC32 0-3 5c7b1f f", "CRC32", "005c7b1f", true}, // leading zeros dropped by the server
		{"SHA-256 0-0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 e", "SHA-256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true},
		{"SHA-256 0-0 e3b0 e", "", "", false}, // too short for SHA-256
		{"CRC32 0-9 123456789 f", "", "", false},
		{"CRC32 0-9 zzzzzzzz f", "", "", false},
		{"CRC32 0-9", "", "", false},
	}
	for _, tc := range cases {
		algo, sum, err := parseHashReply(tc.msg)
		if (err == nil) != tc.ok || tc.ok && (algo != tc.algo || hex.EncodeToString(sum) != tc.hex) {
			t.Errorf("parseHashReply(%q) = %s %x, %v", tc.msg, algo, sum, err)
		}
	}
}

func TestActiveModeListensInsideTheConfiguredPortRange(t *testing.T) {
	addr, root := server(t, "")
	writeFile(t, filepath.Join(root, "n1"), nil)
	writeFile(t, filepath.Join(root, "n2"), nil)
	var transcript bytes.Buffer
	c := dial(t, addr, Options{Active: true, DisableEPSV: true, ActivePortMin: 41000, ActivePortMax: 41019, Debug: &transcript})
	names, err := c.NameList(testCtx(t), "")
	if err != nil || strings.Join(names, ",") != "n1,n2" {
		t.Fatalf("NameList = %v, %v", names, err)
	}
	var h1, h2, h3, h4, p1, p2 int
	i := strings.Index(transcript.String(), "> PORT ")
	if i < 0 {
		t.Fatalf("no PORT:\n%s", transcript.String())
	}
	fmt.Sscanf(transcript.String()[i:], "> PORT %d,%d,%d,%d,%d,%d", &h1, &h2, &h3, &h4, &p1, &p2)
	if port := p1<<8 | p2; port < 41000 || port > 41019 {
		t.Fatalf("PORT announced port %d outside 41000-41019", port)
	}
}
