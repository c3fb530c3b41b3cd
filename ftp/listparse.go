package ftp

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// This file parses directory listings as clients receive them: MLSD/MLST
// entries (RFC 3659 section 7) and the free-form LIST output of real servers
// (RFC 959 leaves LIST unspecified). The LIST parsers are plain functions of
// type ListParser so callers can add their own formats.

// EntryType is the kind of a listed entry.
type EntryType uint8

// Entry types.
const (
	EntryFile   EntryType = iota // regular file (or anything unknown)
	EntryDir                     // directory
	EntryLink                    // symbolic link
	EntryDevice                  // character or block device
	EntryOther                   // FIFO, socket, door, ...
	EntryCurDir                  // MLSD "cdir": the listed directory itself
	EntryParDir                  // MLSD "pdir": its parent
)

func (t EntryType) String() string {
	switch t {
	case EntryFile:
		return "file"
	case EntryDir:
		return "dir"
	case EntryLink:
		return "link"
	case EntryDevice:
		return "device"
	case EntryCurDir:
		return "cdir"
	case EntryParDir:
		return "pdir"
	}
	return "other"
}

// Entry is one entry of a directory listing.
type Entry struct {
	Name    string
	Type    EntryType
	Size    int64       // octets; 0 when unknown or for devices
	ModTime time.Time   // zero when unknown; LIST times are read as UTC
	Mode    fs.FileMode // permission bits when the listing shows them
	Target  string      // symlink target from "name -> target"
	Owner   string      // Unix LIST owner, MVS volume
	Group   string      // Unix LIST group
	// Facts holds every MLSx fact with its name lower-cased, or nil.
	Facts map[string]string
}

// IsDir reports whether the entry is a directory.
func (e Entry) IsDir() bool { return e.Type == EntryDir }

// ErrListSkip is returned by a ListParser for a line that carries no entry
// but belongs to its format ("total 12", an MVS header line).
var ErrListSkip = errors.New("ftp: listing line carries no entry")

// ErrListFormat is returned for a line that no parser understands.
var ErrListFormat = errors.New("ftp: unrecognised listing line")

// A ListParser parses one line of a LIST reply (without the line ending).
// It returns ErrListFormat when the line is not in its format, so that the
// next parser can try, and ErrListSkip for lines to ignore. now is used to
// complete dates that omit the year.
type ListParser func(line string, now time.Time) (Entry, error)

// DefaultListParsers are tried in order by ParseListLine.
var DefaultListParsers = []ListParser{ParseUnixListLine, ParseDOSListLine, ParseEPLFListLine, ParseMVSListLine}

// ParseListLine parses line with the first of parsers (DefaultListParsers when
// none are given) that recognises it.
func ParseListLine(line string, now time.Time, parsers ...ListParser) (Entry, error) {
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) == "" {
		return Entry{}, ErrListSkip
	}
	if len(parsers) == 0 {
		parsers = DefaultListParsers
	}
	for _, p := range parsers {
		e, err := p(line, now)
		if !errors.Is(err, ErrListFormat) {
			return e, err
		}
	}
	return Entry{}, ErrListFormat
}

// ParseMLSxEntry parses one MLSD line or MLST entry line (RFC 3659 7.2):
// "fact=value;fact=value; name". A single leading space (MLST) is allowed.
// Fact names are case-insensitive; unknown facts are kept in Facts.
func ParseMLSxEntry(line string) (Entry, error) {
	line = strings.TrimRight(line, "\r\n")
	line = strings.TrimPrefix(line, " ")
	i := strings.Index(line, "; ")
	var facts, name string
	switch {
	case i >= 0:
		facts, name = line[:i+1], line[i+2:]
	case strings.HasPrefix(line, " "):
		name = line[1:] // no facts at all
	default:
		return Entry{}, ErrListFormat
	}
	if name == "" {
		return Entry{}, ErrListFormat
	}
	e := Entry{Name: name, Facts: map[string]string{}}
	for f := range strings.SplitSeq(facts, ";") {
		if f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Entry{}, ErrListFormat
		}
		k = strings.ToLower(k)
		e.Facts[k] = v
		switch k {
		case "type":
			switch lv := strings.ToLower(v); {
			case lv == "file":
				e.Type = EntryFile
			case lv == "dir":
				e.Type = EntryDir
			case lv == "cdir":
				e.Type = EntryCurDir
			case lv == "pdir":
				e.Type = EntryParDir
			case lv == "os.unix=symlink" || strings.HasPrefix(lv, "os.unix=slink"):
				e.Type = EntryLink
				if _, t, ok := strings.Cut(v, ":"); ok {
					e.Target = t
				}
			case lv == "os.unix=chr" || lv == "os.unix=blk":
				e.Type = EntryDevice
			default:
				e.Type = EntryOther
			}
		case "size", "sizd":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				e.Size = n
			}
		case "modify":
			if t, err := ParseMDTM(v); err == nil {
				e.ModTime = t
			}
		case "unix.mode":
			if n, err := strconv.ParseUint(v, 8, 32); err == nil {
				e.Mode = fs.FileMode(n & 0o777)
			}
		case "unix.owner", "unix.ownername":
			e.Owner = v
		case "unix.group", "unix.groupname":
			e.Group = v
		}
	}
	return e, nil
}

