package ftp

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var listNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func utc(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}

// TestListParsersReadRealSamples parses every line of testdata/list/*.txt
// with the default parsers and compares the entries.
func TestListParsersReadRealSamples(t *testing.T) {
	want := map[string][]Entry{
		"unix-vsftpd.txt": {
			{Name: "notes.txt", Type: EntryFile, Size: 1234, ModTime: utc(2026, 11, 26, 9, 30), Mode: 0o644, Owner: "1000", Group: "1000"},
			{Name: "archive", Type: EntryDir, Size: 4096, ModTime: utc(2024, 1, 2, 0, 0), Mode: 0o755, Owner: "1000", Group: "1000"},
			{Name: "latest", Type: EntryLink, Size: 7, ModTime: utc(2026, 3, 14, 12, 0), Mode: 0o777, Target: "archive", Owner: "0", Group: "0"},
			{Name: "file with  spaces.txt", Type: EntryFile, ModTime: utc(2024, 2, 29, 0, 0), Mode: 0o644, Owner: "1000", Group: "1000"},
		},
		"unix-proftpd.txt": {
			{Name: "pub", Type: EntryDir, Size: 4096, ModTime: utc(2026, 11, 20, 8, 1), Mode: 0o755, Owner: "ftp", Group: "ftp"},
			{Name: "big.iso", Type: EntryFile, Size: 10485760, ModTime: utc(2025, 10, 1, 0, 0), Mode: 0o644, Owner: "ftp", Group: "ftp"},
			{Name: "null", Type: EntryDevice, ModTime: utc(2026, 11, 26, 9, 30), Mode: 0o666, Owner: "root", Group: "root"},
			{Name: "sda", Type: EntryDevice, ModTime: utc(2026, 11, 26, 9, 30), Mode: 0o660, Owner: "root", Group: "disk"},
			{Name: "fifo", Type: EntryOther, ModTime: utc(2026, 11, 26, 9, 30), Mode: 0o644, Owner: "ftp", Group: "ftp"},
			{Name: "setuid", Type: EntryFile, Size: 55680, ModTime: utc(2023, 12, 31, 0, 0), Mode: 0o755 | fs.ModeSetuid, Owner: "root", Group: "root"},
			{Name: "tmp", Type: EntryDir, Size: 4096, ModTime: utc(2026, 11, 26, 9, 30), Mode: 0o777 | fs.ModeSticky, Owner: "root", Group: "root"},
		},
		"unix-nogroup.txt": {
			{Name: "nogroup.txt", Type: EntryFile, Size: 1234, ModTime: utc(2026, 11, 26, 9, 30), Mode: 0o644, Owner: "owner"},
			{Name: "olddir", Type: EntryDir, ModTime: utc(2021, 7, 4, 0, 0), Mode: 0o755, Owner: "owner"},
			{Name: "iso-time.txt", Type: EntryFile, Size: 512, ModTime: utc(2026, 11, 26, 9, 30), Mode: 0o644, Owner: "user", Group: "group"},
		},
		"dos-iis.txt": {
			{Name: "My Documents", Type: EntryDir, ModTime: utc(2026, 11, 26, 9, 30)},
			{Name: "report.docx", Type: EntryFile, Size: 1234, ModTime: utc(2026, 11, 26, 21, 30)},
			{Name: "archive.zip", Type: EntryFile, Size: 1048576, ModTime: utc(2024, 1, 2, 0, 5)},
			{Name: "unix-time.txt", Type: EntryFile, Size: 42, ModTime: utc(2026, 11, 26, 21, 30)},
		},
		"eplf.txt": {
			{Name: "djb.html", Type: EntryFile, Size: 280, ModTime: time.Unix(825718503, 0).UTC()},
			{Name: "514", Type: EntryDir, ModTime: time.Unix(824255907, 0).UTC()},
			{Name: "514.html", Type: EntryFile, Size: 612, ModTime: time.Unix(824253270, 0).UTC(), Mode: 0o644},
		},
		"mvs.txt": {
			{Name: "SOURCE.LIB", Type: EntryDir, ModTime: utc(2003, 3, 21, 0, 0), Owner: "WYOSPT"},
			{Name: "REPORT.DATA", Type: EntryFile, ModTime: utc(2026, 11, 20, 0, 0), Owner: "WYOSP2"},
			{Name: "OLD.DATA", Type: EntryFile},
			{Name: "USER1.PROJ", Type: EntryDir},
		},
		"mvs-members.txt": {
			{Name: "MEMBER1", Type: EntryFile, Size: 24, ModTime: utc(2003, 1, 14, 13, 35), Owner: "USER1"},
			{Name: "PROG2", Type: EntryFile, Size: 130, ModTime: utc(2026, 11, 25, 8, 0), Owner: "USER2"},
		},
	}
	for file, entries := range want {
		t.Run(file+" parses into the expected entries", func(t *testing.T) {
			got := parseSample(t, file, func(line string) (Entry, error) { return ParseListLine(line, listNow) })
			if len(got) != len(entries) {
				t.Fatalf("got %d entries, want %d: %+v", len(got), len(entries), got)
			}
			for i := range entries {
				if !sameEntry(got[i], entries[i]) {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], entries[i])
				}
			}
		})
	}
}

