package ftpserver

import (
	"net"
	"testing"
)

func TestSendfileModeDecidesByWhereTheClientIs(t *testing.T) {
	tcp := func(s string) *net.TCPAddr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	cases := []struct {
		local, remote string
		same          bool
	}{
		{"127.0.0.1:21", "127.0.0.1:40000", true},
		{"127.0.0.1:21", "127.0.0.2:40000", true},
		{"[::1]:21", "[::1]:40000", true},
		{"[::ffff:127.0.0.1]:21", "[::ffff:127.0.0.1]:40000", true},
		{"192.0.2.10:21", "192.0.2.10:40000", true}, // the host's own address
		{"192.0.2.10:21", "192.0.2.11:40000", false},
		{"[2001:db8::1]:21", "[2001:db8::2]:40000", false},
	}
	for _, c := range cases {
		if got := sameHost(tcp(c.local), tcp(c.remote)); got != c.same {
			t.Errorf("sameHost(%s, %s) = %v, want %v", c.local, c.remote, got, c.same)
		}
	}
	if sameHost(&net.UnixAddr{Name: "a"}, tcp("127.0.0.1:1")) {
		t.Error("a non-TCP address counted as this host")
	}
	for _, s := range []string{"", "auto", "always", "never"} {
		m, err := ParseSendfileMode(s)
		if err != nil {
			t.Fatalf("ParseSendfileMode(%q): %v", s, err)
		}
		if want := s; want != "" && m.String() != want {
			t.Errorf("ParseSendfileMode(%q).String() = %q", s, m.String())
		}
	}
	if _, err := ParseSendfileMode("yes"); err == nil {
		t.Error(`"yes" was accepted`)
	}
}
