package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// maxBan is the longest ban the API sets.
const maxBan = 365 * 24 * time.Hour

// defaultBan is a ban's length when the request names none.
const defaultBan = time.Hour

// routes registers the API.
func (c *Console) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/sessions", c.withToken(c.apiSessions))
	mux.HandleFunc("DELETE /api/v1/sessions/{id}", c.withToken(c.apiCloseSession))
	mux.HandleFunc("DELETE /api/v1/sessions/{id}/transfer", c.withToken(c.apiCancelTransfer))
	mux.HandleFunc("GET /api/v1/bans", c.withToken(c.apiBans))
	mux.HandleFunc("POST /api/v1/bans", c.withToken(c.apiBan))
	mux.HandleFunc("DELETE /api/v1/bans/{addr}", c.withToken(c.apiUnban))
	mux.HandleFunc("GET /api/v1/users", c.withToken(c.apiUsers))
	mux.HandleFunc("POST /api/v1/users", c.withToken(c.apiAddUser))
	mux.HandleFunc("PATCH /api/v1/users/{name}", c.withToken(c.apiEditUser))
	mux.HandleFunc("DELETE /api/v1/users/{name}", c.withToken(c.apiDeleteUser))
	mux.HandleFunc("/api/", c.withToken(func(w http.ResponseWriter, r *http.Request) {
		httpError(w, http.StatusNotFound, "no such API endpoint")
	}))
}

// SessionJSON is a session as the API shows it.
type SessionJSON struct {
	ID       string        `json:"id"`
	User     string        `json:"user"`
	Remote   string        `json:"remote"`
	Since    time.Time     `json:"since"`
	Dir      string        `json:"dir"`
	TLS      bool          `json:"tls"`
	Transfer *TransferJSON `json:"transfer,omitempty"`
}

// TransferJSON is a running transfer as the API shows it.
type TransferJSON struct {
	Verb      string    `json:"verb"`
	Path      string    `json:"path"`
	Direction string    `json:"direction"`
	Bytes     int64     `json:"bytes"`
	Size      int64     `json:"size"` // -1 when unknown
	Start     time.Time `json:"start"`
	Rate      float64   `json:"rate"` // bytes per second since the start
}

// BanJSON is a banned address.
type BanJSON struct {
	Addr  string    `json:"addr"`
	Until time.Time `json:"until"`
}

// sessionsJSON converts the server's snapshot.
func sessionsJSON(ss []ftpserver.SessionInfo, now time.Time) []SessionJSON {
	out := make([]SessionJSON, len(ss))
	for i, s := range ss {
		out[i] = SessionJSON{ID: s.ID, User: s.User, Remote: s.Remote.String(), Since: s.Since, Dir: s.Dir, TLS: s.TLS}
		if x := s.Transfer; x != nil {
			out[i].Transfer = &TransferJSON{Verb: x.Verb, Path: x.Path, Direction: x.Direction, Bytes: x.Bytes,
				Size: x.Size, Start: x.Start, Rate: x.Rate(now)}
		}
	}
	return out
}

func (c *Console) apiSessions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, sessionsJSON(c.srv.Sessions(), time.Now()))
}

func (c *Console) apiCloseSession(w http.ResponseWriter, r *http.Request) {
	if err := c.closeSession(r, r.PathValue("id")); err != nil {
		httpError(w, http.StatusNotFound, "no such session")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *Console) apiCancelTransfer(w http.ResponseWriter, r *http.Request) {
	switch err := c.cancelTransfer(r, r.PathValue("id")); {
	case errors.Is(err, ftpserver.ErrNoTransfer):
		httpError(w, http.StatusConflict, "the session has no transfer running")
	case err != nil:
		httpError(w, http.StatusNotFound, "no such session")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (c *Console) apiBans(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, bansJSON(c.srv.Bans()))
}

func bansJSON(bans []ftpserver.BanInfo) []BanJSON {
	out := make([]BanJSON, len(bans))
	for i, b := range bans {
		out[i] = BanJSON{Addr: b.Addr.String(), Until: b.Until}
	}
	return out
}

// BanRequest is the body of POST /api/v1/bans.
type BanRequest struct {
	Addr     string `json:"addr"`
	Duration string `json:"duration"` // a Go duration such as "1h30m"; default 1h
}

func (c *Console) apiBan(w http.ResponseWriter, r *http.Request) {
	var req BanRequest
	if !readJSON(w, r, &req) {
		return
	}
	b, err := c.ban(r, req.Addr, req.Duration)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

// parseBan checks a ban's address and duration.
func parseBan(addrText, durText string) (netip.Addr, time.Duration, error) {
	addr, err := netip.ParseAddr(addrText)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("addr: %q is not an IP address", addrText)
	}
	if addr.Zone() != "" {
		return netip.Addr{}, 0, errors.New("addr: an address with a zone cannot be banned")
	}
	d := defaultBan
	if durText != "" {
		if d, err = time.ParseDuration(durText); err != nil {
			return netip.Addr{}, 0, fmt.Errorf("duration: %q is not a duration such as 1h or 30m", durText)
		}
	}
	if d <= 0 || d > maxBan {
		return netip.Addr{}, 0, fmt.Errorf("duration: %s is out of range (a positive duration up to %s)", d, maxBan)
	}
	return addr.Unmap(), d, nil
}

func (c *Console) apiUnban(w http.ResponseWriter, r *http.Request) {
	switch err := c.unban(r, r.PathValue("addr")); {
	case errors.Is(err, errNotBanned):
		httpError(w, http.StatusNotFound, err.Error())
	case err != nil:
		httpError(w, http.StatusBadRequest, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// writeJSON sends v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// httpError sends {"error": msg}.
func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// readJSON decodes a bounded JSON body into v, refusing unknown fields;
// on failure it answers 400 (or 415) and reports false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		httpError(w, http.StatusUnsupportedMediaType, "send application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}
