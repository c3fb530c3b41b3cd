package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/config"
)

//go:embed templates/*.html static/*
var assets embed.FS

const (
	cookieName = "ferry_admin"
	// webLifetime is how long a console login lasts.
	webLifetime = 8 * time.Hour
	// maxWebSessions bounds the logins kept; past it the oldest is dropped.
	maxWebSessions = 1000
	// activityShown is how many events the activity page shows.
	activityShown = 200
)

// webSession is a logged-in browser.
type webSession struct {
	admin   string
	hash    string // the admin's password hash at login: a new password ends the session
	csrf    string
	expires time.Time
	streams int // live-update streams open
}

// webSessions are the console logins, in memory (a restart logs everyone
// out).
type webSessions struct {
	mu sync.Mutex
	m  map[string]*webSession
}

func newWebSessions() *webSessions { return &webSessions{m: make(map[string]*webSession)} }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (ws *webSessions) create(admin, hash string) (string, *webSession) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	now := time.Now()
	if len(ws.m) >= maxWebSessions {
		var oldest string
		for k, s := range ws.m {
			if now.After(s.expires) {
				delete(ws.m, k)
			} else if oldest == "" || s.expires.Before(ws.m[oldest].expires) {
				oldest = k
			}
		}
		if len(ws.m) >= maxWebSessions {
			delete(ws.m, oldest)
		}
	}
	id := randomHex(32)
	s := &webSession{admin: admin, hash: hash, csrf: randomHex(32), expires: now.Add(webLifetime)}
	ws.m[id] = s
	return id, s
}

func (ws *webSessions) get(id string) *webSession {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	s := ws.m[id]
	if s != nil && time.Now().After(s.expires) {
		delete(ws.m, id)
		return nil
	}
	return s
}

func (ws *webSessions) drop(id string) {
	ws.mu.Lock()
	delete(ws.m, id)
	ws.mu.Unlock()
}

type webKey struct{}

// webRoutes registers the pages.
func (c *Console) webRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.withLogin(c.logout))
	mux.HandleFunc("GET /{$}", c.withLogin(c.dashboard))
	mux.HandleFunc("GET /activity", c.withLogin(c.activityPage))
	mux.HandleFunc("GET /events", c.withLogin(c.events))
	mux.HandleFunc("POST /sessions/{id}/close", c.withLogin(c.uiClose))
	mux.HandleFunc("POST /sessions/{id}/cancel", c.withLogin(c.uiCancel))
	mux.HandleFunc("POST /bans", c.withLogin(c.uiBan))
	mux.HandleFunc("POST /bans/{addr}/delete", c.withLogin(c.uiUnban))
	mux.HandleFunc("GET /users", c.withLogin(c.usersPage))
	mux.HandleFunc("POST /users", c.withLogin(c.uiAddUser))
	mux.HandleFunc("POST /users/{name}/edit", c.withLogin(c.uiEditUser))
	mux.HandleFunc("POST /users/{name}/delete", c.withLogin(c.uiDeleteUser))
}

// withLogin lets through a browser logged in (else to /login), and checks
// the CSRF token of every POST.
func (c *Console) withLogin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.banned(w, r) {
			return
		}
		ck, err := r.Cookie(cookieName)
		var s *webSession
		if err == nil {
			s = c.web.get(ck.Value)
		}
		if s != nil {
			acc, err := c.acc.Load()
			if err != nil || !stillValid(acc, s) {
				c.web.drop(ck.Value)
				s = nil
			}
		}
		if s == nil {
			if r.Method == http.MethodGet && r.URL.Path != "/events" {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
			} else {
				http.Error(w, "not logged in", http.StatusUnauthorized)
			}
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			tok := r.PostFormValue("csrf")
			if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) != 1 {
				c.log.Warn("admin console: form without a valid CSRF token refused", "admin", s.admin, "from", clientIP(r).String(), "path", r.URL.Path)
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, admin{name: s.admin, scope: ScopeFull})
		ctx = context.WithValue(ctx, webKey{}, s)
		h(w, r.WithContext(ctx))
	}
}

