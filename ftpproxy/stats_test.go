package ftpproxy

import (
	"io"
	"log/slog"
	"testing"

	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

func TestStatsCountRelayedBytesRewritesAndRefusals(t *testing.T) {
	back := startFerry(t, "127.0.0.1:0", nil)
	p, addr, _, _ := serveProxy(t, "", Options{Backend: back.Addr, Logger: slog.New(slog.DiscardHandler),
		Rules: []Rule{{Action: "deny", Commands: []string{"DELE"}}}})

	c := ftpservertest.Dial(t, addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")
	if got := c.Retr("f.bin"); len(got) != len(back.Data) {
		t.Fatalf("RETR through the proxy: %d bytes, want %d", len(got), len(back.Data))
	}
	d := c.PASV()
	c.Do(150, "STOR up.bin")
	io.WriteString(d, "0123456789")
	d.Close()
	c.Expect(226)
	c.Do(550, "DELE f.bin")

	st := p.Stats()
	if st.Sessions != 1 || st.Unauthenticated != 0 || st.SessionsTotal != 1 {
		t.Errorf("sessions: %+v", st)
	}
	if st.Transfers != 2 || st.BytesDown != int64(len(back.Data)) || st.BytesUp != 10 {
		t.Errorf("transfers %d, bytes down %d, up %d; want 2, %d, 10", st.Transfers, st.BytesDown, st.BytesUp, len(back.Data))
	}
	if st.Rewritten["EPSV"] != 1 || st.Rewritten["PASV"] != 1 || st.Rewritten["PORT"] != 0 {
		t.Errorf("rewritten: %v", st.Rewritten)
	}
	if st.PolicyRefused != 1 {
		t.Errorf("policy refusals: %d, want 1", st.PolicyRefused)
	}
}
