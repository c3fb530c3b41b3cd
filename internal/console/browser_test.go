package console_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// chromium starts a headless Chromium for the test, or skips the test when
// there is none (fails it under CI=true, where .ci/run installs it). It
// returns the browser's context and a counter of JavaScript dialogs
// (alert) opened, which an injected script would open.
func chromium(t *testing.T) (context.Context, *atomic.Int32) {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is required under CI=true (apt-get install chromium)")
		}
		t.Skip("no chromium: the browser tests need it (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	var dialogs atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			t.Logf("a JavaScript dialog opened: %q", ev.Message)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx, &dialogs
}

// do runs browser steps, failing the test on an error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// get runs one browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// css is a CSS selector.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// browserLogin logs in through the form.
func browserLogin(t *testing.T, ctx context.Context, e *env) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(e.http.URL+"/"),
		chromedp.WaitVisible(css(`#login`)),
		chromedp.SendKeys(css(`input[name="name"]`), "alice"),
		chromedp.SendKeys(css(`input[name="password"]`), adminPassword),
		chromedp.Click(css(`#login`)),
		chromedp.WaitVisible(css(`#sessions-body`)),
	)
}

// screenshot saves the page under $FERRY_SCREENSHOTS, when set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("FERRY_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := get(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Error(err)
	}
}

// poll waits (up to 20 s) for a JavaScript expression to be truthy and
// returns its value.
// A poll that a navigation (the form just submitted) interrupts starts
// again on the new page.
func poll[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return v
		}
		if !strings.Contains(err.Error(), "(-32000)") || time.Now().After(deadline) { // the page went away
			t.Fatal(err)
		}
	}
}

