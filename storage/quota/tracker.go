// Package quota enforces per-user storage quotas (a maximum number of bytes
// and of files) in front of any storage.FS. A Tracker holds one user's
// usage and limits and is shared by all of that user's sessions; Wrap puts
// it in front of a file system, counting the bytes of uploads as they are
// written and refusing, with an *ftp.Error 552 (RFC 959 "exceeded storage
// allocation"), the write that would cross a limit.
//
// Usage counts regular files and their sizes as the backend lists them
// (directories are free; in localfs's atomic mode, hidden partial uploads
// are not counted until published). It is loaded once, by a scan of the
// file system (Tracker.Load) or from a value an administrator's database
// keeps (Tracker.Set), and then kept current by the wrapper: uploads,
// overwrites (counted as the difference), deletions and renames that
// replace a file.
package quota

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/storage"
)

// Limits are a user's quota. Zero means unlimited.
type Limits struct {
	MaxBytes int64
	MaxFiles int64
}

// Unlimited reports whether neither limit is set.
func (l Limits) Unlimited() bool { return l.MaxBytes <= 0 && l.MaxFiles <= 0 }

// Usage is what a user's files take: total bytes and number of regular files.
type Usage struct {
	Bytes int64
	Files int64
}

// Status is a Tracker's state as SITE QUOTA reports it.
type Status struct {
	Limits
	Used Usage
	// Reserved is what uploads running now have reserved but not yet
	// finished.
	Reserved Usage
}

// String describes s on one line, e.g.
// "Quota: 1048576 of 10737418240 bytes used, 3 of 10000 files".
func (s Status) String() string {
	of := func(n, max int64, unit string) string {
		if max <= 0 {
			return strconv.FormatInt(n, 10) + " " + unit + " (unlimited)"
		}
		return fmt.Sprintf("%d of %d %s", n, max, unit)
	}
	return "Quota: " + of(s.Used.Bytes, s.MaxBytes, "bytes") + " used, " + of(s.Used.Files, s.MaxFiles, "files")
}

// Reporter is implemented by file systems that enforce a quota (the result
// of Wrap). The FTP server asks it for SITE QUOTA, STAT and ALLO.
type Reporter interface {
	// QuotaStatus returns the current usage and limits.
	QuotaStatus() Status
	// CheckAllocate returns an *ftp.Error 552 when n more bytes cannot fit
	// in the quota now (ALLO).
	CheckAllocate(n int64) error
}

// ErrBytesExceeded and ErrFilesExceeded are the errors of a refused upload;
// the FTP server answers them with their own code and message.
var (
	ErrBytesExceeded = &ftp.Error{Code: ftp.CodeExceededStorage, Message: "Storage quota exceeded (bytes)."}
	ErrFilesExceeded = &ftp.Error{Code: ftp.CodeExceededStorage, Message: "Storage quota exceeded (number of files)."}
)

// Tracker holds one user's limits and usage. Every session of the user
// must share one Tracker, so that concurrent uploads reserve bytes from the
// same pool: the sum of what they store never exceeds the limit. It is
// safe for concurrent use.
type Tracker struct {
	loadMu sync.Mutex // serialises Load

	mu       sync.Mutex
	limits   Limits
	used     Usage
	reserved Usage
	loaded   bool
	onChange func(delta Usage)
	wrapped  *quotaFS // the latest Wrap, reused for the same FS
}

// NewTracker returns a Tracker with limits and no usage loaded yet.
// onChange, when not nil, is called (without locks held) with every change
// the wrapper applies to the usage, so that a database can add it too.
func NewTracker(limits Limits, onChange func(delta Usage)) *Tracker {
	return &Tracker{limits: limits, onChange: onChange}
}

// SetLimits replaces the limits (a reloaded configuration or user record).
// Running uploads keep what they reserved.
func (t *Tracker) SetLimits(l Limits) {
	t.mu.Lock()
	t.limits = l
	t.mu.Unlock()
}

// Set replaces the usage with u (for example the value a user database
// holds) and marks it loaded.
func (t *Tracker) Set(u Usage) {
	t.mu.Lock()
	t.used, t.loaded = u, true
	t.mu.Unlock()
}

