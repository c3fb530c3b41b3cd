// Package wire reads and writes the FTP control connection: a line reader
// with a hard length limit that strips Telnet commands, and the reader and
// writer of RFC 959 single- and multi-line replies.
//
// It implements parts of:
//   - RFC 959 section 4.2: reply format, including multi-line replies
//   - RFC 854: Telnet protocol (IAC escapes and commands on the control
//     connection, as clients send IAC IP IAC DM before ABOR)
//
// Both the server and the client use it; neither should read the control
// connection any other way.
package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ferryftp/ferry/ftp"
)

// ErrLineTooLong is returned by ReadLine for a line longer than the limit.
// The whole line has been consumed, so the next ReadLine starts with the
// following line.
var ErrLineTooLong = errors.New("wire: line too long")

// MaxReplyLines is how many lines ReadReply accepts in one reply.
const MaxReplyLines = 10000

// bufSize is the size of the buffer between the connection and the line
// assembler; small, so that idle sessions are cheap.
const bufSize = 1024

// keepLineBuf is the largest line buffer kept between lines; a buffer grown
// by a longer line is dropped afterwards.
const keepLineBuf = 4096

// Telnet bytes (RFC 854).
const (
	iac  = 255
	will = 251
	wont = 252
	do   = 253
	dont = 254
)

// Reader reads lines and replies from a control connection. It is not safe
// for concurrent use.
type Reader struct {
	br      *bufio.Reader
	maxLine int
	line    []byte // reusable line buffer, at most maxLine+1 bytes
}

// NewReader returns a Reader on r that refuses lines longer than maxLine
// bytes (not counting the line ending; a maxLine below 1 means 1).
func NewReader(r io.Reader, maxLine int) *Reader {
	if maxLine < 1 {
		maxLine = 1
	}
	return &Reader{br: bufio.NewReaderSize(r, bufSize), maxLine: maxLine}
}

// Buffered returns the number of bytes read from the connection but not yet
// returned as lines. A server must check that it is 0 after reading AUTH TLS:
// anything else is plaintext the client pipelined before the handshake.
func (r *Reader) Buffered() int {
	return r.br.Buffered()
}

// Reset makes r read from rd, typically the *tls.Conn after AUTH TLS,
// discarding any buffered bytes.
func (r *Reader) Reset(rd io.Reader) {
	r.br.Reset(rd)
	r.line = r.line[:0]
}

type telnetState uint8

const (
	stData   telnetState = iota
	stIAC                // after IAC
	stOption             // after IAC WILL/WONT/DO/DONT
)

// ReadLine returns the next line without its line ending. A line ends with
// LF; a CR right before the LF is removed, any other CR is kept.
//
// Telnet sequences (RFC 854) are handled on the way, also when split across
// reads: IAC IAC yields one 0xFF byte, IAC WILL/WONT/DO/DONT and their
// option byte are dropped, and IAC with any other byte (such as IP or DM) is
// dropped.
//
// A line longer than the limit is read to its end without being stored and
// ErrLineTooLong is returned. At the end of input ReadLine returns io.EOF,
// or io.ErrUnexpectedEOF if a partial line was read. Other errors come from
// the underlying reader; after them the reader's position in the stream is
// undefined.
func (r *Reader) ReadLine() (string, error) {
	r.line = r.line[:0]
	state := stData
	started := false
	tooLong := false
	for {
		chunk, err := r.peek()
		if len(chunk) == 0 {
			if err == io.EOF && (started || len(r.line) > 0) {
				err = io.ErrUnexpectedEOF
			}
			r.trimBuf()
			return "", err
		}
		started = true
		for i := 0; i < len(chunk); {
			if state == stData {
				// Fast path: copy everything up to the next LF or IAC.
				rest := chunk[i:]
				j := indexLFOrIAC(rest)
				if j < 0 {
					tooLong = r.appendData(rest) || tooLong
					break
				}
				tooLong = r.appendData(rest[:j]) || tooLong
				i += j + 1
				if rest[j] == '\n' {
					r.br.Discard(i)
					return r.finish(tooLong)
				}
				state = stIAC
				continue
			}
			c := chunk[i]
			i++
			switch {
			case state == stOption:
				state = stData
			case c == iac: // IAC IAC: a literal 0xFF
				tooLong = r.appendData(chunk[i-1:i]) || tooLong
				state = stData
			case c == will || c == wont || c == do || c == dont:
				state = stOption
			default: // IAC IP, IAC DM, ...: dropped
				state = stData
			}
		}
		r.br.Discard(len(chunk))
	}
}

// indexLFOrIAC returns the index of the first LF or IAC byte in b, or -1.
func indexLFOrIAC(b []byte) int {
	lf := bytes.IndexByte(b, '\n')
	if lf >= 0 {
		b = b[:lf]
	}
	if k := bytes.IndexByte(b, iac); k >= 0 {
		return k
	}
	return lf
}

// appendData adds b to the line buffer up to maxLine+1 bytes (room for a CR
// before the LF) and reports whether bytes had to be dropped.
func (r *Reader) appendData(b []byte) (dropped bool) {
	if room := r.maxLine + 1 - len(r.line); len(b) > room {
		b = b[:room]
		dropped = true
	}
	r.line = append(r.line, b...)
	return dropped
}

