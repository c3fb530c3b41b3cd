package wire

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// The seed corpus of FuzzReadLine in testdata/fuzz/ holds recorded client
// sessions from ProFuzzBench (see testdata/NOTICE).

// refLines is a simple reference for ReadLine: it decodes the whole input
// at once and returns the lines ("<too long>" for refused ones) and the
// final error.
func refLines(data []byte, maxLine int) ([]string, error) {
	var lines []string
	var cur []byte
	state := stData
	pending := false // bytes read since the last line end
	for _, c := range data {
		pending = true
		switch state {
		case stIAC:
			state = stData
			switch c {
			case iac:
				cur = append(cur, iac)
			case will, wont, do, dont:
				state = stOption
			}
			continue
		case stOption:
			state = stData
			continue
		}
		switch c {
		case iac:
			state = stIAC
		case '\n':
			line := string(bytes.TrimSuffix(cur, []byte("\r")))
			if len(line) > maxLine {
				line = "<too long>"
			}
			lines = append(lines, line)
			cur = cur[:0]
			pending = false
		default:
			cur = append(cur, c)
		}
	}
	// A partial line, or a partial or complete Telnet command after the last
	// line end, is an unexpected end.
	if pending {
		return lines, io.ErrUnexpectedEOF
	}
	return lines, io.EOF
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("USER anonymous\r\nPASS x\r\n\xff\xf4\xff\xf2ABOR\r\nQUIT\r\n"))
	f.Add([]byte("A\xff\xfb\x01B\xff\xff\r\r\n" + strings.Repeat("x", 100) + "\nNO"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, maxLine := range []int{16, 4096} {
			want, wantErr := refLines(data, maxLine)
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
				iotest.DataErrReader,
			} {
				r := NewReader(wrap(bytes.NewReader(data)), maxLine)
				got, err := readAll(r)
				if !slices.Equal(got, want) || err != wantErr {
					t.Fatalf("max %d: got %q, %v; reference %q, %v", maxLine, got, err, want, wantErr)
				}
				if c := cap(r.line); c > 3*(maxLine+1)+64 {
					t.Fatalf("max %d: line buffer grew to %d", maxLine, c)
				}
			}
		}
	})
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("220 ready\r\n"))
	f.Add([]byte("211-Features:\r\n MDTM\r\n211-SIZE\r\n 211 x\r\n211 End\r\n"))
	f.Add([]byte("227 Entering Passive Mode (127,0,0,1,4,1).\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxLine = 256
		rep, err := NewReader(bytes.NewReader(data), maxLine).ReadReply()
		if err != nil {
			return
		}
		if rep.Code < 100 || rep.Code > 599 || len(rep.Lines) == 0 || len(rep.Lines) > MaxReplyLines {
			t.Fatalf("bad reply %d with %d lines", rep.Code, len(rep.Lines))
		}
		// Writing the reply back and reading it again gives the same lines,
		// less any CR (which WriteReply drops).
		var buf bytes.Buffer
		if err := WriteReply(&buf, rep.Code, rep.Message()); err != nil {
			t.Fatal(err)
		}
		again, err := NewReader(&buf, maxLine+1).ReadReply()
		if err != nil {
			t.Fatalf("re-reading %q: %v", buf.Bytes(), err)
		}
		want := make([]string, len(rep.Lines))
		for i, l := range rep.Lines {
			want[i] = strings.ReplaceAll(l, "\r", "")
		}
		if again.Code != rep.Code || !slices.Equal(again.Lines, want) {
			t.Fatalf("round trip of %q: got %d %q, want %d %q", data, again.Code, again.Lines, rep.Code, want)
		}
	})
}

func FuzzWriteReply(f *testing.F) {
	f.Add(211, "Features:\nMDTM\nEnd")
	f.Add(257, "\"/a\r\n200 fake\xff\"")
	f.Add(550, "")
	f.Fuzz(func(t *testing.T, code int, msg string) {
		var buf bytes.Buffer
		if err := WriteReply(&buf, code, msg); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		if !bytes.HasSuffix(out, []byte("\r\n")) || bytes.Count(out, []byte("\n")) != strings.Count(msg, "\n")+1 {
			t.Fatalf("WriteReply(%d, %q) = %q", code, msg, out)
		}
		if bytes.Count(out, []byte("\r")) != bytes.Count(out, []byte("\n")) {
			t.Fatalf("WriteReply(%d, %q) = %q has a stray CR", code, msg, out)
		}
		if code < 100 || code > 599 {
			return
		}
		rep, err := NewReader(&buf, len(msg)+8).ReadReply()
		if err != nil {
			t.Fatalf("reading %q: %v", out, err)
		}
		if want := strings.ReplaceAll(msg, "\r", ""); rep.Code != code || rep.Message() != want {
			t.Fatalf("round trip: got %d %q, want %d %q", rep.Code, rep.Message(), code, want)
		}
		if _, err := NewReader(&buf, 16).ReadReply(); !errors.Is(err, io.EOF) {
			t.Fatalf("bytes left after the reply: %v", err)
		}
	})
}
