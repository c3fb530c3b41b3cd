package console

import (
	"fmt"
	"sync"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
)

// Event types of the recent activity.
const (
	EvLogin       = "login"
	EvLoginFailed = "login_failed"
	EvUpload      = "upload"
	EvDownload    = "download"
	EvBan         = "ban"
	EvDelete      = "delete" // DELE and RMD
	EvRename      = "rename"
	EvMkdir       = "mkdir"
	EvAdmin       = "admin" // an action of an admin in the console or API
)

// Event is one line of the recent activity.
type Event struct {
	Time   time.Time `json:"time"`
	Type   string    `json:"type"`
	User   string    `json:"user"`
	Remote string    `json:"remote"`
	Detail string    `json:"detail"`
}

// Activity keeps the last N events of the server and of the admins. It is
// safe for concurrent use; recording costs a lock and a copy, never I/O.
type Activity struct {
	mu   sync.Mutex
	ring []Event
	next int
	full bool
}

// NewActivity keeps the last n events (n < 1: 500).
func NewActivity(n int) *Activity {
	if n < 1 {
		n = 500
	}
	return &Activity{ring: make([]Event, n)}
}

// Add records an event.
func (a *Activity) Add(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	a.mu.Lock()
	a.ring[a.next] = e
	a.next++
	if a.next == len(a.ring) {
		a.next, a.full = 0, true
	}
	a.mu.Unlock()
}

// Recent returns up to max events, newest first, of the given user and
// type ("" matches any).
func (a *Activity) Recent(user, typ string, max int) []Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.next
	if a.full {
		n = len(a.ring)
	}
	var out []Event
	for i := 0; i < n && len(out) < max; i++ {
		e := a.ring[(a.next-1-i+len(a.ring))%len(a.ring)]
		if (user == "" || e.User == user) && (typ == "" || e.Type == typ) {
			out = append(out, e)
		}
	}
	return out
}

// Observe returns a copy of o (which may be nil) that also records logins,
// finished uploads and downloads and bans; o's own funcs still run first.
// Events that o has and Observe does not know are passed on untouched.
func (a *Activity) Observe(o *ftpserver.Observer) *ftpserver.Observer {
	var n ftpserver.Observer
	if o != nil {
		n = *o
	}
	login := n.Login
	n.Login = func(e ftpserver.LoginEvent) {
		if login != nil {
			login(e)
		}
		switch e.Result {
		case ftpserver.LoginOK:
			a.Add(Event{Time: e.Time, Type: EvLogin, User: e.User, Remote: e.Remote.String(), Detail: string(e.Method)})
		case ftpserver.LoginFailed:
			a.Add(Event{Time: e.Time, Type: EvLoginFailed, User: e.User, Remote: e.Remote.String()})
		}
	}
	done := n.TransferDone
	n.TransferDone = func(e ftpserver.TransferEvent) {
		if done != nil {
			done(e)
		}
		typ := EvDownload
		switch e.Direction {
		case ftpserver.DirUpload:
			typ = EvUpload
		case ftpserver.DirListing:
			return
		}
		a.Add(Event{Time: e.Time, Type: typ, User: e.User, Remote: e.Remote.String(),
			Detail: fmt.Sprintf("%s %s: %s, %d bytes in %s", e.Verb, e.Path, e.Result, e.Bytes, e.Duration.Round(time.Millisecond))})
	}
	fileOp := n.FileOp
	n.FileOp = func(e ftpserver.FileEvent) {
		if fileOp != nil {
			fileOp(e)
		}
		typ, detail := EvDelete, e.Op+" "+e.Path
		switch e.Op {
		case "RNTO":
			typ, detail = EvRename, e.From+" → "+e.Path
		case "MKD":
			typ = EvMkdir
		}
		a.Add(Event{Time: e.Time, Type: typ, User: e.User, Remote: e.Remote.String(), Detail: detail})
	}
	ban := n.BanAdded
	n.BanAdded = func(e ftpserver.BanEvent) {
		if ban != nil {
			ban(e)
		}
		a.Add(Event{Time: e.Time, Type: EvBan, User: e.User, Remote: e.Addr.String(),
			Detail: "after repeated failed logins, until " + e.Until.UTC().Format(time.RFC3339)})
	}
	return &n
}