// stillValid reports whether the admin of s still exists with the same
// password.
func stillValid(acc *Accounts, s *webSession) bool {
	for _, u := range acc.Users {
		if u.Name == s.admin {
			return u.Password == s.hash
		}
	}
	return false
}

func webOf(r *http.Request) *webSession { s, _ := r.Context().Value(webKey{}).(*webSession); return s }

// page is what every template gets.
type page struct {
	Title    string
	Admin    string
	CSRF     string
	Message  string
	Error    string
	Sessions []SessionJSON
	Bans     []BanJSON
	Events   []Event
	Filter   struct{ User, Type string }
	Types    []string
	Setup    string // the accounts file, when it holds no admin yet
	Users    []UserJSON
	UsersDB  bool // users can be edited
}

func (c *Console) render(w http.ResponseWriter, code int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	if err := c.pages.ExecuteTemplate(&b, name, p); err != nil {
		c.log.Error("admin console: template failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(code)
	w.Write([]byte(b.String()))
}

func (c *Console) basePage(r *http.Request, title string) page {
	s := webOf(r)
	return page{Title: title, Admin: s.admin, CSRF: s.csrf, Message: messages[r.URL.Query().Get("done")],
		Error: failures[r.URL.Query().Get("failed")]}
}

// messages and failures are the notices an action redirects with: fixed
// texts, so nothing from the URL is shown.
var messages = map[string]string{
	"closed":       "Session closed.",
	"cancelled":    "Transfer cancelled.",
	"banned":       "Address banned.",
	"unbanned":     "Ban lifted.",
	"user_added":   "User added.",
	"user_changed": "User changed.",
	"user_deleted": "User deleted.",
}

var failures = map[string]string{
	"nosession":  "No such session (it may have ended).",
	"notransfer": "The session has no transfer running.",
	"badban":     "Not a valid address or duration (such as 1h or 30m, up to a year).",
	"notbanned":  "The address is not banned.",
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, r, http.StatusOK, "")
}

// loginCookie carries the login form's CSRF token (double submit): a login
// posted from another site lacks the cookie's value in its form, so it
// cannot log the browser in to an account of the attacker's choosing.
const loginCookie = "ferry_admin_login"

// loginToken returns the request's login token, or makes one and sets its
// cookie.
func loginToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(loginCookie); err == nil && len(ck.Value) == 32 {
		if _, err := hex.DecodeString(ck.Value); err == nil {
			return ck.Value
		}
	}
	var b [16]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(webLifetime / time.Second)})
	return tok
}

// loginTokenOK reports whether a posted login carries its cookie's token.
func loginTokenOK(r *http.Request) bool {
	ck, err := r.Cookie(loginCookie)
	form := r.PostFormValue("csrf")
	return err == nil && ck.Value != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) == 1
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	p := page{Title: "Log in", Error: msg, CSRF: loginToken(w, r)}
	if acc, err := c.acc.Load(); err == nil && len(acc.Users) == 0 {
		p.Setup = c.acc.Path()
	}
	c.render(w, code, "login.html", p)
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.banned(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !loginTokenOK(r) {
		c.renderLogin(w, r, http.StatusForbidden, "The login form has expired or came from elsewhere: log in again.")
		return
	}
	name, pw := r.PostFormValue("name"), r.PostFormValue("password")
	acc, err := c.acc.Load()
	if err != nil {
		c.log.Error("admin console: cannot read the accounts", "err", err)
		c.renderLogin(w, r, http.StatusServiceUnavailable, "The admin accounts file is unusable; see the server log.")
		return
	}
	hash, known := "", false
	for _, u := range acc.Users {
		if u.Name == name {
			hash, known = u.Password, true
		}
	}
	ok, err := c.checker.Check(r.Context(), hash, known, pw)
	if err != nil || !ok {
		c.failed(r, "failed admin login")
		if _, banned := c.bans.Banned(clientIP(r)); banned {
			c.banned(w, r)
			return
		}
		c.renderLogin(w, r, http.StatusUnauthorized, "Wrong name or password.")
		return
	}
	c.bans.LoginSucceeded(clientIP(r))
	id, _ := c.web.create(name, hash)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(webLifetime / time.Second)})
	c.log.Info("admin logged in to the console", "admin", name, "from", clientIP(r).String())
	c.act.Add(Event{Type: EvAdmin, User: name, Remote: clientIP(r).String(), Detail: "console login"})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.web.drop(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request) {
	p := c.basePage(r, "Dashboard")
	p.Sessions = sessionsJSON(c.srv.Sessions(), time.Now())
	p.Bans = bansJSON(c.srv.Bans())
	c.render(w, http.StatusOK, "dashboard.html", p)
}

