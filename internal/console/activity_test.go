package console

import (
	"fmt"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
)

func TestActivityRing(t *testing.T) {
	a := NewActivity(3)
	if got := a.Recent("", "", 10); len(got) != 0 {
		t.Fatalf("empty: %v", got)
	}
	for i := range 5 {
		typ := EvUpload
		if i%2 == 0 {
			typ = EvDownload
		}
		a.Add(Event{Type: typ, User: fmt.Sprint("u", i)})
	}
	got := a.Recent("", "", 10)
	if len(got) != 3 || got[0].User != "u4" || got[2].User != "u2" {
		t.Fatalf("newest first, last three: %v", got)
	}
	if got := a.Recent("", EvUpload, 10); len(got) != 1 || got[0].User != "u3" {
		t.Errorf("by type: %v", got)
	}
	if got := a.Recent("u2", "", 10); len(got) != 1 {
		t.Errorf("by user: %v", got)
	}
	if got := a.Recent("", "", 2); len(got) != 2 {
		t.Errorf("max: %v", got)
	}
}

func TestActivityObserveChains(t *testing.T) {
	a := NewActivity(10)
	calls := 0
	prev := &ftpserver.Observer{Login: func(ftpserver.LoginEvent) { calls++ }, Reload: func(ftpserver.ReloadEvent) { calls += 10 }}
	o := a.Observe(prev)
	o.Login(ftpserver.LoginEvent{EventInfo: ftpserver.EventInfo{User: "ann"}, Result: ftpserver.LoginOK, Method: ftpserver.LoginPassword})
	o.Reload(ftpserver.ReloadEvent{OK: true})
	o.TransferDone(ftpserver.TransferEvent{Direction: ftpserver.DirListing})
	o.TransferDone(ftpserver.TransferEvent{EventInfo: ftpserver.EventInfo{User: "ann"}, Direction: ftpserver.DirUpload, Verb: "STOR", Path: "/f", Result: ftpserver.ResultOK, Bytes: 3})
	if calls != 11 {
		t.Errorf("the previous observer ran %d, want login and reload (11)", calls)
	}
	got := a.Recent("ann", "", 10)
	if len(got) != 2 || got[0].Type != EvUpload || got[0].Detail != "STOR /f: ok, 3 bytes in 0s" || got[1].Type != EvLogin {
		t.Errorf("recorded %+v", got)
	}
	if a.Recent("", "", 10)[0].Type != EvUpload || len(a.Recent("", "", 10)) != 2 {
		t.Error("a listing was recorded")
	}
}

func TestActivityRecordsFileOperations(t *testing.T) {
	a := NewActivity(10)
	o := a.Observe(nil)
	ann := ftpserver.EventInfo{User: "ann"}
	o.FileOp(ftpserver.FileEvent{EventInfo: ann, Op: "DELE", Path: "/old.csv"})
	o.FileOp(ftpserver.FileEvent{EventInfo: ann, Op: "RNTO", From: "/a", Path: "/b"})
	o.FileOp(ftpserver.FileEvent{EventInfo: ann, Op: "MKD", Path: "/in"})
	o.FileOp(ftpserver.FileEvent{EventInfo: ann, Op: "RMD", Path: "/tmp"})
	if got := a.Recent("", EvDelete, 10); len(got) != 2 || got[0].Detail != "RMD /tmp" || got[1].Detail != "DELE /old.csv" {
		t.Errorf("deletes: %+v", got)
	}
	if got := a.Recent("ann", EvRename, 10); len(got) != 1 || got[0].Detail != "/a → /b" {
		t.Errorf("renames: %+v", got)
	}
	if got := a.Recent("", EvMkdir, 10); len(got) != 1 || got[0].Detail != "MKD /in" {
		t.Errorf("mkdir: %+v", got)
	}
}
