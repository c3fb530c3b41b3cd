package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/console"
)

func TestAPIAuthorisation(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", "GET", "/api/v1/sessions", "", http.StatusUnauthorized},
		{"wrong token", "GET", "/api/v1/sessions", "fa_nope", http.StatusUnauthorized},
		{"read token reads", "GET", "/api/v1/bans", e.read, http.StatusOK},
		{"read token cannot close", "DELETE", "/api/v1/sessions/1", e.read, http.StatusForbidden},
		{"read token cannot cancel", "DELETE", "/api/v1/sessions/1/transfer", e.read, http.StatusForbidden},
		{"read token cannot ban", "POST", "/api/v1/bans", e.read, http.StatusForbidden},
		{"read token cannot unban", "DELETE", "/api/v1/bans/192.0.2.1", e.read, http.StatusForbidden},
		{"unknown endpoint needs a token", "GET", "/api/v1/nothing", "", http.StatusUnauthorized},
		{"unknown endpoint", "GET", "/api/v1/nothing", e.full, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := e.do(t, tc.method, tc.path, tc.token, ""); code != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.want)
			}
		})
	}
	if strings.Contains(e.logs.String(), "fa_nope") {
		t.Error("a token was logged")
	}
}

func TestAPIBadTokensBan(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	for i := range 10 {
		if code, _ := e.do(t, "GET", "/api/v1/sessions", "fa_guess", ""); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	// Banned now: even the right token is refused.
	if code, body := e.do(t, "GET", "/api/v1/sessions", e.full, ""); code != http.StatusForbidden {
		t.Fatalf("after 10 bad tokens: %d %s, want 403", code, body)
	}
	if !strings.Contains(e.logs.String(), "banned") {
		t.Error("the ban was not logged")
	}
	// The FTP server's bans are its own: FTP still admits the address.
	ftpservertest.Dial(t, e.ftp.Addr).Login("u", "p")
}

func TestAPISessionsAndClose(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	c := ftpservertest.Dial(t, e.ftp.Addr)
	c.Login("u", "p")
	c.Do(ftp.CodeOK, "NOOP")
	s := e.sessionOf(t, "u")
	if s.Dir != "/" || s.TLS || !strings.HasPrefix(s.Remote, "127.0.0.1:") || s.Transfer != nil {
		t.Errorf("session %+v", s)
	}
	if code, body := e.do(t, "DELETE", "/api/v1/sessions/"+s.ID+"/transfer", e.full, ""); code != http.StatusConflict {
		t.Errorf("cancel with no transfer: %d %s", code, body)
	}
	if code, body := e.do(t, "DELETE", "/api/v1/sessions/"+s.ID, e.full, ""); code != http.StatusNoContent {
		t.Fatalf("close: %d %s", code, body)
	}
	c.Expect(ftp.CodeNotAvailable)
	c.ExpectClosed()
	if code, _ := e.do(t, "DELETE", "/api/v1/sessions/"+s.ID, e.full, ""); code != http.StatusNotFound {
		t.Errorf("closing a closed session: %d, want 404", code)
	}
	if code, _ := e.do(t, "DELETE", "/api/v1/sessions/zz/transfer", e.full, ""); code != http.StatusNotFound {
		t.Errorf("cancelling in an unknown session: %d, want 404", code)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "admin=alice token=ops") || !strings.Contains(logs, "action=close_session session="+s.ID) {
		t.Errorf("the close was not logged with the admin's name:\n%s", logs)
	}
}

func TestAPICancelTransfer(t *testing.T) {
	e := newEnv(t, map[string]string{"big": strings.Repeat("x", 2<<20)}, ftpserver.Rates{Download: 256 << 10})
	c := ftpservertest.Dial(t, e.ftp.Addr)
	c.Login("u", "p")
	c.Do(ftp.CodeOK, "TYPE I")
	d := c.EPSV()
	c.Do(ftp.CodeFileStatusOK, "RETR big")
	if _, err := io.ReadFull(d, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	s := e.sessionOf(t, "u")
	x := s.Transfer
	if x == nil || x.Verb != "RETR" || x.Path != "/big" || x.Direction != "download" || x.Size != 2<<20 || x.Bytes <= 0 {
		t.Fatalf("transfer %+v", x)
	}
	if code, body := e.do(t, "DELETE", "/api/v1/sessions/"+s.ID+"/transfer", e.full, ""); code != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", code, body)
	}
	c.Expect(ftp.CodeTransferAborted)
	c.Do(ftp.CodeOK, "NOOP")
}

func TestAPIBans(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	for _, body := range []string{
		`{"addr":"example.com"}`,
		`{"addr":"192.0.2.1","duration":"forever"}`,
		`{"addr":"192.0.2.1","duration":"-1h"}`,
		`{"addr":"192.0.2.1","duration":"100000h"}`,
		`{"addr":"192.0.2.1","extra":1}`,
		`not json`,
	} {
		if code, resp := e.do(t, "POST", "/api/v1/bans", e.full, body); code != http.StatusBadRequest {
			t.Errorf("POST %s: %d %s, want 400", body, code, resp)
		}
	}
	if code, body := e.do(t, "POST", "/api/v1/bans", e.full, `{"addr":"127.0.0.1","duration":"2h"}`); code != http.StatusCreated {
		t.Fatalf("ban: %d %s", code, body)
	}
	c := ftpservertest.DialNoGreeting(t, e.ftp.Addr)
	c.Expect(ftp.CodeNotAvailable)
	c.ExpectClosed()

	_, body := e.do(t, "GET", "/api/v1/bans", e.read, "")
	var bans []console.BanJSON
	if err := json.Unmarshal([]byte(body), &bans); err != nil || len(bans) != 1 || bans[0].Addr != "127.0.0.1" {
		t.Fatalf("bans %s (%v)", body, err)
	}
	if code, _ := e.do(t, "DELETE", "/api/v1/bans/not-an-ip", e.full, ""); code != http.StatusBadRequest {
		t.Errorf("unban of a non-address: %d, want 400", code)
	}
	if code, _ := e.do(t, "DELETE", "/api/v1/bans/127.0.0.1", e.full, ""); code != http.StatusNoContent {
		t.Fatalf("unban: %d", code)
	}
	if code, _ := e.do(t, "DELETE", "/api/v1/bans/127.0.0.1", e.full, ""); code != http.StatusNotFound {
		t.Errorf("second unban: %d, want 404", code)
	}
	ftpservertest.Dial(t, e.ftp.Addr).Login("u", "p")
	if !strings.Contains(e.logs.String(), "action=ban addr=127.0.0.1") {
		t.Errorf("ban not logged:\n%s", e.logs.String())
	}
}

func TestAPIRevokeAndBrokenAccounts(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	data, err := os.ReadFile(e.accounts)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := console.ParseAccounts(data)
	if err != nil {
		t.Fatal(err)
	}
	acc.Tokens = acc.Tokens[1:] // revoke "ops"
	e.writeAccounts(t, acc)
	if code, _ := e.do(t, "GET", "/api/v1/sessions", e.full, ""); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}
	if code, _ := e.do(t, "GET", "/api/v1/sessions", e.read, ""); code != http.StatusOK {
		t.Errorf("remaining token: %d, want 200", code)
	}
	if err := os.WriteFile(e.accounts, []byte("[[tokens]]\nname = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.do(t, "GET", "/api/v1/sessions", e.read, ""); code != http.StatusServiceUnavailable {
		t.Errorf("broken accounts file: %d, want 503", code)
	}
}

func TestParseAccountsRefuses(t *testing.T) {
	good := "0123456789012345678901234567890123456789012345678901234567890123"
	for _, tc := range []struct{ name, text, want string }{
		{"unknown key", "[[users]]\nname = \"a\"\npasswd = \"x\"\n", "unknown key"},
		{"bad hash", "[[users]]\nname = \"a\"\npassword = \"plain\"\n", "password"},
		{"bad name", "[[users]]\nname = \"a b\"\npassword = \"x\"\n", "name"},
		{"orphan token", "[[tokens]]\nname = \"t\"\nadmin = \"nobody\"\nscope = \"full\"\nsha256 = \"" + good + "\"\n", "not a user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := console.ParseAccounts([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseAccounts: %v, want an error about %q", err, tc.want)
			}
		})
	}
}
