package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
)

func TestParseNetrc(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []netrcEntry
	}{
		{"plain entries", "machine a login u password p\nmachine b login v password q",
			[]netrcEntry{{"a", "u", "p"}, {"b", "v", "q"}}},
		{"quoted tokens hold spaces and escapes", `machine a login "my user" password "p a\"s\\s"`,
			[]netrcEntry{{"a", "my user", `p a"s\s`}}},
		{"a macdef body is skipped up to the empty line",
			"machine a login u password p\nmacdef init\npassword evil\nmachine evil\n\nmachine b login v password q\n",
			[]netrcEntry{{"a", "u", "p"}, {"b", "v", "q"}}},
		{"a macdef at the end of the file", "machine a login u password p\nmacdef x\ncd /\n",
			[]netrcEntry{{"a", "u", "p"}}},
		{"default comes last wherever it is written", "default login anon password x\nmachine a login u password p",
			[]netrcEntry{{"a", "u", "p"}, {"", "anon", "x"}}},
		{"account is read and ignored", "machine a login u account acct password p",
			[]netrcEntry{{"a", "u", "p"}}},
		{"tokens on several lines", "machine a\n\tlogin u\n\tpassword p\n",
			[]netrcEntry{{"a", "u", "p"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseNetrc(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNetrcReadableByOthersIsRefused(t *testing.T) {
	addr, _ := clientServer(t)
	host := strings.Split(addr, ":")[0]
	netrc := filepath.Join(t.TempDir(), "netrc")
	mustWrite(t, netrc, []byte("machine "+host+" login alice password \"secret\"\n"))
	t.Setenv("NETRC", netrc)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o602} {
		os.Chmod(netrc, mode)
		code, _, errOut := ferryCLI(t, "ls", "ftp://"+addr+"/")
		if code != exitUsage || !strings.Contains(errOut, "chmod 600") {
			t.Fatalf("mode %o: exit %d, stderr %q", mode, code, errOut)
		}
	}
	os.Chmod(netrc, 0o600)
	if code, _, errOut := ferryCLI(t, "ls", "ftp://"+addr+"/"); code != 0 {
		t.Fatalf("mode 600 with a quoted password: exit %d: %s", code, errOut)
	}
}

func TestURLPathsKeepGlobCharacters(t *testing.T) {
	tests := []struct{ url, path string }{
		{"ftp://h/d/*.csv", "d/*.csv"},
		{"ftp://h/d/?.csv", "d/?.csv"},
		{"ftp://h/d/file?", "d/file?"},
		{"ftp://h/d/[ab].csv", "d/[ab].csv"},
		{"ftp://h/d/a#1.txt", "d/a#1.txt"},
		{"ftp://h/%2Fetc/x%20y", "/etc/x y"},
	}
	for _, tc := range tests {
		u, err := parseRemoteURL(tc.url)
		if err != nil || u.path != tc.path {
			t.Errorf("%s: path %q (%v), want %q", tc.url, u.path, err, tc.path)
		}
	}
}

func TestHintsForLoginReplies(t *testing.T) {
	tests := []struct {
		msg  string
		tls  bool
		want string
	}{
		{"Non-anonymous sessions must use encryption.", false, "add --tls"},                                                                                  // vsftpd
		{"Sorry, cleartext sessions and weak ciphers are not accepted on this server.\nPlease reconnect using TLS security mechanisms.", false, "add --tls"}, // pure-ftpd
		{"Login incorrect.", false, ""},
		{"TLS is required for this user: reconnect and send AUTH TLS first.", true, ""}, // already --tls
	}
	for _, tc := range tests {
		got := hint("ls", &ftp.Error{Code: ftp.CodeNotLoggedIn, Message: tc.msg}, clientFlags{tlsExplicit: tc.tls})
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%q: hint %q, want %q", tc.msg, got, tc.want)
		}
	}
}