// peek returns the buffered bytes, filling the buffer first if it is empty.
func (r *Reader) peek() ([]byte, error) {
	if n := r.br.Buffered(); n > 0 {
		return r.br.Peek(n)
	}
	if _, err := r.br.Peek(1); err != nil {
		return nil, err
	}
	return r.br.Peek(r.br.Buffered())
}

// finish turns the assembled line into a string.
func (r *Reader) finish(tooLong bool) (string, error) {
	line := r.line
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if tooLong || len(line) > r.maxLine {
		r.trimBuf()
		return "", ErrLineTooLong
	}
	s := string(line)
	r.trimBuf()
	return s, nil
}

// trimBuf drops a line buffer that grew large, so idle sessions stay small.
func (r *Reader) trimBuf() {
	if cap(r.line) > keepLineBuf {
		r.line = nil
	}
}

// ReadReply reads one RFC 959 reply (section 4.2): either a single line
// "ddd text", or a multi-line reply starting with "ddd-text" and ending with
// the first line that starts with the same code and a space ("ddd text").
// Lines in between may hold any text, including other codes and "ddd-"; a
// "ddd-" prefix with the reply's own code is removed from them, otherwise a
// single leading space is. A lone "ddd" is accepted as a one-line reply and
// as the end line.
//
// The code must be three digits with the first one from 1 to 5. Malformed
// replies give an error wrapping ftp.ErrBadReply; a reply longer than
// MaxReplyLines lines or with a line longer than the limit is an error too.
// A 4xx/5xx reply is not an error here: use Reply.Err. After an error the
// rest of a multi-line reply may still be unread, so the connection is best
// closed.
func (r *Reader) ReadReply() (ftp.Reply, error) {
	first, err := r.ReadLine()
	if err != nil {
		return ftp.Reply{}, err
	}
	code, ok := replyCode(first)
	if !ok {
		return ftp.Reply{}, fmt.Errorf("%w: bad reply line %.40q", ftp.ErrBadReply, first)
	}
	if len(first) == 3 || first[3] == ' ' {
		return ftp.Reply{Code: code, Lines: []string{textAfterCode(first)}}, nil
	}
	if first[3] != '-' {
		return ftp.Reply{}, fmt.Errorf("%w: bad reply line %.40q", ftp.ErrBadReply, first)
	}
	prefix := first[:3]
	lines := []string{first[4:]}
	for {
		line, err := r.ReadLine()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return ftp.Reply{}, err
		}
		if len(line) >= 3 && line[:3] == prefix && (len(line) == 3 || line[3] == ' ') {
			lines = append(lines, textAfterCode(line))
			return ftp.Reply{Code: code, Lines: lines}, nil
		}
		if len(lines) >= MaxReplyLines-1 {
			return ftp.Reply{}, fmt.Errorf("%w: more than %d lines", ftp.ErrBadReply, MaxReplyLines)
		}
		switch {
		case len(line) >= 4 && line[:3] == prefix && line[3] == '-':
			line = line[4:]
		case len(line) > 0 && line[0] == ' ':
			line = line[1:]
		}
		lines = append(lines, line)
	}
}

// replyCode parses the three-digit code at the start of a reply line.
func replyCode(line string) (int, bool) {
	if len(line) < 3 || line[0] < '1' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false
	}
	if len(line) > 3 && line[3] != ' ' && line[3] != '-' {
		return 0, false
	}
	return int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0'), true
}

func textAfterCode(line string) string {
	if len(line) <= 4 {
		return ""
	}
	return line[4:]
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// AppendReply appends a reply with the given code and message to dst, with
// CRLF line endings. A message with "\n" becomes a multi-line reply
//
//	ddd-line1
//	 line2
//	ddd line3
//
// whose middle lines are prefixed with a space, so that a middle line can
// never be mistaken for the end line. Every "\r" in msg is dropped and every
// 0xFF byte is doubled (Telnet IAC escape), so no text can break out of the
// reply. The message is formatted as given: an empty msg yields "ddd \r\n".
func AppendReply(dst []byte, code int, msg string) []byte {
	var cb [8]byte
	c := strconv.AppendInt(cb[:0], int64(code), 10)
	last := lastLineStart(msg)
	if last > 0 {
		dst = append(dst, c...)
		dst = append(dst, '-')
		for i := 0; i < last; i++ {
			switch b := msg[i]; b {
			case '\r':
			case '\n':
				dst = append(dst, '\r', '\n')
				if i+1 < last {
					dst = append(dst, ' ')
				}
			case iac:
				dst = append(dst, iac, iac)
			default:
				dst = append(dst, b)
			}
		}
	}
	dst = append(dst, c...)
	dst = append(dst, ' ')
	for i := last; i < len(msg); i++ {
		switch b := msg[i]; b {
		case '\r':
		case iac:
			dst = append(dst, iac, iac)
		default:
			dst = append(dst, b)
		}
	}
	return append(dst, '\r', '\n')
}

// lastLineStart returns the index after the last "\n" in msg, or 0.
func lastLineStart(msg string) int {
	for i := len(msg) - 1; i >= 0; i-- {
		if msg[i] == '\n' {
			return i + 1
		}
	}
	return 0
}

// WriteReply writes AppendReply(nil, code, msg) to w in a single Write.
func WriteReply(w io.Writer, code int, msg string) error {
	var buf [256]byte
	_, err := w.Write(AppendReply(buf[:0], code, msg))
	return err
}
