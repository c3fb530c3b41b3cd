package ftp

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fileInfo is an fs.FileInfo for tests.
type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
	sys   any
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fileInfo) ModTime() time.Time { return fi.mtime }
func (fi fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fileInfo) Sys() any           { return fi.sys }

var now = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

func TestAppendListLine(t *testing.T) {
	tests := []struct {
		name string
		fi   fileInfo
		want string
	}{
		{"a recent file shows the time of day",
			fileInfo{name: "notes.txt", size: 1234, mode: 0o644, mtime: now.Add(-time.Hour)},
			"-rw-r--r--   1 ftp      ftp              1234 Nov 26 08:30 notes.txt"},
		{"an old file shows the year",
			fileInfo{name: "old", size: 0, mode: 0o600, mtime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
			"-rw-------   1 ftp      ftp                 0 Jan  2  2024 old"},
		{"a file seven months old shows the year",
			fileInfo{name: "f", mode: 0o644, mtime: now.AddDate(0, -7, 0)},
			"-rw-r--r--   1 ftp      ftp                 0 Apr 26  2026 f"},
		{"a file five months old shows the time",
			fileInfo{name: "f", mode: 0o644, mtime: now.AddDate(0, -5, 0)},
			"-rw-r--r--   1 ftp      ftp                 0 Jun 26 09:30 f"},
		{"a file slightly in the future shows the time",
			fileInfo{name: "f", mode: 0o644, mtime: now.Add(30 * time.Minute)},
			"-rw-r--r--   1 ftp      ftp                 0 Nov 26 10:00 f"},
		{"a file far in the future shows the year",
			fileInfo{name: "f", mode: 0o644, mtime: now.Add(2 * time.Hour)},
			"-rw-r--r--   1 ftp      ftp                 0 Nov 26  2026 f"},
		{"a directory starts with d",
			fileInfo{name: "pub", size: 4096, mode: fs.ModeDir | 0o755, mtime: now},
			"drwxr-xr-x   1 ftp      ftp              4096 Nov 26 09:30 pub"},
		{"a symlink starts with l",
			fileInfo{name: "link", size: 4, mode: fs.ModeSymlink | 0o777, mtime: now},
			"lrwxrwxrwx   1 ftp      ftp                 4 Nov 26 09:30 link"},
		{"setuid, setgid and sticky bits are shown",
			fileInfo{name: "s", mode: fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | 0o755, mtime: now},
			"-rwsr-sr-t   1 ftp      ftp                 0 Nov 26 09:30 s"},
		{"special bits without execute are upper case",
			fileInfo{name: "s", mode: fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | 0o644, mtime: now},
			"-rwSr-Sr-T   1 ftp      ftp                 0 Nov 26 09:30 s"},
		{"a named pipe starts with p",
			fileInfo{name: "fifo", mode: fs.ModeNamedPipe | 0o600, mtime: now},
			"prw-------   1 ftp      ftp                 0 Nov 26 09:30 fifo"},
		{"a character device starts with c",
			fileInfo{name: "null", mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, mtime: now},
			"crw-rw-rw-   1 ftp      ftp                 0 Nov 26 09:30 null"},
		{"a huge size widens its field",
			fileInfo{name: "big", size: 1 << 50, mode: 0o644, mtime: now},
			"-rw-r--r--   1 ftp      ftp      1125899906842624 Nov 26 09:30 big"},
		{"a name with spaces is kept whole",
			fileInfo{name: "a b ", mode: 0o644, mtime: now},
			"-rw-r--r--   1 ftp      ftp                 0 Nov 26 09:30 a b "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendListLine([]byte("> "), tt.fi, now))
			if got != "> "+tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, "> "+tt.want)
			}
		})
	}
	t.Run("the time is shown in the location of now", func(t *testing.T) {
		loc := time.FixedZone("X", 2*3600)
		fi := fileInfo{name: "f", mode: 0o644, mtime: now}
		if got := string(AppendListLine(nil, fi, now.In(loc))); !strings.Contains(got, "Nov 26 11:30 f") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("a real file gives a parsable line", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "real.txt")
		if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(AppendListLine(nil, fi, time.Now())))
		if len(f) != 9 || f[0][0] != '-' || f[4] != "5" || f[8] != "real.txt" {
			t.Errorf("fields = %q", f)
		}
	})
}