// Loaded reports whether the usage has been loaded (Load or Set).
func (t *Tracker) Loaded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.loaded
}

// Load scans fsys for the usage unless it is loaded already. Concurrent
// calls share one scan; a failed scan is not remembered.
func (t *Tracker) Load(ctx context.Context, fsys storage.FS) error {
	t.loadMu.Lock()
	defer t.loadMu.Unlock()
	if t.Loaded() {
		return nil
	}
	u, err := Scan(ctx, fsys)
	if err != nil {
		return err
	}
	t.Set(u)
	return nil
}

// Status returns the current limits and usage.
func (t *Tracker) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Status{Limits: t.limits, Used: t.used, Reserved: t.reserved}
}

// freeBytes is what can still be reserved; -1 means unlimited. t.mu held.
func (t *Tracker) freeBytes() int64 {
	if t.limits.MaxBytes <= 0 {
		return -1
	}
	return max(0, t.limits.MaxBytes-t.used.Bytes-t.reserved.Bytes)
}

// CheckAllocate implements Reporter.
func (t *Tracker) CheckAllocate(n int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.freeBytes(); f >= 0 && n > f {
		return ErrBytesExceeded
	}
	return nil
}

// grant reserves up to want bytes, and at most half of the free space
// (rounded up) so that other uploads of the user still get a share, and
// returns how many it reserved; with no byte limit it returns want.
func (t *Tracker) grant(want int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.freeBytes()
	if f < 0 {
		return want
	}
	g := min(want, (f+1)/2)
	t.reserved.Bytes += g
	return g
}

// reserve reserves exactly n bytes, or nothing.
func (t *Tracker) reserve(n int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.freeBytes()
	if f >= 0 && n > f {
		return false
	}
	if f >= 0 {
		t.reserved.Bytes += n
	}
	return true
}

// bytesLimited reports whether a byte limit is set.
func (t *Tracker) bytesLimited() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.limits.MaxBytes > 0
}

// reserveFile reserves one file.
func (t *Tracker) reserveFile() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.limits.MaxFiles > 0 && t.used.Files+t.reserved.Files+1 > t.limits.MaxFiles {
		return false
	}
	t.reserved.Files++
	return true
}

// full reports whether no byte at all can be reserved.
func (t *Tracker) full() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.freeBytes() == 0
}

// filesFull reports whether one more file would cross the file limit.
func (t *Tracker) filesFull() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.limits.MaxFiles > 0 && t.used.Files+t.reserved.Files+1 > t.limits.MaxFiles
}

// release gives back reservations.
func (t *Tracker) release(u Usage) { t.settle(u, Usage{}) }

// apply adds delta to the usage (never below zero) and reports it.
func (t *Tracker) apply(delta Usage) { t.settle(Usage{}, delta) }

// settle gives back the reservations res and adds delta to the usage in
// one step, so that no other upload sees the bytes counted nowhere, then
// reports delta.
func (t *Tracker) settle(res, delta Usage) {
	if res == (Usage{}) && delta == (Usage{}) {
		return
	}
	t.mu.Lock()
	t.reserved.Bytes = max(0, t.reserved.Bytes-res.Bytes)
	t.reserved.Files = max(0, t.reserved.Files-res.Files)
	t.used.Bytes = max(0, t.used.Bytes+delta.Bytes)
	t.used.Files = max(0, t.used.Files+delta.Files)
	t.mu.Unlock()
	if t.onChange != nil && delta != (Usage{}) {
		t.onChange(delta)
	}
}

// Scan walks fsys and adds up its regular files. It honours ctx.
func Scan(ctx context.Context, fsys storage.FS) (Usage, error) {
	var u Usage
	var walk func(dir string) error
	walk = func(dir string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := fsys.ReadDir(ctx, dir)
		if err != nil {
			return fmt.Errorf("quota scan of %s: %w", dir, err)
		}
		for _, fi := range entries {
			name := fi.Name()
			if dir != "." {
				name = dir + "/" + name
			}
			switch {
			case fi.IsDir():
				if err := walk(name); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				u.Bytes += fi.Size()
				u.Files++
			}
		}
		return nil
	}
	return u, walk(".")
}
