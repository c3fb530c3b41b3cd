package console

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// banned answers 403 and reports true when the client's address is banned
// after too many failed logins.
func (c *Console) banned(w http.ResponseWriter, r *http.Request) bool {
	until, ok := c.bans.Banned(clientIP(r))
	if !ok {
		return false
	}
	w.Header().Set("Retry-After", retryAfter(until))
	httpError(w, http.StatusForbidden, "too many failed logins from your address; try again later")
	return true
}

func retryAfter(until time.Time) string {
	return strings.TrimSuffix(time.Until(until).Round(time.Second).String(), "s")
}

// failed counts a failed login or bad token from the request's address.
func (c *Console) failed(r *http.Request, what string) {
	ip := clientIP(r)
	if c.bans.LoginFailed(ip) {
		c.log.Warn("admin console: address banned after repeated failed logins", "from", ip.String())
	} else {
		c.log.Info("admin console: "+what, "from", ip.String())
	}
}

// withToken authenticates an API request by its bearer token and checks
// the token's scope: a read-only token may only GET.
func (c *Console) withToken(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.banned(w, r) {
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
			httpError(w, http.StatusUnauthorized, "an API token is required (Authorization: Bearer TOKEN)")
			return
		}
		acc, err := c.acc.Load()
		if err != nil {
			c.log.Error("admin console: cannot read the accounts", "err", err)
			httpError(w, http.StatusServiceUnavailable, "the admin accounts file is unusable; see the server log")
			return
		}
		t, found := findToken(acc, HashToken(tok))
		if !found {
			c.failed(r, "bad API token")
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry", error="invalid_token"`)
			httpError(w, http.StatusUnauthorized, "invalid API token")
			return
		}
		c.bans.LoginSucceeded(clientIP(r))
		if t.Scope != ScopeFull && r.Method != http.MethodGet && r.Method != http.MethodHead {
			httpError(w, http.StatusForbidden, "this token is read-only")
			return
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, admin{name: t.Admin, token: t.Name, scope: t.Scope})
		h(w, r.WithContext(ctx))
	}
}

// findToken looks a token up by its hash, comparing every stored hash in
// constant time.
func findToken(acc *Accounts, sum string) (Token, bool) {
	var found Token
	ok := false
	for _, t := range acc.Tokens {
		if subtle.ConstantTimeCompare([]byte(t.SHA256), []byte(sum)) == 1 {
			found, ok = t, true
		}
	}
	return found, ok
}