func TestBrowserLiveViewCloseBanCSRFAndEscaping(t *testing.T) {
	ctx, dialogs := chromium(t)
	evil := "<script>alert(1)</script>"
	e := newEnv(t, map[string]string{"big.bin": strings.Repeat("x", 2<<20), evil: "x"}, ftpserver.Rates{Download: 256 << 10})
	browserLogin(t, ctx, e)

	// A curl download appears in the live view, and its progress increases.
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is required under CI=true")
		}
		t.Skip("no curl")
	}
	var curlOut bytes.Buffer
	cmd := exec.Command(curl, "-v", "--max-time", "60", "-o", os.DevNull, "ftp://u:p@"+e.ftp.Addr+"/big.bin")
	cmd.Stderr = &curlOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	curlDone := make(chan error, 1)
	go func() { curlDone <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	var id string
	for deadline := time.Now().Add(20 * time.Second); id == "" && time.Now().Before(deadline); {
		for _, s := range e.sessions(t) {
			if s.User == "u" && s.Transfer != nil {
				id = s.ID
			}
		}
		if id == "" {
			time.Sleep(20 * time.Millisecond) // polling the server's state, bounded by the deadline
		}
	}
	if id == "" {
		t.Fatalf("curl's download never showed as a transfer:\n%s", curlOut.String())
	}
	row := `tr[data-id="` + id + `"]`
	bytesJS := `(() => { const b = document.querySelector('` + row + ` .bytes'); return b ? Number(b.dataset.bytes) : 0; })()`
	first := poll[int](t, ctx, bytesJS)
	second := poll[int](t, ctx, `(() => { const n = `+bytesJS+`; return n > `+strconv.Itoa(first)+` ? n : 0; })()`)
	progress := poll[float64](t, ctx, `document.querySelector('`+row+` progress').value`)
	path := get(t, ctx, chromedp.Text(css(row+` .path`)))
	if path != "download /big.bin" || second <= first || progress <= 0 {
		t.Errorf("live view: %q, bytes %d then %d, progress %v", path, first, second, progress)
	}
	screenshot(t, ctx, "admin-dashboard.png")

	// Close that session: curl's transfer is cut short and it fails (curl
	// reads the data connection, not the 421 the control connection gets;
	// ftpserver's TestAdminCloseSessionDuringTransfer checks that reply).
	do(t, ctx, chromedp.Click(css(row+` button.close`)), chromedp.WaitVisible(css(`p.notice`)))
	select {
	case err := <-curlDone:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 18 || !strings.Contains(curlOut.String(), "transfer closed with") {
			t.Errorf("curl after Close: %v, want exit 18 (transfer closed)\n%s", err, curlOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("curl still runs after its session was closed")
	}

	// A user name and a file name holding a script show as text.
	c2 := ftpservertest.Dial(t, e.ftp.Addr)
	c2.Do(ftp.CodeNeedPassword, "USER %s", evil)
	c2.Do(ftp.CodeNotLoggedIn, "PASS wrong")
	c3 := ftpservertest.Dial(t, e.ftp.Addr)
	c3.Login("u", "p")
	c3.Do(ftp.CodeFileActionOK, "CWD /%s", evil[:strings.LastIndexByte(evil, '/')])
	c3.Do(ftp.CodeOK, "NOOP")
	do(t, ctx, chromedp.Navigate(e.http.URL+"/"))
	dir := poll[string](t, ctx, `(() => { for (const td of document.querySelectorAll('td.dir')) { if (td.textContent.includes('script')) return td.textContent; } return ''; })()`)
	do(t, ctx, chromedp.Navigate(e.http.URL+"/activity?type=login_failed"))
	user := get(t, ctx, chromedp.Text(css(`td.user`)))
	if dir != "/<script>alert(1)<" || user != evil {
		t.Errorf("shown as %q and %q", dir, user)
	}
	screenshot(t, ctx, "admin-activity.png")

	// Ban this address in the form: the next FTP connection is refused.
	do(t, ctx,
		chromedp.Navigate(e.http.URL+"/"),
		chromedp.WaitVisible(css(`#ban`)),
		chromedp.SendKeys(css(`#ban-form input[name="addr"]`), "127.0.0.1"),
		chromedp.Click(css(`#ban`)),
		chromedp.WaitVisible(css(`p.notice`)),
	)
	refused := ftpservertest.DialNoGreeting(t, e.ftp.Addr)
	refused.Expect(ftp.CodeNotAvailable)
	refused.ExpectClosed()

	// A form posted without its CSRF token is refused.
	do(t, ctx,
		chromedp.Navigate(e.http.URL+"/"),
		chromedp.WaitVisible(css(`#ban`)),
	)
	get(t, ctx, chromedp.Evaluate[bool](`(() => { document.querySelector('#ban-form input[name="csrf"]').remove(); return true; })()`))
	do(t, ctx,
		chromedp.SendKeys(css(`#ban-form input[name="addr"]`), "192.0.2.99"),
		chromedp.Click(css(`#ban`)),
	)
	body := poll[string](t, ctx, `document.body && document.body.innerText.includes('CSRF') ? document.body.innerText : ''`)
	if !strings.Contains(body, "missing or wrong CSRF token") {
		t.Errorf("page after a post without the token: %q", body)
	}
	for _, b := range e.ftp.Bans() {
		if b.Addr.String() == "192.0.2.99" {
			t.Error("a form without the CSRF token banned an address")
		}
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened: a script was injected", n)
	}
}

func TestBrowserWrongPasswordsBan(t *testing.T) {
	ctx, _ := chromium(t)
	e := newEnv(t, nil, ftpserver.Rates{})
	var text string
	for i := range 10 {
		do(t, ctx,
			chromedp.Navigate(e.http.URL+"/login"),
			chromedp.WaitVisible(css(`#login`)),
			chromedp.SendKeys(css(`input[name="name"]`), "alice"),
			chromedp.SendKeys(css(`input[name="password"]`), "wrong"),
			chromedp.Click(css(`#login`)),
		)
		text = poll[string](t, ctx, `document.body && /Wrong name|too many failed/.test(document.body.innerText) ? document.body.innerText : ''`)
		if i < 9 && !strings.Contains(text, "Wrong name or password") {
			t.Fatalf("wrong password %d: page says %q", i, text)
		}
	}
	if !strings.Contains(text, "too many failed logins") {
		t.Fatalf("after ten wrong passwords the page says %q", text)
	}
	// Banned: the right password is refused too.
	do(t, ctx,
		chromedp.Navigate(e.http.URL+"/login"),
		chromedp.WaitVisible(css(`#login`)),
		chromedp.SendKeys(css(`input[name="name"]`), "alice"),
		chromedp.SendKeys(css(`input[name="password"]`), adminPassword),
		chromedp.Click(css(`#login`)),
	)
	text = poll[string](t, ctx, `document.body && /too many failed|Sessions/.test(document.body.innerText) ? document.body.innerText : ''`)
	if !strings.Contains(text, "too many failed logins") {
		t.Errorf("banned address sees %q", text)
	}
}

func TestBrowserAddUser(t *testing.T) {
	ctx, _ := chromium(t)
	e, _ := newEnvDB(t)
	browserLogin(t, ctx, e)
	root := t.TempDir()
	do(t, ctx,
		chromedp.Navigate(e.http.URL+"/users"),
		chromedp.WaitVisible(css(`#add`)),
		chromedp.SendKeys(css(`#add-user input[name="name"]`), "kim"),
		chromedp.SendKeys(css(`#add-user input[name="password"]`), "kims password"),
		chromedp.SendKeys(css(`#add-user input[name="root"]`), root),
		chromedp.Click(css(`#add-user input[name="write"]`)),
		chromedp.Click(css(`#add`)),
	)
	notice := poll[string](t, ctx, `(() => { const n = document.querySelector('p.notice, p.error'); return n ? n.textContent : ''; })()`)
	if notice != "User added." {
		t.Fatalf("after adding: %q", notice)
	}
	screenshot(t, ctx, "admin-users.png")
	c := ftpservertest.Dial(t, e.ftp.Addr)
	c.Login("kim", "kims password")
	c.Stor("STOR", "hello.txt", "hello") // "may write" was ticked
}
