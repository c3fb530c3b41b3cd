package console

import (
	"encoding/json"
	"net/http"
	"time"
)

const (
	// maxStreams bounds the live-update streams of all browsers together.
	maxStreams = 64
	// maxStreamsPerLogin bounds those of one login (a few tabs).
	maxStreamsPerLogin = 8
	// streamTick is how often a stream sends the sessions.
	streamTick = time.Second
	// streamLifetime ends a stream after a while; the browser reconnects,
	// and a login that has ended or changed is then noticed.
	streamLifetime = 10 * time.Minute
)

// liveUpdate is one message of the stream.
type liveUpdate struct {
	Sessions []SessionJSON `json:"sessions"`
	Bans     []BanJSON     `json:"bans"`
}

// events streams the sessions and bans as server-sent events, one message
// a second, to a logged-in browser.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	s := webOf(r)
	c.web.mu.Lock()
	if s.streams >= maxStreamsPerLogin {
		c.web.mu.Unlock()
		http.Error(w, "too many live views open", http.StatusTooManyRequests)
		return
	}
	s.streams++
	c.web.mu.Unlock()
	defer func() {
		c.web.mu.Lock()
		s.streams--
		c.web.mu.Unlock()
	}()
	select {
	case c.streams <- struct{}{}:
		defer func() { <-c.streams }()
	default:
		http.Error(w, "too many live views open", http.StatusServiceUnavailable)
		return
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	end := time.NewTimer(streamLifetime)
	defer end.Stop()
	tick := time.NewTicker(streamTick)
	defer tick.Stop()
	for {
		now := time.Now()
		if now.After(s.expires) {
			return
		}
		b, err := json.Marshal(liveUpdate{Sessions: sessionsJSON(c.srv.Sessions(), now), Bans: bansJSON(c.srv.Bans())})
		if err != nil {
			return
		}
		rc.SetWriteDeadline(now.Add(10 * time.Second))
		if _, err := w.Write(append(append([]byte("data: "), b...), '\n', '\n')); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}
