package console

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/sessionbook"
	"github.com/ferryftp/ferry/password"
)

// Server is what the console administers: an *ftpserver.Server.
type Server interface {
	Sessions() []ftpserver.SessionInfo
	CloseSession(id string) error
	CancelTransfer(id string) error
	Ban(addr netip.Addr, d time.Duration)
	Unban(addr netip.Addr) bool
	Bans() []ftpserver.BanInfo
}

// Options configure a Console.
type Options struct {
	// Server is the FTP server administered.
	Server Server
	// Accounts holds the admin accounts and API tokens.
	Accounts *AccountsFile
	// Logger receives every admin action, with the admin's name (nil:
	// slog.Default()).
	Logger *slog.Logger
	// MaxLoginFailures wrong passwords or tokens from one address within
	// BanWindow ban it from the console for BanDuration (defaults 10, 10
	// minutes, 15 minutes, as for FTP logins).
	MaxLoginFailures       int
	BanWindow, BanDuration time.Duration
	// Users, when set, is the SQL user store that the console lists and
	// edits; FileUsers, when set, lists the configuration file's users,
	// shown read-only.
	Users     UserStore
	FileUsers func() []FileUser
	// Activity, when set, is shown on the activity page; admin actions are
	// recorded in it too.
	Activity *Activity
}

// Console serves the admin API. Create it with New.
type Console struct {
	srv       Server
	acc       *AccountsFile
	log       *slog.Logger
	checker   *password.Checker
	bans      *sessionbook.Book // failed admin logins, apart from FTP's
	act       *Activity
	store     UserStore
	fileUsers func() []FileUser
	web       *webSessions
	streams   chan struct{} // a slot per live-update stream
	pages     *template.Template
}

// New returns a console for o.
func New(o Options) *Console {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxLoginFailures == 0 {
		o.MaxLoginFailures = 10
	}
	if o.BanWindow == 0 {
		o.BanWindow = 10 * time.Minute
	}
	if o.BanDuration == 0 {
		o.BanDuration = 15 * time.Minute
	}
	if o.Activity == nil {
		o.Activity = NewActivity(0)
	}
	return &Console{
		act:       o.Activity,
		store:     o.Users,
		fileUsers: o.FileUsers,
		web:       newWebSessions(),
		streams:   make(chan struct{}, maxStreams),
		pages:     template.Must(template.New("").Funcs(funcs).ParseFS(assets, "templates/*.html")),
		srv:       o.Server,
		acc:       o.Accounts,
		log:       o.Logger,
		checker:   password.NewChecker(2),
		bans: sessionbook.New(sessionbook.Limits{MaxLoginFailures: o.MaxLoginFailures,
			BanWindow: o.BanWindow, BanDuration: o.BanDuration}),
	}
}

// Handler serves the web pages at / and the API under /api/v1/.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	c.routes(mux)
	c.webRoutes(mux)
	return securityHeaders(mux)
}

// csp allows scripts, styles and connections from the console itself only:
// no inline script or style, no frames, forms posting only here.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every response carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Security-Policy", csp)
		h.ServeHTTP(w, r)
	})
}

// clientIP is the address of the HTTP client (the TCP peer: forwarding
// headers are not trusted).
func clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// admin is who makes a request.
type admin struct {
	name  string // the admin account
	token string // the token's name, "" for a password login
	scope string
}

type ctxKey struct{}

func adminOf(ctx context.Context) admin { a, _ := ctx.Value(ctxKey{}).(admin); return a }

// action logs an admin action.
func (c *Console) action(r *http.Request, what string, args ...any) {
	a := adminOf(r.Context())
	args = append([]any{"admin", a.name, "token", a.token, "from", clientIP(r).String(), "action", what}, args...)
	c.log.Info("admin action", args...)
	detail := what
	for i := 8; i+1 < len(args); i += 2 {
		detail += fmt.Sprintf(" %v=%v", args[i], args[i+1])
	}
	c.act.Add(Event{Type: EvAdmin, User: a.name, Remote: clientIP(r).String(), Detail: detail})
}
