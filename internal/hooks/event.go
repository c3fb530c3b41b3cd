// Package hooks delivers ferry server events to webhooks (HTTP POST of a
// JSON body, signed with HMAC-SHA256) and to commands (argv, no shell; the
// event in FERRY_* environment variables and as JSON on stdin). It is the
// daemon's side of ftpserver.Observer and ftpserver.Options.UploadCheck:
// the server calls it synchronously and it never blocks a session, except
// for the veto hooks of complete uploads, which the server awaits (within
// a timeout) before its final reply. docs/operations.md, "Event hooks",
// describes the behaviour and docs/configuration.md the [[hooks]] keys.
package hooks

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
)

// Event names, as configured in a hook's events and sent in Event.Event.
const (
	Login          = "login"
	LoginFailed    = "login_failed"
	Logout         = "logout"
	Upload         = "upload"
	UploadFailed   = "upload_failed"
	Download       = "download"
	DownloadFailed = "download_failed"
	Delete         = "delete"
	Rename         = "rename"
	Mkdir          = "mkdir"
	Rmdir          = "rmdir"
	Ban            = "ban"
)

// Names lists every event name.
var Names = []string{Login, LoginFailed, Logout, Upload, UploadFailed, Download, DownloadFailed,
	Delete, Rename, Mkdir, Rmdir, Ban}

// Event is what a hook receives: the JSON body of a webhook and of a
// command's stdin.
type Event struct {
	Event      string    `json:"event"`
	Time       time.Time `json:"time"`
	Session    string    `json:"session"`
	User       string    `json:"user"`
	Remote     string    `json:"remote"`
	Path       string    `json:"path,omitempty"`
	From       string    `json:"from,omitempty"` // rename: the old path
	Size       int64     `json:"size"`
	DurationMS int64     `json:"duration_ms"`
	Result     string    `json:"result,omitempty"`
	SHA256     string    `json:"sha256,omitempty"`
}

// JSON is the event's JSON encoding.
func (e *Event) JSON() []byte {
	b, _ := json.Marshal(e) // cannot fail: plain fields
	return b
}

// batchJSON is the JSON array of events.
func batchJSON(events []Event) []byte {
	b, _ := json.Marshal(events) // cannot fail: plain fields
	return b
}

// Env is the event as FERRY_* environment variables.
func (e *Event) Env() []string {
	return []string{
		"FERRY_EVENT=" + e.Event,
		"FERRY_TIME=" + e.Time.UTC().Format(time.RFC3339Nano),
		"FERRY_SESSION=" + e.Session,
		"FERRY_USER=" + e.User,
		"FERRY_REMOTE=" + e.Remote,
		"FERRY_PATH=" + e.Path,
		"FERRY_FROM=" + e.From,
		"FERRY_SIZE=" + strconv.FormatInt(e.Size, 10),
		"FERRY_DURATION_MS=" + strconv.FormatInt(e.DurationMS, 10),
		"FERRY_RESULT=" + e.Result,
		"FERRY_SHA256=" + e.SHA256,
	}
}

func base(name string, i ftpserver.EventInfo) Event {
	e := Event{Event: name, Time: i.Time, Session: i.SessionID, User: i.User}
	if i.Remote.IsValid() {
		e.Remote = i.Remote.String()
	}
	return e
}

func loginEvent(l ftpserver.LoginEvent) Event {
	name := Login
	if l.Result != ftpserver.LoginOK {
		name = LoginFailed
	}
	e := base(name, l.EventInfo)
	e.Result = string(l.Result)
	return e
}

// transferEvent is the event of a finished transfer; ok is false for a
// listing, which has no event.
func transferEvent(t ftpserver.TransferEvent) (Event, bool) {
	var name string
	switch t.Direction {
	case ftpserver.DirUpload:
		name = Upload
	case ftpserver.DirDownload:
		name = Download
	default:
		return Event{}, false
	}
	if t.Result != ftpserver.ResultOK {
		name += "_failed"
	}
	e := base(name, t.EventInfo)
	e.Path, e.Size, e.DurationMS, e.Result, e.SHA256 = t.Path, t.Bytes, t.Duration.Milliseconds(), t.Result, t.SHA256
	return e, true
}

func uploadEvent(u ftpserver.UploadInfo) Event {
	e := base(Upload, u.EventInfo)
	e.Path, e.Size, e.DurationMS, e.Result, e.SHA256 = u.Path, u.Bytes, u.Duration.Milliseconds(), ftpserver.ResultOK, u.SHA256
	return e
}

// fileOps maps a FileEvent's command to its event name.
var fileOps = map[string]string{"DELE": Delete, "RNTO": Rename, "MKD": Mkdir, "RMD": Rmdir}

func fileEvent(f ftpserver.FileEvent) (Event, bool) {
	name, ok := fileOps[f.Op]
	if !ok {
		return Event{}, false
	}
	e := base(name, f.EventInfo)
	e.Path, e.From, e.Result = f.Path, f.From, ftpserver.ResultOK
	return e, true
}

func banEvent(b ftpserver.BanEvent) Event {
	e := base(Ban, b.EventInfo)
	e.Result = "banned"
	return e
}
