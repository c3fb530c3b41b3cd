package localfs

import (
	"os"
	"path"
	"strings"
	"time"
)

// maxSwept bounds the memory of when each directory was last swept; when
// it is full the memory starts afresh, which costs at most one extra sweep
// per directory.
const maxSwept = 4096

// sweepEvery is how often one directory's partials are looked at for an
// age limit: a quarter of it, between a minute and an hour.
func sweepEvery(maxAge time.Duration) time.Duration {
	return min(max(maxAge/4, time.Minute), time.Hour)
}

// maybeSweep removes the partial uploads in dir older than
// Options.PartialMaxAge, unless dir was swept within the sweep interval.
// It runs in the goroutine of the upload that starts in dir, so it costs a
// directory read now and then, and no goroutine.
func (f *FS) maybeSweep(dir string) {
	maxAge := f.opts.PartialMaxAge
	if maxAge <= 0 {
		return
	}
	now := time.Now()
	f.mu.Lock()
	if last, ok := f.swept[dir]; ok && now.Sub(last) < sweepEvery(maxAge) {
		f.mu.Unlock()
		return
	}
	if len(f.swept) >= maxSwept {
		clear(f.swept)
	}
	f.swept[dir] = now
	f.mu.Unlock()
	f.sweepDir(dir, now.Add(-maxAge))
}

// sweepDir removes the partial uploads in dir last written before cutoff
// that no upload is using. It reads the directory in batches, so a large
// directory does not cost a large allocation; errors just end the sweep.
func (f *FS) sweepDir(dir string, cutoff time.Time) (removed int) {
	d, err := f.root.OpenFile(dir, os.O_RDONLY|oDirectory|oNonblock, 0)
	if err != nil {
		return 0
	}
	defer d.Close()
	for {
		entries, err := d.ReadDir(256)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), partPrefix) || !e.Type().IsRegular() {
				continue
			}
			tmp := path.Join(dir, e.Name())
			fi, err := e.Info()
			if err != nil || !fi.ModTime().Before(cutoff) || !f.claim(tmp) {
				continue
			}
			// Look again under the claim: a resume may have just written it.
			if fi, err := f.root.Lstat(tmp); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
				if f.root.Remove(tmp) == nil {
					removed++
				}
			}
			f.release(tmp)
		}
		if err != nil || len(entries) == 0 {
			return removed
		}
	}
}
