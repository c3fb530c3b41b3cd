package ftp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/; the command-line seeds
// come from ProFuzzBench's recorded sessions (see testdata/NOTICE).

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER anonymous", "PASS x", "RETR a b ", "CWD   /pub", "US3R", "", " NOOP", "ABCDEFGHIJKLMNOPQ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != CodeSyntaxError {
				t.Fatalf("error %v is not a 500 *Error", err)
			}
			return
		}
		if c.Verb == "" || len(c.Verb) > MaxVerbLen {
			t.Fatalf("verb %q has a bad length", c.Verb)
		}
		for i := 0; i < len(c.Verb); i++ {
			if c.Verb[i] < 'A' || c.Verb[i] > 'Z' {
				t.Fatalf("verb %q is not upper-case letters", c.Verb)
			}
		}
		if strings.HasPrefix(c.Arg, " ") {
			t.Fatalf("argument %q starts with a space", c.Arg)
		}
		rest := line[len(c.Verb):]
		if !strings.EqualFold(line[:len(c.Verb)], c.Verb) || strings.TrimLeft(rest, " ") != c.Arg {
			t.Fatalf("%#v does not reassemble %q", c, line)
		}
		if again, err := ParseCommand(c.Verb + " " + c.Arg); err != nil || again != c {
			t.Fatalf("re-parsing %#v gave %#v, %v", c, again, err)
		}
	})
}

func FuzzParsePORT(f *testing.F) {
	for _, s := range []string{"127,0,0,1,132,209", " 010,000,000,001,004,001 ", "1,2,3,4,5", "255,255,255,255,255,256"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParsePORT(arg)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != CodeArgSyntax {
				t.Fatalf("error %v is not a 501 *Error", err)
			}
			return
		}
		s, err := FormatPORT(ap)
		if err != nil {
			t.Fatalf("FormatPORT(%v): %v", ap, err)
		}
		if again, err := ParsePORT(s); err != nil || again != ap {
			t.Fatalf("round trip %q -> %v -> %q -> %v, %v", arg, ap, s, again, err)
		}
	})
}

func FuzzParsePASVReply(f *testing.F) {
	for _, s := range []string{"Entering Passive Mode (192,168,1,2,4,1).", "227 =10,0,0,1,0,21", "(1, 2, 3, 4, 5, 6)", "(999,1,2,3,4,5,6)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		ap, err := ParsePASVReply(msg)
		if err != nil {
			if !errors.Is(err, ErrBadReply) {
				t.Fatalf("error %v does not wrap ErrBadReply", err)
			}
			return
		}
		s, err := FormatPASVReply(ap)
		if err != nil {
			t.Fatalf("FormatPASVReply(%v): %v", ap, err)
		}
		if again, err := ParsePASVReply(s); err != nil || again != ap {
			t.Fatalf("round trip %q -> %v -> %q -> %v, %v", msg, ap, s, again, err)
		}
	})
}

func FuzzParseEPRT(f *testing.F) {
	for _, s := range []string{"|1|132.235.1.2|6275|", "|2|1080::8:800:200C:417A|5282|", "!2!::ffff:1.2.3.4!21!", "|3|x|1|", "|2|fe80::1%eth0|21|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParseEPRT(arg)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != CodeArgSyntax && fe.Code != CodeNetProtoNotSupported {
				t.Fatalf("error %v is not a 501 or 522 *Error", err)
			}
			return
		}
		if ap.Port() == 0 || ap.Addr().Zone() != "" || ap.Addr().Is4In6() {
			t.Fatalf("ParseEPRT(%q) = %v", arg, ap)
		}
		s := FormatEPRT(ap)
		if again, err := ParseEPRT(s); err != nil || again != ap {
			t.Fatalf("round trip %q -> %v -> %q -> %v, %v", arg, ap, s, again, err)
		}
		if ap.Addr().Is4() {
			p, err := FormatPORT(ap)
			if again, err2 := ParsePORT(p); err != nil || err2 != nil || again != ap {
				t.Fatalf("PORT form of %v: %q, %v, %v", ap, p, err, err2)
			}
		}
	})
}

func FuzzParseEPSVReply(f *testing.F) {
	for _, s := range []string{"Entering Extended Passive Mode (|||6446|)", "(!!!21!)", "(|||0|) (|||7|)", "(|||65536|)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		port, err := ParseEPSVReply(msg)
		if err != nil {
			if !errors.Is(err, ErrBadReply) {
				t.Fatalf("error %v does not wrap ErrBadReply", err)
			}
			return
		}
		if port == 0 {
			t.Fatalf("ParseEPSVReply(%q) = 0", msg)
		}
		if again, err := ParseEPSVReply(FormatEPSVReply(port)); err != nil || again != port {
			t.Fatalf("round trip %q -> %d -> %d, %v", msg, port, again, err)
		}
	})
}

func FuzzParseMDTM(f *testing.F) {
	for _, s := range []string{"20261126093000", "20261126093000.123", "20240230000000", "20161231235960.9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseMDTM(s)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != CodeArgSyntax {
				t.Fatalf("error %v is not a 501 *Error", err)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseMDTM(%q) is not in UTC", s)
		}
		want := tm.Truncate(time.Millisecond)
		if again, err := ParseMDTM(FormatMDTM(tm)); err != nil || !again.Equal(want) {
			t.Fatalf("round trip %q -> %v -> %q -> %v, %v", s, tm, FormatMDTM(tm), again, err)
		}
	})
}

func FuzzMatchGlob(f *testing.F) {
	for _, s := range [][2]string{{"*.txt", "a.txt"}, {"[!a-c]?*", "dxy"}, {`\*[]-]`, "*]"}, {"*a*a*b", "aaaaab"}, {"[^α-ω]", "λ"}, {"[abc", "[abc"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := MatchGlob(pattern, name)
		HasGlob(pattern)
		if len(pattern) > 16 || len(name) > 24 {
			return // the reference matcher is exponential
		}
		if want := refMatch(pattern, name); got != want {
			t.Fatalf("MatchGlob(%q, %q) = %v, reference says %v", pattern, name, got, want)
		}
		if !HasGlob(pattern) && !strings.Contains(pattern, `\`) && got != (pattern == name) {
			t.Fatalf("MatchGlob(%q, %q) = %v for a pattern without globs", pattern, name, got)
		}
	})
}