func TestFacts(t *testing.T) {
	t.Run("the default facts are type size modify perm unique", func(t *testing.T) {
		if got := DefaultFacts.Names(); got != "type;size;modify;perm;unique;" {
			t.Errorf("Names() = %q", got)
		}
	})
	t.Run("FEAT lists every fact and stars the selected ones", func(t *testing.T) {
		if got := FeatMLST(DefaultFacts); got != "MLST type*;size*;modify*;perm*;unique*;unix.mode;" {
			t.Errorf("FeatMLST = %q", got)
		}
		if got := FeatMLST(0); got != "MLST type;size;modify;perm;unique;unix.mode;" {
			t.Errorf("FeatMLST(0) = %q", got)
		}
	})
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a list is parsed in any order and rendered in fixed order", "size;type;", "type;size;"},
		{"names are matched case-insensitively", "TYPE;Modify;UNIX.mode;", "type;modify;unix.mode;"},
		{"unknown names are ignored", "type;media-type;charset;size", "type;size;"},
		{"an empty list selects nothing", "", ""},
		{"spaces around names are tolerated", " type ; perm;", "type;perm;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseFactList(tt.in).Names(); got != tt.want {
				t.Errorf("ParseFactList(%q).Names() = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("Has reports membership", func(t *testing.T) {
		s := FactSetOf(FactSize, FactUnixMode)
		if !s.Has(FactSize) || !s.Has(FactUnixMode) || s.Has(FactType) || s.Has(Fact(200)) {
			t.Errorf("Has is wrong for %b", s)
		}
	})
}

