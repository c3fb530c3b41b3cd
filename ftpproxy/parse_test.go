package ftpproxy

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/internal/wire"
)

func TestPassiveReplies(t *testing.T) {
	server := netip.MustParseAddr("198.51.100.2")
	for _, c := range []struct {
		name, sent, msg string
		useControl      bool
		want            string // "" for refused
	}{
		{"a plain 227", "PASV", "Entering Passive Mode (198,51,100,2,195,80).", false, "198.51.100.2:50000"},
		{"a 227 without parentheses", "PASV", "Entering Passive Mode 198,51,100,2,195,80", false, "198.51.100.2:50000"},
		{"a 227 with spaces after commas", "PASV", "=198, 51, 100, 2, 195, 80", false, "198.51.100.2:50000"},
		{"a 227 with leading zeros", "PASV", "(198,051,100,002,195,080)", false, "198.51.100.2:50000"},
		{"a 227 with text after the numbers", "PASV", "Entering Passive Mode (198,51,100,2,195,80) ok", false, "198.51.100.2:50000"},
		{"a 227 naming another host", "PASV", "Entering Passive Mode (192,0,2,9,195,80).", false, ""},
		{"a 227 naming another host with use-control-IP", "PASV", "(10,0,0,5,195,80)", true, "198.51.100.2:50000"},
		{"a 227 naming a low port", "PASV", "(198,51,100,2,0,21)", false, ""},
		{"a 227 naming port 0", "PASV", "(198,51,100,2,0,0)", false, ""},
		{"a 227 with a number over 255", "PASV", "(198,51,100,256,195,80)", false, ""},
		{"a 227 with five numbers", "PASV", "(198,51,100,195,80)", false, ""},
		{"a 227 with no numbers", "PASV", "Entering Passive Mode.", false, ""},
		{"a 227 with a fake address in a file name before the real one", "PASV", "File 1,2,3,4,5,6 (198,51,100,2,195,80)", false, ""},
		{"a plain 229", "EPSV", "Entering Extended Passive Mode (|||50000|)", false, "198.51.100.2:50000"},
		{"a 229 with another delimiter", "EPSV", "Entering Extended Passive Mode (!!!50000!)", false, "198.51.100.2:50000"},
		{"a 229 naming a low port", "EPSV", "(|||21|)", false, ""},
		{"a 229 with port 0", "EPSV", "(|||0|)", false, ""},
		{"a 229 with port 65536", "EPSV", "(|||65536|)", false, ""},
		{"a 229 with an address in it", "EPSV", "(|1|192.0.2.9|50000|)", false, ""},
		{"a 229 with mixed delimiters", "EPSV", "(||!50000|)", false, ""},
		{"a 229 without parentheses", "EPSV", "|||50000|", false, ""},
	} {
		t.Run(c.name+" is "+map[bool]string{true: "refused", false: "accepted"}[c.want == ""], func(t *testing.T) {
			got, err := passiveTarget(c.sent, c.msg, server, c.useControl)
			if c.want == "" {
				if err == nil {
					t.Errorf("accepted as %s", got)
				}
				return
			}
			if err != nil || got.String() != c.want {
				t.Errorf("got %s, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestActiveCommands(t *testing.T) {
	client := netip.MustParseAddr("192.0.2.7")
	for _, c := range []struct {
		name, verb, arg string
		code            int // 0: accepted
	}{
		{"PORT to the client's own high port", "PORT", "192,0,2,7,195,80", 0},
		{"EPRT to the client's own high port", "EPRT", "|1|192.0.2.7|50000|", 0},
		{"EPRT with an IPv4-mapped address", "EPRT", "|2|::ffff:192.0.2.7|50000|", 0},
		{"PORT to another host (bounce)", "PORT", "198,51,100,2,0,80", 501},
		{"PORT to the client's port 25", "PORT", "192,0,2,7,0,25", 501},
		{"EPRT to another host", "EPRT", "|1|198.51.100.2|50000|", 501},
		{"EPRT with protocol 3", "EPRT", "|3|192.0.2.7|50000|", 522},
		{"PORT with garbage", "PORT", "192,0,2,7,195,80,1", 501},
		{"PORT with CRLF smuggling", "PORT", "192,0,2,7,195,80\r\nDELE x", 501},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, fe := activeTarget(c.verb, c.arg, client)
			switch {
			case c.code == 0 && fe != nil:
				t.Errorf("refused: %v", fe)
			case c.code != 0 && (fe == nil || fe.Code != c.code):
				t.Errorf("got %v, want code %d", fe, c.code)
			}
		})
	}
}

func TestLineChecks(t *testing.T) {
	read := func(in string) ([]string, error) {
		r := wire.NewReader(&crlfReader{r: strings.NewReader(in)}, 64)
		var lines []string
		for {
			l, err := r.ReadLine()
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				return lines, err
			}
			lines = append(lines, l)
		}
	}
	t.Run("CRLF lines pass", func(t *testing.T) {
		lines, err := read("USER u\r\nPASS p\r\n")
		if err != nil || len(lines) != 2 {
			t.Errorf("%q %v", lines, err)
		}
	})
	t.Run("a bare LF stops the reader after the good lines", func(t *testing.T) {
		lines, err := read("USER u\r\nNOOP\nDELE x\r\n")
		if !errors.Is(err, errBareLF) || len(lines) != 1 {
			t.Errorf("%q %v", lines, err)
		}
	})
	t.Run("a bare LF split across reads is found", func(t *testing.T) {
		c := &crlfReader{r: io.MultiReader(strings.NewReader("NOOP\r"), strings.NewReader("\nX\n"))}
		b, err := io.ReadAll(c)
		if !errors.Is(err, errBareLF) || string(b) != "NOOP\r\nX" {
			t.Errorf("%q %v", b, err)
		}
	})
	t.Run("NUL and CR inside a line are flagged", func(t *testing.T) {
		if checkLine("RETR a\x00b") == "" || checkLine("RETR a\rb") == "" || checkLine("RETR ok") != "" {
			t.Error("checkLine")
		}
	})
}

func FuzzPassiveTarget(f *testing.F) {
	f.Add(true, "Entering Extended Passive Mode (|||50000|)", false)
	f.Add(false, "Entering Passive Mode (198,51,100,2,195,80).", false)
	f.Add(false, "Entering Passive Mode (10,0,0,1,195,80).", true)
	server := netip.MustParseAddr("198.51.100.2")
	f.Fuzz(func(t *testing.T, epsv bool, msg string, useControl bool) {
		sent := "PASV"
		if epsv {
			sent = "EPSV"
		}
		ap, err := passiveTarget(sent, msg, server, useControl)
		if err == nil && (ap.Addr() != server || ap.Port() < 1024) {
			t.Fatalf("%q accepted as %s", msg, ap)
		}
	})
}

func FuzzActiveTarget(f *testing.F) {
	f.Add(true, "192,0,2,7,195,80")
	f.Add(false, "|1|192.0.2.7|50000|")
	f.Add(false, "|2|::ffff:192.0.2.7|50000|")
	client := netip.MustParseAddr("192.0.2.7")
	f.Fuzz(func(t *testing.T, port bool, arg string) {
		verb := "EPRT"
		if port {
			verb = "PORT"
		}
		ap, fe := activeTarget(verb, arg, client)
		if fe == nil && (ap.Addr() != client || ap.Port() < 1024) {
			t.Fatalf("%s %q accepted as %s", verb, arg, ap)
		}
		if fe != nil && (fe.Code < 500 || fe.Code > 599) {
			t.Fatalf("%s %q: code %d", verb, arg, fe.Code)
		}
	})
}

// FuzzControlLines checks that whatever bytes a peer sends, the lines the
// proxy would act on hold no LF, and a stream read without error had no
// bare LF before the last line end.
func FuzzControlLines(f *testing.F) {
	f.Add([]byte("USER u\r\nPASS p\r\nPASV\r\n"))
	f.Add([]byte("NOOP\nDELE x\r\n"))
	f.Add([]byte("RETR a\rb\r\n\xff\xf4\xff\xf2ABOR\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := wire.NewReader(&crlfReader{r: bytes.NewReader(in)}, 256)
		for {
			l, err := r.ReadLine()
			if err != nil {
				if err == io.EOF && bytes.Contains(fixLF(in), []byte("\n")) {
					t.Fatalf("bare LF in %q not reported", in)
				}
				return
			}
			if strings.ContainsAny(l, "\n") {
				t.Fatalf("line %q holds LF", l)
			}
		}
	})
}

// fixLF removes every CRLF, leaving only bare LFs.
func fixLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), nil) }
