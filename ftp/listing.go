package ftp

import (
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// recentWindow is how far in the past a modification time may lie to be
// shown with the time of day rather than the year, as ls(1) does: half of an
// average Gregorian year.
const recentWindow = time.Duration(365.2425 * 24 * 60 * 60 / 2 * float64(time.Second))

// futureSlack is how far in the future a modification time may lie and still
// be shown with the time of day.
const futureSlack = time.Hour

// AppendListLine appends one "ls -l" style line for fi to dst, without a line
// ending, in the form most clients parse:
//
//	-rw-r--r--   1 ftp      ftp          1234 Nov 26 09:30 name
//	drwxr-xr-x   1 1000     1000         4096 Jan  2  2024 dir
//
// The owner and group are the numeric uid and gid when fi.Sys() is a
// *syscall.Stat_t and "ftp" otherwise. The date shows the time of day when
// the modification time is within the six months before now (and at most an
// hour after it), else the year. The time is shown in now's location, so
// pass time.Now().UTC() for UTC listings.
func AppendListLine(dst []byte, fi fs.FileInfo, now time.Time) []byte {
	mode := fi.Mode()
	dst = appendModeString(dst, mode)
	dst = append(dst, "   1 "...)
	if uid, gid, _, _, ok := sysIDs(fi); ok {
		var num [10]byte
		dst = appendPadded(dst, strconv.AppendUint(num[:0], uint64(uid), 10), 8)
		dst = append(dst, ' ')
		dst = appendPadded(dst, strconv.AppendUint(num[:0], uint64(gid), 10), 8)
	} else {
		dst = append(dst, "ftp      ftp     "...)
	}
	dst = append(dst, ' ')
	var sz [20]byte
	size := strconv.AppendInt(sz[:0], fi.Size(), 10)
	for i := len(size); i < 12; i++ {
		dst = append(dst, ' ')
	}
	dst = append(dst, size...)
	dst = append(dst, ' ')
	t := fi.ModTime().In(now.Location())
	if t.After(now.Add(-recentWindow)) && !t.After(now.Add(futureSlack)) {
		dst = t.AppendFormat(dst, "Jan _2 15:04")
	} else {
		dst = t.AppendFormat(dst, "Jan _2  2006")
	}
	dst = append(dst, ' ')
	return append(dst, fi.Name()...)
}

// appendPadded appends s left-aligned in a field of width w.
func appendPadded(dst, s []byte, w int) []byte {
	dst = append(dst, s...)
	for i := len(s); i < w; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

// appendModeString appends the ten-character ls(1) mode string, e.g.
// "drwxr-xr-x", including setuid, setgid and sticky bits.
func appendModeString(dst []byte, m fs.FileMode) []byte {
	var typ byte
	switch {
	case m&fs.ModeDir != 0:
		typ = 'd'
	case m&fs.ModeSymlink != 0:
		typ = 'l'
	case m&fs.ModeNamedPipe != 0:
		typ = 'p'
	case m&fs.ModeSocket != 0:
		typ = 's'
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		typ = 'c'
	case m&fs.ModeDevice != 0:
		typ = 'b'
	default:
		typ = '-'
	}
	const rwx = "rwxrwxrwx"
	var b [10]byte
	b[0] = typ
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) != 0 {
			b[i+1] = rwx[i]
		} else {
			b[i+1] = '-'
		}
	}
	special := func(i int, set bool, on, off byte) {
		if !set {
			return
		}
		if b[i] == 'x' {
			b[i] = on
		} else {
			b[i] = off
		}
	}
	special(3, m&fs.ModeSetuid != 0, 's', 'S')
	special(6, m&fs.ModeSetgid != 0, 's', 'S')
	special(9, m&fs.ModeSticky != 0, 't', 'T')
	return append(dst, b[:]...)
}

// Fact is one MLST/MLSD fact (RFC 3659 section 7.5).
type Fact uint8