func parseSample(t *testing.T, file string, parse func(string) (Entry, error)) []Entry {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "list", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		e, err := parse(sc.Text())
		if errors.Is(err, ErrListSkip) {
			continue
		}
		if err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, e)
	}
	return got
}

func sameEntry(a, b Entry) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Size == b.Size && a.ModTime.Equal(b.ModTime) &&
		a.Mode == b.Mode && a.Target == b.Target && a.Owner == b.Owner && a.Group == b.Group
}

func TestMLSxEntriesParseWithFacts(t *testing.T) {
	got := parseSample(t, "mlsd.txt", ParseMLSxEntry)
	want := []Entry{
		{Name: ".", Type: EntryCurDir, ModTime: utc(2026, 11, 26, 9, 30)},
		{Name: "..", Type: EntryParDir, ModTime: utc(2026, 11, 26, 9, 30)},
		{Name: "notes.txt", Type: EntryFile, Size: 1234, ModTime: utc(2026, 11, 26, 9, 30).Add(123 * time.Millisecond)},
		{Name: "archive", Type: EntryDir, ModTime: utc(2024, 1, 2, 0, 0)},
		{Name: "latest", Type: EntryLink, Target: "/srv/archive", ModTime: utc(2026, 3, 14, 12, 0)},
		{Name: "name; with; semicolons", Type: EntryFile, ModTime: utc(2024, 2, 29, 0, 0), Mode: 0o644},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameEntry(got[i], want[i]) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if got[2].Facts["unique"] != "803U1a2b" || got[2].Facts["perm"] != "rw" {
		t.Errorf("facts of notes.txt = %v", got[2].Facts)
	}
}

func TestListParserEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Entry
		err  error
	}{
		{"a time-of-day date later than tomorrow belongs to last year", "-rw-r--r-- 1 a b 1 Dec 25 10:00 x",
			Entry{Name: "x", Size: 1, ModTime: utc(2025, 12, 25, 10, 0), Mode: 0o644, Owner: "a", Group: "b"}, nil},
		{"a blank line carries no entry", "   ", Entry{}, ErrListSkip},
		{"a total line carries no entry", "total 0", Entry{}, ErrListSkip},
		{"garbage is not recognised", "hello world", Entry{}, ErrListFormat},
		{"a Unix line without a name is not recognised", "-rw-r--r-- 1 a b 1 Dec 25 10:00", Entry{}, ErrListFormat},
		{"a symlink without an arrow keeps its whole name", "lrwxrwxrwx 1 a b 1 Nov 26 10:00 odd name",
			Entry{Name: "odd name", Type: EntryLink, Size: 1, ModTime: utc(2026, 11, 26, 10, 0), Mode: 0o777, Owner: "a", Group: "b"}, nil},
		{"a DOS noon PM time stays at noon", "11-26-26  12:15PM  7 noon.txt",
			Entry{Name: "noon.txt", Size: 7, ModTime: utc(2026, 11, 26, 12, 15)}, nil},
		{"a DOS 13 o'clock with AM is not recognised", "11-26-26  13:15AM  7 x", Entry{}, ErrListFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseListLine(tt.line, listNow)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && !sameEntry(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCustomListParsersArePluggable(t *testing.T) {
	custom := func(line string, _ time.Time) (Entry, error) {
		if len(line) > 2 && line[:2] == "F:" {
			return Entry{Name: line[2:]}, nil
		}
		return Entry{}, ErrListFormat
	}
	e, err := ParseListLine("F:custom.bin", listNow, custom, ParseUnixListLine)
	if err != nil || e.Name != "custom.bin" {
		t.Fatalf("got %+v, %v", e, err)
	}
	if _, err := ParseListLine("F:custom.bin", listNow); !errors.Is(err, ErrListFormat) {
		t.Fatalf("default parsers accepted a custom line: %v", err)
	}
}

func FuzzParseListLine(f *testing.F) {
	f.Add("-rw-r--r-- 1 a b 1 Nov 26 10:00 x")
	f.Add("+i1,m1,r,s1,\tx")
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseListLine(line, listNow)
		if err == nil {
			if e.Name == "" {
				t.Fatalf("entry without a name from %q", line)
			}
			if e.Size < 0 {
				t.Fatalf("negative size from %q", line)
			}
		}
		if me, err := ParseMLSxEntry(line); err == nil && me.Name == "" {
			t.Fatalf("MLSx entry without a name from %q", line)
		}
	})
}