var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func parseMonth(s string) (time.Month, bool) {
	if len(s) != 3 {
		return 0, false
	}
	for i, m := range monthNames {
		if strings.EqualFold(s, m) {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

type token struct {
	s          string
	start, end int
}

func tokenize(line string, max int) []token {
	var toks []token
	i := 0
	for len(toks) < max {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			break
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		toks = append(toks, token{line[i:j], i, j})
		i = j
	}
	return toks
}

// ParseUnixListLine parses "ls -l" output as sent by most Unix servers:
//
//	-rw-r--r--   1 owner group   1234 Nov 26 09:30 name
//	-rw-r--r--   1 owner         1234 Nov 26  2024 name      (no group)
//	crw-rw-rw-   1 root  root    1,   3 Nov 26 09:30 null    (device)
//	lrwxrwxrwx   1 owner group      7 Nov 26 09:30 a -> b    (symlink)
//	drwxr-xr-x   2 owner group   4096 2026-11-26 09:30 dir   (long-iso)
//
// A date without a year is placed in the year that makes it no later than
// a day after now. "total N" lines are skipped.
func ParseUnixListLine(line string, now time.Time) (Entry, error) {
	if strings.HasPrefix(line, "total ") {
		if _, err := strconv.Atoi(strings.TrimSpace(line[6:])); err == nil {
			return Entry{}, ErrListSkip
		}
	}
	if len(line) < 10 || !strings.ContainsRune("-dlcbpsDn", rune(line[0])) {
		return Entry{}, ErrListFormat
	}
	mode, ok := parsePermString(line[1:10])
	if !ok {
		return Entry{}, ErrListFormat
	}
	toks := tokenize(line, 12)
	if len(toks) < 5 {
		return Entry{}, ErrListFormat
	}
	var e Entry
	e.Mode = mode
	switch line[0] {
	case 'd':
		e.Type = EntryDir
	case 'l':
		e.Type = EntryLink
	case 'c', 'b':
		e.Type = EntryDevice
	case '-':
		e.Type = EntryFile
	default:
		e.Type = EntryOther
	}
	// Find the date: "Mon DD HH:MM|YYYY" or "YYYY-MM-DD HH:MM".
	for i := 2; i+1 < len(toks); i++ {
		var t time.Time
		var nameStart int
		if m, ok := parseMonth(toks[i].s); ok && i+2 < len(toks) {
			day, err := strconv.Atoi(toks[i+1].s)
			if err != nil || day < 1 || day > 31 {
				continue
			}
			ty := toks[i+2].s
			if hh, mm, ok := parseClock(ty); ok {
				t = time.Date(now.Year(), m, day, hh, mm, 0, 0, time.UTC)
				if t.After(now.Add(24 * time.Hour)) {
					t = t.AddDate(-1, 0, 0)
				}
			} else if y, err := strconv.Atoi(ty); err == nil && len(ty) == 4 {
				t = time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
			} else {
				continue
			}
			nameStart = toks[i+2].end
		} else if d, err := time.Parse("2006-01-02", toks[i].s); err == nil {
			hh, mm, ok := parseClock(toks[i+1].s)
			if !ok {
				continue
			}
			t = d.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
			nameStart = toks[i+1].end
		} else {
			continue
		}
		// Size is the token before the date; devices show "major, minor".
		sizeTok := toks[i-1].s
		if e.Type == EntryDevice {
			e.Size = 0
		} else if n, err := strconv.ParseInt(sizeTok, 10, 64); err == nil && n >= 0 {
			e.Size = n
		} else {
			continue
		}
		// Owner and group sit between the link count and the size.
		ownerEnd := i - 1
		if e.Type == EntryDevice && i >= 3 && strings.HasSuffix(toks[i-2].s, ",") {
			ownerEnd = i - 2
		}
		if ownerEnd >= 3 {
			e.Owner = toks[2].s
		}
		if ownerEnd >= 4 {
			e.Group = toks[3].s
		}
		if nameStart+1 > len(line) {
			return Entry{}, ErrListFormat
		}
		name := line[nameStart+1:]
		if e.Type == EntryLink {
			if n, target, ok := strings.Cut(name, " -> "); ok {
				name, e.Target = n, target
			}
		}
		if name == "" {
			return Entry{}, ErrListFormat
		}
		e.Name = name
		e.ModTime = t
		return e, nil
	}
	return Entry{}, ErrListFormat
}

func parseClock(s string) (hh, mm int, ok bool) {
	h, m, found := strings.Cut(s, ":")
	if !found || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh > 23 || mm > 59 || hh < 0 || mm < 0 {
		return 0, 0, false
	}
	return hh, mm, true
}

// parsePermString parses "rwxr-x--x" (with s, S, t, T) into permission bits.
func parsePermString(s string) (fs.FileMode, bool) {
	var m fs.FileMode
	for i := 0; i < 9; i++ {
		c := s[i]
		bit := fs.FileMode(1) << (8 - i)
		switch {
		case c == '-':
		case c == "rwxrwxrwx"[i]:
			m |= bit
		case (i == 2 || i == 5) && (c == 's' || c == 'S'):
			if c == 's' {
				m |= bit
			}
			if i == 2 {
				m |= fs.ModeSetuid
			} else {
				m |= fs.ModeSetgid
			}
		case i == 8 && (c == 't' || c == 'T'):
			if c == 't' {
				m |= bit
			}
			m |= fs.ModeSticky
		default:
			return 0, false
		}
	}
	return m, true
}

// ParseDOSListLine parses the MS-DOS style listing of IIS and other Windows
// servers:
//
//	11-26-26  09:30AM       <DIR>          dir name
//	11-26-2026  09:30PM             1234 file.txt
//	11-26-26  21:30                 1234 file.txt
func ParseDOSListLine(line string, _ time.Time) (Entry, error) {
	toks := tokenize(line, 3)
	if len(toks) < 3 {
		return Entry{}, ErrListFormat
	}
	date, clock, third := toks[0].s, toks[1].s, toks[2]
	var d time.Time
	var err error
	switch len(date) {
	case 8:
		d, err = time.Parse("01-02-06", date)
	case 10:
		d, err = time.Parse("01-02-2006", date)
	default:
		return Entry{}, ErrListFormat
	}
	if err != nil {
		return Entry{}, ErrListFormat
	}
	pm, am := strings.HasSuffix(strings.ToUpper(clock), "PM"), strings.HasSuffix(strings.ToUpper(clock), "AM")
	if pm || am {
		clock = clock[:len(clock)-2]
	}
	hh, mm, ok := parseClock(clock)
	if !ok || (pm || am) && (hh < 1 || hh > 12) {
		return Entry{}, ErrListFormat
	}
	if pm && hh != 12 {
		hh += 12
	} else if am && hh == 12 {
		hh = 0
	}
	e := Entry{ModTime: d.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)}
	if strings.EqualFold(third.s, "<DIR>") {
		e.Type = EntryDir
	} else if n, err := strconv.ParseInt(strings.ReplaceAll(third.s, ",", ""), 10, 64); err == nil && n >= 0 {
		e.Size = n
	} else {
		return Entry{}, ErrListFormat
	}
	rest := strings.TrimLeft(line[third.end:], " \t")
	if rest == "" {
		return Entry{}, ErrListFormat
	}
	e.Name = rest
	return e, nil
}

// ParseEPLFListLine parses Easily Parsed LIST Format lines
// (https://cr.yp.to/ftp/list/eplf.html):
//
//	+i8388621.48594,m825718503,r,s280,\tdjb.html
//	+i8388621.50690,m824255907,/,\t514
func ParseEPLFListLine(line string, _ time.Time) (Entry, error) {
	if len(line) < 2 || line[0] != '+' {
		return Entry{}, ErrListFormat
	}
	facts, name, ok := strings.Cut(line[1:], "\t")
	if !ok || name == "" {
		return Entry{}, ErrListFormat
	}
	e := Entry{Name: name}
	isDir, isFile := false, false
	for f := range strings.SplitSeq(facts, ",") {
		if f == "" {
			continue
		}
		switch f[0] {
		case '/':
			isDir = true
		case 'r':
			isFile = true
		case 's':
			n, err := strconv.ParseInt(f[1:], 10, 64)
			if err != nil || n < 0 {
				return Entry{}, ErrListFormat
			}
			e.Size = n
		case 'm':
			n, err := strconv.ParseInt(f[1:], 10, 64)
			if err != nil {
				return Entry{}, ErrListFormat
			}
			e.ModTime = time.Unix(n, 0).UTC()
		case 'u':
			if strings.HasPrefix(f, "up") {
				if n, err := strconv.ParseUint(f[2:], 8, 32); err == nil {
					e.Mode = fs.FileMode(n & 0o777)
				}
			}
		}
	}
	switch {
	case isDir:
		e.Type = EntryDir
	case isFile:
		e.Type = EntryFile
	default:
		e.Type = EntryOther
	}
	return e, nil
}

// ParseMVSListLine parses the dataset list of IBM z/OS (MVS) FTP servers:
//
//	Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname
//	WYOSPT 3420   2003/03/21  1  200  FB      80  8000  PO  SOURCE.LIB
//	Migrated                                                OLD.DATA
//	Pseudo Directory                                        USER1.PROJ
//
// and the member list of a partitioned dataset:
//
//	 Name     VV.MM   Created       Changed      Size  Init   Mod   Id
//	MEMBER1   01.03 2002/09/12 2003/01/14 13:35    24    18     0 USER1
//
// Partitioned datasets (Dsorg PO/PO-E) and pseudo directories are
// directories; the referred or changed date is the modification time; a
// dataset's size is unknown (0), a member's is its line count.
func ParseMVSListLine(line string, _ time.Time) (Entry, error) {
	toks := tokenize(line, 12)
	if len(toks) == 0 {
		return Entry{}, ErrListFormat
	}
	if len(toks) >= 2 && (toks[0].s == "Volume" && toks[1].s == "Unit" || toks[0].s == "Name" && toks[1].s == "VV.MM") {
		return Entry{}, ErrListSkip
	}
	last := toks[len(toks)-1].s
	if toks[0].s == "Migrated" && len(toks) == 2 {
		return Entry{Name: last, Type: EntryFile}, nil
	}
	if len(toks) == 3 && toks[0].s == "Pseudo" && toks[1].s == "Directory" {
		return Entry{Name: last, Type: EntryDir}, nil
	}
	// Member: NAME VV.MM yyyy/mm/dd yyyy/mm/dd hh:mm size init mod id
	if len(toks) == 9 && isVVMM(toks[1].s) {
		changed, err := time.Parse("2006/01/02 15:04", toks[3].s+" "+toks[4].s)
		if err != nil {
			return Entry{}, ErrListFormat
		}
		n, err := strconv.ParseInt(toks[5].s, 10, 64)
		if err != nil {
			return Entry{}, ErrListFormat
		}
		return Entry{Name: toks[0].s, Type: EntryFile, ModTime: changed, Size: n, Owner: toks[8].s}, nil
	}
	// Dataset: VOLUME UNIT yyyy/mm/dd EXT USED RECFM LRECL BLKSZ DSORG DSNAME
	if len(toks) == 10 {
		referred, err := time.Parse("2006/01/02", toks[2].s)
		if err != nil {
			return Entry{}, ErrListFormat
		}
		for _, k := range []int{3, 4, 6, 7} {
			if _, err := strconv.Atoi(toks[k].s); err != nil {
				return Entry{}, ErrListFormat
			}
		}
		e := Entry{Name: last, Type: EntryFile, ModTime: referred, Owner: toks[0].s}
		if strings.HasPrefix(toks[8].s, "PO") {
			e.Type = EntryDir
		}
		return e, nil
	}
	return Entry{}, ErrListFormat
}

func isVVMM(s string) bool {
	v, m, ok := strings.Cut(s, ".")
	return ok && len(v) == 2 && len(m) == 2 && allDigits(v) && allDigits(m)
}
