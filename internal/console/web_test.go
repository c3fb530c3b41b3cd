package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/console"
)

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t testing.TB
	e *env
	c *http.Client
}

func newBrowser(t testing.TB, e *env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.e.http.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.e.http.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf" content="([0-9a-f]+)"`)

var loginCSRFRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// loginForm opens the login page and returns the form's CSRF token.
func (b *browser) loginForm() string {
	b.t.Helper()
	_, body := b.get("/login")
	m := loginCSRFRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token in the login form:\n%s", body)
	}
	return m[1]
}

// login logs in as alice and returns the CSRF token of the dashboard.
func (b *browser) login() string {
	b.t.Helper()
	tok := b.loginForm()
	resp, _ := b.post("/login", url.Values{"name": {"alice"}, "password": {adminPassword}, "csrf": {tok}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		b.t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != "ferry_admin" || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Secure {
		b.t.Errorf("cookie %+v", ck)
	}
	_, body := b.get("/")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token in the dashboard:\n%s", body)
	}
	return m[1]
}

func TestWebLoginRequired(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	b := newBrowser(t, e)
	resp, _ := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("/ without login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := b.get("/login")
	if resp.StatusCode != 200 || !strings.Contains(body, `<form method="post" action="/login"`) {
		t.Errorf("/login: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if resp, _ := b.post("/bans", url.Values{"addr": {"192.0.2.1"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without login: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/events"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/events without login: %d", resp.StatusCode)
	}
	if resp, body := b.get("/static/app.js"); resp.StatusCode != 200 || !strings.Contains(body, "EventSource") {
		t.Errorf("/static/app.js: %d", resp.StatusCode)
	}
}

func TestWebSetupHint(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	e.writeAccounts(t, &console.Accounts{})
	_, body := newBrowser(t, e).get("/login")
	if !strings.Contains(body, "ferry admin add NAME --accounts "+e.accounts) {
		t.Errorf("no setup hint:\n%s", body)
	}
}

func TestWebLoginNeedsItsFormToken(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	b := newBrowser(t, e)
	// A login posted from another site: no token, or one not from this
	// browser's login page.
	for _, form := range []url.Values{
		{"name": {"alice"}, "password": {adminPassword}},
		{"name": {"alice"}, "password": {adminPassword}, "csrf": {strings.Repeat("ab", 16)}},
	} {
		resp, body := b.post("/login", form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "log in again") {
			t.Errorf("login without the form's token: %d", resp.StatusCode)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == "ferry_admin" && ck.Value != "" {
				t.Errorf("a session cookie was set: %+v", ck)
			}
		}
	}
	b.login() // the page's own form works
}

func TestWebWrongPasswordsBan(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	b := newBrowser(t, e)
	tok := b.loginForm()
	for i := range 9 {
		resp, body := b.post("/login", url.Values{"name": {"alice"}, "password": {"wrong"}, "csrf": {tok}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong name or password") {
			t.Fatalf("wrong password %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := b.post("/login", url.Values{"name": {"alice"}, "password": {"wrong"}, "csrf": {tok}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("tenth wrong password: %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.post("/login", url.Values{"name": {"alice"}, "password": {adminPassword}, "csrf": {tok}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("right password from a banned address: %d, want 403", resp.StatusCode)
	}
}

func TestWebCSRF(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	b := newBrowser(t, e)
	csrf := b.login()
	for _, tok := range []string{"", "0123", strings.Repeat("0", len(csrf))} {
		resp, _ := b.post("/bans", url.Values{"addr": {"192.0.2.9"}, "csrf": {tok}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("ban with CSRF token %q: %d, want 403", tok, resp.StatusCode)
		}
	}
	if len(e.ftp.Bans()) != 0 {
		t.Fatal("a form without the CSRF token banned an address")
	}
	resp, _ := b.post("/bans", url.Values{"addr": {"192.0.2.9"}, "duration": {"5m"}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?done=banned" {
		t.Fatalf("ban: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if bans := e.ftp.Bans(); len(bans) != 1 || bans[0].Addr.String() != "192.0.2.9" {
		t.Fatalf("bans %+v", bans)
	}
	if _, body := b.get("/?done=banned"); !strings.Contains(body, "Address banned.") || !strings.Contains(body, "192.0.2.9") {
		t.Error("the dashboard does not show the ban")
	}
	resp, _ = b.post("/bans/192.0.2.9/delete", url.Values{"csrf": {csrf}})
	if resp.Header.Get("Location") != "/?done=unbanned" || len(e.ftp.Bans()) != 0 {
		t.Errorf("unban: %s, bans %v", resp.Header.Get("Location"), e.ftp.Bans())
	}
	// Logging out ends the login.
	b.post("/logout", url.Values{"csrf": {csrf}})
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("dashboard after logout: %d", resp.StatusCode)
	}
}

func TestWebEscapesUserAndFileNames(t *testing.T) {
	evil := "<script>alert(1)</script>"
	e := newEnv(t, map[string]string{evil: strings.Repeat("x", 1<<20)}, ftpserver.Rates{Download: 64 << 10})
	c := ftpservertest.Dial(t, e.ftp.Addr)
	c.Login("u", "p")
	c.Do(ftp.CodeOK, "TYPE I")
	d := c.EPSV()
	c.Do(ftp.CodeFileStatusOK, "RETR %s", evil)
	if _, err := io.ReadFull(d, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	c2 := ftpservertest.Dial(t, e.ftp.Addr)
	c2.Do(ftp.CodeNeedPassword, "USER %s", evil)
	c2.Do(ftp.CodeNotLoggedIn, "PASS x")

	b := newBrowser(t, e)
	b.login()
	_, body := b.get("/")
	if strings.Contains(body, evil) {
		t.Fatalf("the dashboard holds the file name unescaped:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the dashboard does not show the file name")
	}
	_, body = b.get("/activity?type=login_failed")
	if strings.Contains(body, evil) || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("activity page: user name missing or unescaped:\n%s", body)
	}
}

func TestWebLiveStream(t *testing.T) {
	e := newEnv(t, map[string]string{"big": strings.Repeat("x", 2<<20)}, ftpserver.Rates{Download: 256 << 10})
	b := newBrowser(t, e)
	b.login()
	c := ftpservertest.Dial(t, e.ftp.Addr)
	c.Login("u", "p")
	c.Do(ftp.CodeOK, "TYPE I")
	d := c.EPSV()
	c.Do(ftp.CodeFileStatusOK, "RETR big")
	go io.Copy(io.Discard, d)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.http.URL+"/events", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var last int64 = -1
	for seen := 0; seen < 2 && sc.Scan(); {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var u struct{ Sessions []console.SessionJSON }
		if err := json.Unmarshal([]byte(data), &u); err != nil {
			t.Fatal(err)
		}
		for _, s := range u.Sessions {
			if s.User == "u" && s.Transfer != nil {
				if s.Transfer.Bytes <= last {
					t.Fatalf("progress did not increase: %d then %d", last, s.Transfer.Bytes)
				}
				last = s.Transfer.Bytes
				seen++
			}
		}
	}
	if last < 0 {
		t.Fatalf("no transfer in the stream (%v)", sc.Err())
	}
}
