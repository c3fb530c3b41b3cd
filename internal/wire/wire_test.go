package wire

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ferryftp/ferry/ftp"
)

// readAll reads lines until an error and returns the lines and the final
// error; a line that failed with ErrLineTooLong is recorded as "<too long>".
func readAll(r *Reader) ([]string, error) {
	var lines []string
	for {
		line, err := r.ReadLine()
		if errors.Is(err, ErrLineTooLong) {
			lines = append(lines, "<too long>")
			continue
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		wantErr error
	}{
		{"CRLF ends a line", "USER a\r\nPASS b\r\n", 100, []string{"USER a", "PASS b"}, io.EOF},
		{"a bare LF ends a line", "NOOP\nQUIT\n", 100, []string{"NOOP", "QUIT"}, io.EOF},
		{"a lone CR inside a line is kept", "RETR a\rb\r\n", 100, []string{"RETR a\rb"}, io.EOF},
		{"only one CR before LF is removed", "X\r\r\n", 100, []string{"X\r"}, io.EOF},
		{"an empty line is returned as empty", "\r\n\n", 100, []string{"", ""}, io.EOF},
		{"trailing spaces are kept", "STOR a  \r\n", 100, []string{"STOR a  "}, io.EOF},
		{"IAC IAC becomes one 0xFF byte", "MKD \xff\xff\r\n", 100, []string{"MKD \xff"}, io.EOF},
		{"IAC IP and IAC DM before ABOR are dropped", "\xff\xf4\xff\xf2ABOR\r\n", 100, []string{"ABOR"}, io.EOF},
		{"IAC WILL and its option are dropped", "NO\xff\xfb\x01OP\r\n", 100, []string{"NOOP"}, io.EOF},
		{"IAC DONT and its option are dropped", "\xff\xfe\x22NOOP\r\n", 100, []string{"NOOP"}, io.EOF},
		{"IAC DO with an LF as option drops the LF", "A\xff\xfd\nB\r\n", 100, []string{"AB"}, io.EOF},
		{"IAC followed by LF drops the LF", "A\xff\nB\n", 100, []string{"AB"}, io.EOF},
		{"a line of exactly the limit is accepted", "12345\r\n", 5, []string{"12345"}, io.EOF},
		{"a line over the limit is refused and skipped", "123456\r\nNOOP\r\n", 5, []string{"<too long>", "NOOP"}, io.EOF},
		{"the limit counts bytes after IAC removal", "\xff\xf4\xff\xf2ABOR\r\n", 4, []string{"ABOR"}, io.EOF},
		{"an escaped 0xFF counts once", "\xff\xff\xff\xff\xff\xff\r\n", 3, []string{"\xff\xff\xff"}, io.EOF},
		{"a clean end of input is io.EOF", "", 100, nil, io.EOF},
		{"a partial line at the end is unexpected", "NOOP\r\nQU", 100, []string{"NOOP"}, io.ErrUnexpectedEOF},
		{"a partial Telnet command at the end is unexpected", "NOOP\n\xff", 100, []string{"NOOP"}, io.ErrUnexpectedEOF},
		{"a dropped Telnet command alone at the end is unexpected", "\xff\xf4", 100, nil, io.ErrUnexpectedEOF},
		{"a too-long partial line at the end is unexpected", "123456789", 5, nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, mode := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"in one read", func(r io.Reader) io.Reader { return r }},
			{"one byte at a time", iotest.OneByteReader},
			{"in half reads", iotest.HalfReader},
		} {
			t.Run(tt.name+" "+mode.name, func(t *testing.T) {
				r := NewReader(mode.wrap(strings.NewReader(tt.in)), tt.max)
				lines, err := readAll(r)
				if !slices.Equal(lines, tt.want) || err != tt.wantErr {
					t.Errorf("got %q, %v; want %q, %v", lines, err, tt.want, tt.wantErr)
				}
			})
		}
	}
}

func TestReadLineErrors(t *testing.T) {
	t.Run("a read error is passed through", func(t *testing.T) {
		boom := errors.New("boom")
		r := NewReader(iotest.ErrReader(boom), 100)
		if _, err := r.ReadLine(); err != boom {
			t.Fatalf("err = %v, want boom", err)
		}
	})
	t.Run("data returned with a timeout error is not lost", func(t *testing.T) {
		r := NewReader(iotest.TimeoutReader(strings.NewReader("NOOP\r\n")), 100)
		if line, err := r.ReadLine(); line != "NOOP" || err != nil {
			t.Fatalf("got %q, %v", line, err)
		}
	})
}

