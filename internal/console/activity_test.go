package console

import (
	"fmt"
	"testing"
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