// The facts this package can produce, in the order they appear in entries.
const (
	FactType     Fact = iota // type: file, dir, cdir, pdir or OS.unix=...
	FactSize                 // size: size in octets (files only)
	FactModify               // modify: last modification time, UTC
	FactPerm                 // perm: permissions the client has (RFC 3659 7.5.5)
	FactUnique               // unique: device and inode, when known
	FactUnixMode             // unix.mode: octal permission bits, e.g. 0755
	numFacts
)

var factNames = [numFacts]string{"type", "size", "modify", "perm", "unique", "unix.mode"}

// String returns the fact name as used on the wire, e.g. "modify".
func (f Fact) String() string {
	if f < numFacts {
		return factNames[f]
	}
	return "fact(" + strconv.Itoa(int(f)) + ")"
}

// FactSet is a set of Facts.
type FactSet uint16

// DefaultFacts are the facts selected before any OPTS MLST: type, size,
// modify, perm and unique.
var DefaultFacts = FactSetOf(FactType, FactSize, FactModify, FactPerm, FactUnique)

// AllFacts is every fact this package supports.
var AllFacts = FactSetOf(FactType, FactSize, FactModify, FactPerm, FactUnique, FactUnixMode)

// FactSetOf returns the set holding the given facts.
func FactSetOf(facts ...Fact) FactSet {
	var s FactSet
	for _, f := range facts {
		if f < numFacts {
			s |= 1 << f
		}
	}
	return s
}

// Has reports whether f is in the set.
func (s FactSet) Has(f Fact) bool {
	return f < numFacts && s&(1<<f) != 0
}

// ParseFactList parses the argument of "OPTS MLST", a list of fact names
// each followed by ";" (e.g. "type;size;modify;"). Names are matched case
// insensitively; unknown names are ignored, and an empty list selects no
// facts (RFC 3659 section 7.9).
func ParseFactList(s string) FactSet {
	var set FactSet
	for name := range strings.SplitSeq(s, ";") {
		name = strings.TrimSpace(name)
		for f := Fact(0); f < numFacts; f++ {
			if strings.EqualFold(name, factNames[f]) {
				set |= 1 << f
			}
		}
	}
	return set
}

// Names returns the selected fact names, each followed by ";", in the fixed
// order of the Fact constants, e.g. "type;size;modify;". This is the text of
// the reply to "OPTS MLST".
func (s FactSet) Names() string {
	var b strings.Builder
	for f := Fact(0); f < numFacts; f++ {
		if s.Has(f) {
			b.WriteString(factNames[f])
			b.WriteByte(';')
		}
	}
	return b.String()
}

// FeatMLST returns the MLST line of the FEAT reply (RFC 3659 section 7.8),
// listing every supported fact with "*" after the selected ones, e.g.
// "MLST type*;size*;modify*;perm*;unique*;unix.mode;".
func FeatMLST(selected FactSet) string {
	b := []byte("MLST ")
	for f := Fact(0); f < numFacts; f++ {
		b = append(b, factNames[f]...)
		if selected.Has(f) {
			b = append(b, '*')
		}
		b = append(b, ';')
	}
	return string(b)
}

// AppendMLSxEntry appends one MLST/MLSD entry (RFC 3659 section 7.2) for fi
// to dst, without a line ending: the selected facts, a single space and name,
// e.g. "type=file;size=12;modify=20261126093000.123;perm=rw; notes.txt".
//
// typ, when non-empty, overrides the type fact (use "cdir" and "pdir" for the
// listed directory and its parent). The size fact is written for files only,
// perm only when perm is non-empty, unique only when fi.Sys() is a
// *syscall.Stat_t, and modify only for a non-zero modification time. For
// MLST the caller puts the leading space of the reply line in front.
func AppendMLSxEntry(dst []byte, fi fs.FileInfo, name, typ, perm string, facts FactSet) []byte {
	mode := fi.Mode()
	if typ == "" {
		typ = mlsxType(mode)
	}
	if facts.Has(FactType) {
		dst = append(dst, "type="...)
		dst = append(dst, typ...)
		dst = append(dst, ';')
	}
	if facts.Has(FactSize) && typ == "file" {
		dst = append(dst, "size="...)
		dst = strconv.AppendInt(dst, fi.Size(), 10)
		dst = append(dst, ';')
	}
	if facts.Has(FactModify) {
		if t := fi.ModTime(); !t.IsZero() {
			dst = append(dst, "modify="...)
			dst = AppendMDTM(dst, t)
			dst = append(dst, ';')
		}
	}
	if facts.Has(FactPerm) && perm != "" {
		dst = append(dst, "perm="...)
		dst = append(dst, perm...)
		dst = append(dst, ';')
	}
	if facts.Has(FactUnique) {
		if _, _, dev, ino, ok := sysIDs(fi); ok {
			dst = append(dst, "unique="...)
			dst = strconv.AppendUint(dst, dev, 16)
			dst = append(dst, 'U')
			dst = strconv.AppendUint(dst, ino, 16)
			dst = append(dst, ';')
		}
	}
	if facts.Has(FactUnixMode) {
		dst = append(dst, "unix.mode=0"...)
		dst = strconv.AppendUint(dst, uint64(unixPermBits(mode)), 8)
		dst = append(dst, ';')
	}
	dst = append(dst, ' ')
	return append(dst, name...)
}

