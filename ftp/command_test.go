package ftp

import (
	"errors"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Command
	}{
		{"a verb alone has no argument", "NOOP", Command{Verb: "NOOP"}},
		{"a lower-case verb is upper-cased", "noop", Command{Verb: "NOOP"}},
		{"a mixed-case verb is upper-cased", "RetR x", Command{Verb: "RETR", Arg: "x"}},
		{"a three-letter verb is accepted", "PWD", Command{Verb: "PWD"}},
		{"the argument follows one space", "USER anonymous", Command{Verb: "USER", Arg: "anonymous"}},
		{"inner spaces in the argument are kept", "STOR my file.txt", Command{Verb: "STOR", Arg: "my file.txt"}},
		{"trailing spaces in the argument are kept", "RETR name  ", Command{Verb: "RETR", Arg: "name  "}},
		{"extra spaces after the verb are skipped", "CWD    /pub", Command{Verb: "CWD", Arg: "/pub"}},
		{"a verb followed only by spaces has no argument", "LIST   ", Command{Verb: "LIST"}},
		{"tabs inside the argument are kept", "SITE a\tb", Command{Verb: "SITE", Arg: "a\tb"}},
		{"a long unknown verb is still parsed", "XXXXXXXX a", Command{Verb: "XXXXXXXX", Arg: "a"}},
		{"a verb of sixteen letters is accepted", "ABCDEFGHIJKLMNOP", Command{Verb: "ABCDEFGHIJKLMNOP"}},
		{"a one-letter verb is parsed for the server to reject", "X", Command{Verb: "X"}},
		{"an argument may hold non-ASCII UTF-8", "MKD Grüße", Command{Verb: "MKD", Arg: "Grüße"}},
		{"the argument may contain a lone CR", "RETR a\rb", Command{Verb: "RETR", Arg: "a\rb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.line)
			if err != nil {
				t.Fatalf("ParseCommand(%q) error: %v", tt.line, err)
			}
			if got != tt.want {
				t.Errorf("ParseCommand(%q) = %#v, want %#v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseCommandRejects(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"an empty line is rejected", ""},
		{"a line of spaces is rejected", "   "},
		{"a leading space is rejected", " NOOP"},
		{"a digit in the verb is rejected", "US3R x"},
		{"a verb of digits is rejected", "123"},
		{"a tab after the verb is rejected", "USER\tx"},
		{"punctuation after the verb is rejected", "USER:x"},
		{"a NUL in the verb is rejected", "NO\x00OP"},
		{"a Telnet IAC in the verb is rejected", "\xffABOR"},
		{"a verb of seventeen letters is rejected", "ABCDEFGHIJKLMNOPQ"},
		{"non-ASCII letters in the verb are rejected", "ÜSER x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCommand(tt.line)
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != CodeSyntaxError {
				t.Fatalf("ParseCommand(%q) = %#v, %v; want *Error with code 500", tt.line, c, err)
			}
		})
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"a verb alone renders as the verb", Command{Verb: "NOOP"}, "NOOP"},
		{"a verb with argument renders both", Command{Verb: "RETR", Arg: "a b "}, "RETR a b "},
		{"the password of PASS is hidden", Command{Verb: "PASS", Arg: "secret"}, "PASS ****"},
		{"the account of ACCT is hidden", Command{Verb: "ACCT", Arg: "acct"}, "ACCT ****"},
		{"an empty PASS shows that it was empty", Command{Verb: "PASS"}, "PASS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cmd.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorAndReply(t *testing.T) {
	t.Run("an Error renders as code, space and message", func(t *testing.T) {
		if got := Errorf(CodeFileUnavailable, "No such file: %s", "x").Error(); got != "550 No such file: x" {
			t.Errorf("Error() = %q", got)
		}
	})
	t.Run("a positive reply has no error", func(t *testing.T) {
		for _, code := range []int{110, 150, 200, 226, 331, 350} {
			r := Reply{Code: code, Lines: []string{"x"}}
			if r.Err() != nil || !r.Positive() {
				t.Errorf("code %d: Err() = %v, Positive() = %v", code, r.Err(), r.Positive())
			}
		}
	})
	t.Run("a negative reply becomes an *Error with the joined message", func(t *testing.T) {
		r := Reply{Code: 550, Lines: []string{"first", "second"}}
		var fe *Error
		if !errors.As(r.Err(), &fe) || fe.Code != 550 || fe.Message != "first\nsecond" {
			t.Errorf("Err() = %#v", r.Err())
		}
		if r.Positive() {
			t.Error("Positive() = true for 550")
		}
	})
	t.Run("Message joins the lines with newlines", func(t *testing.T) {
		r := Reply{Code: 211, Lines: []string{"Features:", "MDTM", "End"}}
		if got := r.Message(); got != "Features:\nMDTM\nEnd" {
			t.Errorf("Message() = %q", got)
		}
	})
}

func BenchmarkParseCommand(b *testing.B) {
	lines := []string{"USER anonymous", "PASS guest", "TYPE I", "EPSV", "RETR /pub/some/file name.tar.gz", "noop"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ParseCommand(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}