func TestReadLineLongLineMemory(t *testing.T) {
	t.Run("a 4 MiB line is skipped without buffering it", func(t *testing.T) {
		const max = 512
		in := io.MultiReader(
			strings.NewReader("USER a\r\n"),
			strings.NewReader(strings.Repeat("A", 4<<20)),
			strings.NewReader("\r\nNOOP\r\n"),
		)
		r := NewReader(in, max)
		if line, err := r.ReadLine(); line != "USER a" || err != nil {
			t.Fatalf("first line = %q, %v", line, err)
		}
		if _, err := r.ReadLine(); err != ErrLineTooLong {
			t.Fatalf("err = %v, want ErrLineTooLong", err)
		}
		if c := cap(r.line); c > 2*max {
			t.Errorf("line buffer grew to %d bytes for a limit of %d", c, max)
		}
		if line, err := r.ReadLine(); line != "NOOP" || err != nil {
			t.Fatalf("next line = %q, %v", line, err)
		}
		if _, err := r.ReadLine(); err != io.EOF {
			t.Fatalf("err = %v, want io.EOF", err)
		}
	})
	t.Run("a large limit does not keep a large buffer", func(t *testing.T) {
		r := NewReader(strings.NewReader(strings.Repeat("B", 100000)+"\r\nNOOP\r\n"), 1<<20)
		if line, err := r.ReadLine(); len(line) != 100000 || err != nil {
			t.Fatalf("got %d bytes, %v", len(line), err)
		}
		if c := cap(r.line); c > keepLineBuf {
			t.Errorf("line buffer of %d bytes kept after a long line", c)
		}
	})
}

func TestBufferedAndReset(t *testing.T) {
	t.Run("pipelined bytes after AUTH TLS are visible and discarded by Reset", func(t *testing.T) {
		r := NewReader(strings.NewReader("AUTH TLS\r\nUSER evil\r\n"), 100)
		if line, err := r.ReadLine(); line != "AUTH TLS" || err != nil {
			t.Fatalf("got %q, %v", line, err)
		}
		if n := r.Buffered(); n != len("USER evil\r\n") {
			t.Fatalf("Buffered() = %d", n)
		}
		r.Reset(strings.NewReader("USER good\r\n"))
		if n := r.Buffered(); n != 0 {
			t.Fatalf("Buffered() after Reset = %d", n)
		}
		if line, err := r.ReadLine(); line != "USER good" || err != nil {
			t.Fatalf("got %q, %v", line, err)
		}
	})
	t.Run("nothing is buffered after a lone command", func(t *testing.T) {
		r := NewReader(strings.NewReader("AUTH TLS\r\n"), 100)
		if _, err := r.ReadLine(); err != nil {
			t.Fatal(err)
		}
		if n := r.Buffered(); n != 0 {
			t.Fatalf("Buffered() = %d", n)
		}
	})
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantCode  int
		wantLines []string
	}{
		{"a single-line reply is read", "220 Service ready\r\n", 220, []string{"Service ready"}},
		{"a bare LF ends a reply line", "200 OK\n", 200, []string{"OK"}},
		{"an empty text is read", "200 \r\n", 200, []string{""}},
		{"a lone code is a reply", "200\r\n", 200, []string{""}},
		{"a multi-line reply is read",
			"211-Features:\r\n MDTM\r\n SIZE\r\n211 End\r\n", 211, []string{"Features:", "MDTM", "SIZE", "End"}},
		{"middle lines with the code and a dash lose the prefix",
			"230-Welcome\r\n230-to ferry\r\n230 Logged in\r\n", 230, []string{"Welcome", "to ferry", "Logged in"}},
		{"a middle line with another code is kept",
			"214-Help\r\n200 not the end\r\n214 End\r\n", 214, []string{"Help", "200 not the end", "End"}},
		{"a middle line with the code but no separator is kept",
			"214-Help\r\n214x\r\n214 End\r\n", 214, []string{"Help", "214x", "End"}},
		{"only one leading space is stripped",
			"211-a\r\n   indented\r\n211 b\r\n", 211, []string{"a", "  indented", "b"}},
		{"a lone code ends a multi-line reply",
			"211-a\r\n b\r\n211\r\n", 211, []string{"a", "b", ""}},
		{"an empty middle line is kept",
			"211-a\r\n\r\n211 b\r\n", 211, []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(iotest.OneByteReader(strings.NewReader(tt.in+"221 Bye\r\n")), 512)
			rep, err := r.ReadReply()
			if err != nil || rep.Code != tt.wantCode || !slices.Equal(rep.Lines, tt.wantLines) {
				t.Fatalf("got %d %q, %v; want %d %q", rep.Code, rep.Lines, err, tt.wantCode, tt.wantLines)
			}
			if next, err := r.ReadReply(); err != nil || next.Code != 221 {
				t.Fatalf("next reply = %v, %v", next, err)
			}
		})
	}
}

func TestReadReplyErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"an empty input is io.EOF", "", io.EOF},
		{"a text line is malformed", "hello\r\n", ftp.ErrBadReply},
		{"a code starting with 0 is malformed", "099 x\r\n", ftp.ErrBadReply},
		{"a code starting with 6 is malformed", "600 x\r\n", ftp.ErrBadReply},
		{"a four-digit code is malformed", "2000 x\r\n", ftp.ErrBadReply},
		{"a short code is malformed", "20 x\r\n", ftp.ErrBadReply},
		{"a code with a tab is malformed", "200\tx\r\n", ftp.ErrBadReply},
		{"an empty line is malformed", "\r\n", ftp.ErrBadReply},
		{"a multi-line reply cut short is unexpected EOF", "211-a\r\n b\r\n", io.ErrUnexpectedEOF},
		{"a multi-line reply ended by another code is cut short", "211-a\r\n200 b\r\n", io.ErrUnexpectedEOF},
		{"a too-long line is refused", "200 " + strings.Repeat("x", 600) + "\r\n", ErrLineTooLong},
		{"a too-long middle line is refused", "211-a\r\n " + strings.Repeat("x", 600) + "\r\n211 b\r\n", ErrLineTooLong},
		{"too many lines are refused", "211-a\r\n" + strings.Repeat(" x\r\n", MaxReplyLines) + "211 b\r\n", ftp.ErrBadReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := NewReader(strings.NewReader(tt.in), 512).ReadReply()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, %v; want %v", rep, err, tt.wantErr)
			}
		})
	}
	t.Run("a reply of the maximum number of lines is accepted", func(t *testing.T) {
		in := "211-a\r\n" + strings.Repeat(" x\r\n", MaxReplyLines-2) + "211 b\r\n"
		rep, err := NewReader(strings.NewReader(in), 512).ReadReply()
		if err != nil || len(rep.Lines) != MaxReplyLines {
			t.Fatalf("got %d lines, %v", len(rep.Lines), err)
		}
	})
}

func TestAppendReply(t *testing.T) {
	tests := []struct {
		name string
		code int
		msg  string
		want string
	}{
		{"a one-line message is one line", 200, "OK", "200 OK\r\n"},
		{"an empty message gives a code and a space", 200, "", "200 \r\n"},
		{"a multi-line message uses the dash form", 211, "Features:\nMDTM\nEnd", "211-Features:\r\n MDTM\r\n211 End\r\n"},
		{"two lines have no middle", 230, "Hello\nLogged in", "230-Hello\r\n230 Logged in\r\n"},
		{"a middle line starting with a code is indented", 214, "a\n214 fake end\nb", "214-a\r\n 214 fake end\r\n214 b\r\n"},
		{"carriage returns are dropped", 550, "no\r\n550 such\rfile", "550-no\r\n550 550 suchfile\r\n"},
		{"a CRLF cannot inject a fake reply", 257, "\"/a\r\n200 fake\"", "257-\"/a\r\n257 200 fake\"\r\n"},
		{"0xFF is doubled as Telnet requires", 257, "\"/\xff\"", "257 \"/\xff\xff\"\r\n"},
		{"a trailing newline gives an empty last line", 211, "a\n", "211-a\r\n211 \r\n"},
		{"an empty middle line is a single space", 211, "a\n\nb", "211-a\r\n \r\n211 b\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendReply([]byte("x"), tt.code, tt.msg)); got != "x"+tt.want {
				t.Errorf("got  %q\nwant %q", got, "x"+tt.want)
			}
			var buf bytes.Buffer
			if err := WriteReply(&buf, tt.code, tt.msg); err != nil || buf.String() != tt.want {
				t.Errorf("WriteReply wrote %q, %v", buf.String(), err)
			}
		})
	}
}

// countingWriter counts Write calls.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestWriteReply(t *testing.T) {
	t.Run("a long multi-line reply goes out in one write", func(t *testing.T) {
		var w countingWriter
		if err := WriteReply(&w, 211, strings.Repeat("line\n", 500)+"End"); err != nil {
			t.Fatal(err)
		}
		if w.writes != 1 {
			t.Errorf("%d writes", w.writes)
		}
	})
	t.Run("a write error is returned", func(t *testing.T) {
		if err := WriteReply(errWriter{}, 200, "OK"); err == nil {
			t.Error("no error")
		}
	})
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestReplyRoundTrip(t *testing.T) {
	msgs := []string{
		"OK",
		"",
		"Features:\nMDTM\nSIZE\nMLST type*;size*;\nEnd",
		"a\n\n\nb",
		"first\n211 looks like an end\n211-looks like a continuation\n end",
		"  leading spaces\n  on every line\n  kept",
		"binary \xff\xfe\x00 bytes\n\xff",
		"\n",
	}
	for _, msg := range msgs {
		t.Run("the message "+strings.ReplaceAll(msg, "\n", "|")+" survives a round trip", func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteReply(&buf, 211, msg); err != nil {
				t.Fatal(err)
			}
			rep, err := NewReader(&buf, 512).ReadReply()
			if err != nil || rep.Code != 211 || rep.Message() != msg {
				t.Fatalf("got %d %q, %v; want %q", rep.Code, rep.Message(), err, msg)
			}
		})
	}
}

func BenchmarkReadLine(b *testing.B) {
	data := []byte(strings.Repeat("RETR /pub/some/file name.tar.gz\r\nNOOP\r\n", 1000))
	rd := bytes.NewReader(data)
	r := NewReader(rd, 4096)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		r.Reset(rd)
		for {
			if _, err := r.ReadLine(); err != nil {
				break
			}
		}
	}
}