// mlsxType returns the type fact value for a file mode.
func mlsxType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m.IsRegular():
		return "file"
	case m&fs.ModeSymlink != 0:
		return "OS.unix=symlink"
	case m&fs.ModeNamedPipe != 0:
		return "OS.unix=fifo"
	case m&fs.ModeSocket != 0:
		return "OS.unix=socket"
	case m&fs.ModeCharDevice != 0:
		return "OS.unix=chr"
	case m&fs.ModeDevice != 0:
		return "OS.unix=blk"
	}
	return "file"
}

// unixPermBits returns the Unix permission bits of m, including setuid
// (04000), setgid (02000) and sticky (01000).
func unixPermBits(m fs.FileMode) uint32 {
	b := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// FormatMDTM formats t as an RFC 3659 time-val in UTC, "YYYYMMDDHHMMSS",
// followed by ".sss" milliseconds when they are not zero. It is the text of
// an MDTM reply and of the modify fact. Times outside the years 0000 to 9999
// do not fit the format.
func FormatMDTM(t time.Time) string {
	var b [32]byte
	return string(AppendMDTM(b[:0], t))
}

// AppendMDTM appends FormatMDTM(t) to dst.
func AppendMDTM(dst []byte, t time.Time) []byte {
	t = t.UTC()
	dst = t.AppendFormat(dst, "20060102150405")
	if ms := t.Nanosecond() / int(time.Millisecond); ms != 0 {
		dst = append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	}
	return dst
}

// ParseMDTM parses an RFC 3659 time-val (section 2.3), as sent with MFMT:
// exactly 14 digits "YYYYMMDDHHMMSS" in UTC, optionally followed by "." and
// one or more digits of fraction (digits beyond nanoseconds are ignored).
// Out-of-range fields are rejected; a leap second (60) is accepted and
// rolls over. Errors are *Error with CodeArgSyntax (501).
func ParseMDTM(s string) (time.Time, error) {
	if len(s) < 14 || !allDigits(s[:14]) {
		return time.Time{}, errMDTM()
	}
	num := func(i, j int) int {
		n, _ := strconv.Atoi(s[i:j])
		return n
	}
	year, month, day := num(0, 4), num(4, 6), num(6, 8)
	hour, minute, sec := num(8, 10), num(10, 12), num(12, 14)
	nsec := 0
	if rest := s[14:]; rest != "" {
		frac := rest[1:]
		if rest[0] != '.' || frac == "" || len(frac) > 32 || !allDigits(frac) {
			return time.Time{}, errMDTM()
		}
		for i := 0; i < 9; i++ {
			nsec *= 10
			if i < len(frac) {
				nsec += int(frac[i] - '0')
			}
		}
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, errMDTM()
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return time.Time{}, errMDTM() // e.g. February 30
	}
	if t.Year() > 9999 {
		return time.Time{}, errMDTM() // a leap second rolled over into year 10000
	}
	return t, nil
}

func errMDTM() error {
	return &Error{Code: CodeArgSyntax, Message: "Syntax error in time value, expected YYYYMMDDHHMMSS[.sss]."}
}