func TestAppendMLSxEntry(t *testing.T) {
	mt := time.Date(2026, 11, 26, 9, 30, 0, 123_000_000, time.UTC)
	tests := []struct {
		name      string
		fi        fileInfo
		entryName string
		typ, perm string
		facts     FactSet
		want      string
	}{
		{"a file has type, size, modify and perm",
			fileInfo{name: "notes.txt", size: 12, mode: 0o644, mtime: mt}, "notes.txt", "", "rw", DefaultFacts,
			"type=file;size=12;modify=20261126093000.123;perm=rw; notes.txt"},
		{"a directory has no size",
			fileInfo{name: "pub", size: 4096, mode: fs.ModeDir | 0o755, mtime: mt.Truncate(time.Second)}, "pub", "", "el", DefaultFacts,
			"type=dir;modify=20261126093000;perm=el; pub"},
		{"the type can be overridden with cdir",
			fileInfo{name: "pub", mode: fs.ModeDir | 0o755, mtime: mt}, ".", "cdir", "el", FactSetOf(FactType),
			"type=cdir; ."},
		{"an empty perm is omitted",
			fileInfo{name: "f", size: 1, mode: 0o644, mtime: mt}, "f", "", "", DefaultFacts,
			"type=file;size=1;modify=20261126093000.123; f"},
		{"modify is written in UTC",
			fileInfo{name: "f", mode: 0o644, mtime: time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("X", 2*3600))}, "f", "", "", FactSetOf(FactModify),
			"modify=20251231230000; f"},
		{"a zero time has no modify fact",
			fileInfo{name: "f", mode: 0o644}, "f", "", "", FactSetOf(FactModify),
			" f"},
		{"unix.mode is octal with special bits",
			fileInfo{name: "f", mode: fs.ModeSetuid | 0o755, mtime: mt}, "f", "", "", FactSetOf(FactUnixMode),
			"unix.mode=04755; f"},
		{"unix.mode has a leading zero",
			fileInfo{name: "f", mode: 0o640, mtime: mt}, "f", "", "", FactSetOf(FactUnixMode),
			"unix.mode=0640; f"},
		{"unique is omitted without Stat_t",
			fileInfo{name: "f", mode: 0o644}, "f", "", "", FactSetOf(FactUnique),
			" f"},
		{"a symlink has an OS type and no size",
			fileInfo{name: "l", size: 3, mode: fs.ModeSymlink | 0o777}, "l", "", "", FactSetOf(FactType, FactSize),
			"type=OS.unix=symlink; l"},
		{"the name may be a full path for MLST",
			fileInfo{name: "f", size: 1, mode: 0o644}, "/pub/a b", "", "r", FactSetOf(FactType, FactPerm),
			"type=file;perm=r; /pub/a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendMLSxEntry(nil, tt.fi, tt.entryName, tt.typ, tt.perm, tt.facts))
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMDTM(t *testing.T) {
	t.Run("whole seconds have no fraction", func(t *testing.T) {
		if got := FormatMDTM(time.Date(2026, 11, 26, 9, 30, 0, 999_999, time.UTC)); got != "20261126093000" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("milliseconds are shown when not zero", func(t *testing.T) {
		if got := FormatMDTM(time.Date(2026, 11, 26, 9, 30, 0, 5_000_000, time.UTC)); got != "20261126093000.005" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("the time is converted to UTC", func(t *testing.T) {
		if got := FormatMDTM(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600))); got != "20251231230000" {
			t.Errorf("got %q", got)
		}
	})
	tests := []struct {
		name string
		in   string
		want time.Time
		ok   bool
	}{
		{"fourteen digits are parsed as UTC", "20261126093000", time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC), true},
		{"a fraction is parsed", "20261126093000.5", time.Date(2026, 11, 26, 9, 30, 0, 500_000_000, time.UTC), true},
		{"nanoseconds are parsed", "20261126093000.123456789", time.Date(2026, 11, 26, 9, 30, 0, 123456789, time.UTC), true},
		{"digits beyond nanoseconds are ignored", "20261126093000.1234567891", time.Date(2026, 11, 26, 9, 30, 0, 123456789, time.UTC), true},
		{"a leap second rolls over", "20161231235960", time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"a leap second cannot roll over into year 10000", "99991231235960", time.Time{}, false},
		{"February 29 of a leap year is valid", "20240229000000", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"February 30 is rejected", "20240230000000", time.Time{}, false},
		{"month 13 is rejected", "20241301000000", time.Time{}, false},
		{"day 0 is rejected", "20241200000000", time.Time{}, false},
		{"hour 24 is rejected", "20241201240000", time.Time{}, false},
		{"minute 60 is rejected", "20241201006000", time.Time{}, false},
		{"thirteen digits are rejected", "2024120100000", time.Time{}, false},
		{"a trailing dot is rejected", "20241201000000.", time.Time{}, false},
		{"a trailing letter is rejected", "20241201000000Z", time.Time{}, false},
		{"a signed field is rejected", "2024+201000000", time.Time{}, false},
		{"an empty string is rejected", "", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMDTM(tt.in)
			if !tt.ok {
				var fe *Error
				if !errors.As(err, &fe) || fe.Code != CodeArgSyntax {
					t.Fatalf("ParseMDTM(%q) = %v, %v; want a 501 error", tt.in, got, err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("ParseMDTM(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	t.Run("formatting then parsing keeps milliseconds", func(t *testing.T) {
		in := time.Date(2026, 11, 26, 9, 30, 1, 42_000_000, time.UTC)
		got, err := ParseMDTM(FormatMDTM(in))
		if err != nil || !got.Equal(in) {
			t.Fatalf("round trip = %v, %v", got, err)
		}
	})
}

func benchEntries() []fs.FileInfo {
	fis := make([]fs.FileInfo, 10000)
	for i := range fis {
		fis[i] = fileInfo{name: "file-name-" + strings.Repeat("x", i%20) + ".dat", size: int64(i) * 1021,
			mode: 0o644, mtime: now.Add(-time.Duration(i) * time.Hour)}
	}
	return fis
}

func BenchmarkAppendListLine(b *testing.B) {
	fis := benchEntries()
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, fi := range fis {
			buf = AppendListLine(buf, fi, now)
			buf = append(buf, '\r', '\n')
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendMLSxEntry(b *testing.B) {
	fis := benchEntries()
	buf := make([]byte, 0, 1<<20)
	facts := DefaultFacts | FactSetOf(FactUnixMode)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, fi := range fis {
			buf = AppendMLSxEntry(buf, fi, fi.Name(), "", "adfrw", facts)
			buf = append(buf, '\r', '\n')
		}
	}
	b.SetBytes(int64(len(buf)))
}