func (c *Console) activityPage(w http.ResponseWriter, r *http.Request) {
	p := c.basePage(r, "Activity")
	p.Filter.User, p.Filter.Type = r.URL.Query().Get("user"), r.URL.Query().Get("type")
	p.Types = []string{EvLogin, EvLoginFailed, EvUpload, EvDownload, EvDelete, EvRename, EvMkdir, EvBan, EvAdmin}
	p.Events = c.act.Recent(p.Filter.User, p.Filter.Type, activityShown)
	c.render(w, http.StatusOK, "activity.html", p)
}

// redirect sends the browser back to the dashboard with a notice.
func redirect(w http.ResponseWriter, r *http.Request, done, failed string) {
	q := "?done=" + done
	if failed != "" {
		q = "?failed=" + failed
	}
	http.Redirect(w, r, "/"+q, http.StatusSeeOther)
}

func (c *Console) uiClose(w http.ResponseWriter, r *http.Request) {
	if err := c.closeSession(r, r.PathValue("id")); err != nil {
		redirect(w, r, "", "nosession")
		return
	}
	redirect(w, r, "closed", "")
}

func (c *Console) uiCancel(w http.ResponseWriter, r *http.Request) {
	switch err := c.cancelTransfer(r, r.PathValue("id")); {
	case errors.Is(err, ftpserver.ErrNoTransfer):
		redirect(w, r, "", "notransfer")
	case err != nil:
		redirect(w, r, "", "nosession")
	default:
		redirect(w, r, "cancelled", "")
	}
}

func (c *Console) uiBan(w http.ResponseWriter, r *http.Request) {
	if _, err := c.ban(r, strings.TrimSpace(r.PostFormValue("addr")), strings.TrimSpace(r.PostFormValue("duration"))); err != nil {
		redirect(w, r, "", "badban")
		return
	}
	redirect(w, r, "banned", "")
}

func (c *Console) uiUnban(w http.ResponseWriter, r *http.Request) {
	if err := c.unban(r, r.PathValue("addr")); err != nil {
		redirect(w, r, "", "notbanned")
		return
	}
	redirect(w, r, "unbanned", "")
}

// funcs are the template helpers.
var funcs = map[string]any{
	"bytes":   func(n int64) string { return formatBytes(float64(n)) },
	"rate":    func(r float64) string { return formatBytes(r) + "/s" },
	"percent": func(x *TransferJSON) int64 { return x.Bytes * 100 / max(x.Size, 1) },
	"ago":     func(t time.Time) string { return time.Since(t).Round(time.Second).String() },
	"utc":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	// The users page's settings form writes values as the configuration
	// file does, so that what it shows can be posted back unchanged.
	"permNames": func() []string { return []string{"list", "read", "write", "delete", "rename", "mkdir"} },
	"hasPerm":   func(perms []string, p string) bool { return slices.Contains(perms, p) || slices.Contains(perms, "all") },
	"rateOf":    config.FormatRate,
	"size":      config.FormatSize,
	"count": func(n int64) string {
		if n < 0 {
			return "unlimited"
		}
		return strconv.FormatInt(n, 10)
	},
}

// formatBytes writes n in B, KiB, MiB or GiB.
func formatBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
