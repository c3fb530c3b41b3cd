package storage_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/ferryftp/ferry/storage"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{".", true},
		{"a", true},
		{"a/b/c.txt", true},
		{".hidden", true},
		{"", false},
		{"/abs", false},
		{"a/", false},
		{"a//b", false},
		{"./a", false},
		{"../x", false},
		{"a/../../b", false},
		{"a\x00b", false},
	}
	for _, tt := range tests {
		t.Run("name "+quote(tt.name)+" is valid: "+yes(tt.want), func(t *testing.T) {
			if got := storage.ValidName(tt.name); got != tt.want {
				t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.want)
			}
			err := storage.CheckName("op", tt.name)
			if tt.want && err != nil {
				t.Errorf("CheckName(%q) = %v, want nil", tt.name, err)
			}
			if !tt.want && !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("CheckName(%q) = %v, want fs.ErrInvalid", tt.name, err)
			}
		})
	}
}

func TestSentinelsMatchTheirIOFSKind(t *testing.T) {
	tests := []struct {
		desc   string
		err    error
		kind   error
		nokind []error
	}{
		{"ErrNotEmpty matches fs.ErrExist", storage.ErrNotEmpty, fs.ErrExist, []error{fs.ErrNotExist, fs.ErrPermission}},
		{"ErrIsDir matches fs.ErrInvalid", storage.ErrIsDir, fs.ErrInvalid, []error{fs.ErrNotExist, fs.ErrPermission}},
		{"ErrNotDir matches fs.ErrInvalid", storage.ErrNotDir, fs.ErrInvalid, []error{fs.ErrNotExist, fs.ErrPermission}},
		{"ErrBusy matches no io/fs error", storage.ErrBusy, nil, []error{fs.ErrNotExist, fs.ErrPermission, fs.ErrExist, fs.ErrInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			wrapped := &fs.PathError{Op: "op", Path: "p", Err: tt.err}
			if !errors.Is(wrapped, tt.err) {
				t.Errorf("wrapped %v does not match itself", tt.err)
			}
			if tt.kind != nil && !errors.Is(wrapped, tt.kind) {
				t.Errorf("%v does not match %v", tt.err, tt.kind)
			}
			for _, k := range tt.nokind {
				if errors.Is(wrapped, k) {
					t.Errorf("%v unexpectedly matches %v", tt.err, k)
				}
			}
		})
	}
}

func quote(s string) string { return "\"" + s + "\"" }

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
