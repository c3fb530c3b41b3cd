package diagnose

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/ferryftp/ferry/ftp"
)

func TestExitCode(t *testing.T) {
	cases := []struct {
		name     string
		statuses []Status
		strict   bool
		want     int
	}{
		{"all ok exits 0", []Status{OK, OK, Skipped}, false, 0},
		{"a warning exits 0", []Status{OK, Warning}, false, 0},
		{"a warning exits 1 with strict", []Status{OK, Warning}, true, 1},
		{"a failure exits 1", []Status{Failed, OK}, false, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			for _, s := range tc.statuses {
				r.add(&Step{ID: "x", Status: s})
			}
			if got := r.ExitCode(tc.strict); got != tc.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tc.strict, got, tc.want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := &Report{Target: "h:21"}
	r.add(&Step{ID: "passive.pasv", Title: "Passive (PASV)", Status: Failed, Fault: "passive-blocked", Summary: "s", Facts: map[string]string{"a": "b"}})
	r.add(&Step{ID: "mlsd", Status: Warning, Fault: "no-mlsd"})
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"status": "failed"`) {
		t.Errorf("status not written as a name:\n%s", b.String())
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Failures != 1 || back.Warnings != 1 || back.Steps[0].Status != Failed || back.Steps[0].Facts["a"] != "b" {
		t.Errorf("round trip lost data: %+v", back)
	}
	if got := back.Faults(); strings.Join(got, ",") != "passive-blocked,no-mlsd" {
		t.Errorf("Faults() = %v", got)
	}
	var s Status
	if err := s.UnmarshalText([]byte("bogus")); err == nil {
		t.Error("unknown status accepted")
	}
}

func TestWriteTextFoldsLongAdvice(t *testing.T) {
	r := &Report{Target: "h:21"}
	r.add(&Step{ID: "x", Title: "X", Status: Failed, Summary: "bad", Meaning: strings.Repeat("word ", 60), Action: "fix it"})
	var b strings.Builder
	r.WriteText(&b)
	for _, l := range strings.Split(b.String(), "\n") {
		if len(l) > 100 {
			t.Errorf("line longer than 100 columns: %q", l)
		}
	}
	for _, want := range []string{"[FAIL] X", "meaning: word", "do:      fix it", "1 failed, 0 warnings"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want netClass
	}{
		{syscall.ECONNREFUSED, netRefused},
		{syscall.ECONNRESET, netReset},
		{syscall.ENETUNREACH, netUnreachable},
		{os.ErrDeadlineExceeded, netTimeout},
		{io.EOF, netClosed},
		{errors.New("other"), netOther},
	}
	for _, tc := range cases {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestReplyRecognisers(t *testing.T) {
	tlsCases := []struct {
		rep  ftp.Reply
		want bool
	}{
		{ftp.Reply{Code: 530, Lines: []string{"TLS is required on this server: send AUTH TLS first."}}, true},
		{ftp.Reply{Code: 530, Lines: []string{"Non-anonymous sessions must use encryption."}}, true},
		{ftp.Reply{Code: 421, Lines: []string{"Sorry, cleartext sessions and weak ciphers are not accepted on this server."}}, true},
		{ftp.Reply{Code: 534, Lines: []string{"Policy"}}, true},
		{ftp.Reply{Code: 530, Lines: []string{"Login incorrect."}}, false},
	}
	for _, tc := range tlsCases {
		if got := tlsRequiredReply(tc.rep); got != tc.want {
			t.Errorf("tlsRequiredReply(%v) = %v", tc.rep, got)
		}
	}
	portCases := []struct {
		msg  string
		want bool
	}{
		{"PORT refused: the address must be your own.", true},
		{"I won't open a connection to 10.0.0.5 (only to 192.0.2.9)", true},
		{"Illegal PORT command.", true},
		{"Active mode is disabled on this server; use PASV or EPSV.", false},
	}
	for _, tc := range portCases {
		if got := foreignRefusal(ftp.Reply{Code: 500, Lines: []string{tc.msg}}); got != tc.want {
			t.Errorf("foreignRefusal(%q) = %v", tc.msg, got)
		}
	}
}
