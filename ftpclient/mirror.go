package ftpclient

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// MirrorOptions tune Mirror.
type MirrorOptions struct {
	// OnlyNewer transfers a file only when the destination lacks it or
	// the source is newer (by modification time, to the second). Without
	// it a file is also transferred when the sizes differ.
	OnlyNewer bool
	// Delete removes destination files and directories the source lacks.
	Delete bool
	// DryRun reports what would be done without doing it.
	DryRun bool
	// Parallel is the number of simultaneous transfers (default 1).
	Parallel int
	// Verify checks each transfer (HASH, else size).
	Verify bool
	// Exclude holds glob patterns (ftp.MatchGlob) matched against each
	// relative path and each base name; matches are neither copied nor
	// deleted.
	Exclude []string
	// Include, when not empty, limits the files mirrored to those whose
	// relative path or base name matches one of these globs (folders are
	// still walked). Exclude wins over Include.
	Include []string
	// MinSize and MaxSize (bytes; 0 for no limit) and NewerThan and
	// OlderThan (zero for no limit) skip files by size and modification
	// time. Like Include and Exclude they apply to the source side, and
	// destination files they would skip are not deleted.
	MinSize, MaxSize     int64
	NewerThan, OlderThan time.Time
	// Segments, above 1, downloads big files over that many connections
	// each (MirrorDown only; see DownloadSegmented).
	Segments int
	// Log, when set, is called for every action, one call at a time (even
	// when Parallel > 1).
	Log func(MirrorAction)
}

// MirrorAction describes one step of a mirror.
type MirrorAction struct {
	Op   string // "mkdir", "get", "put", "delete", "rmdir", "skip"
	Path string // relative to the mirrored roots, with "/"
	Size int64
	// Reason says which filter skipped a file ("skip" only), such as
	// "--exclude *.tmp" or "--min-size 1024".
	Reason string
}

// MirrorStats counts what a mirror did (or would do, in a dry run).
type MirrorStats struct {
	Files, Dirs, Deleted, Skipped int
	// Filtered counts source entries the filters left out.
	Filtered int
	Bytes    int64
}

type mirrorEntry struct {
	skip    string // why a filter excluded it, "" if it did not
	dir     bool
	size    int64
	modTime time.Time
}

// MirrorDown makes localDir a copy of remoteDir.
func (cl *Client) MirrorDown(ctx context.Context, remoteDir, localDir string, o MirrorOptions) (MirrorStats, error) {
	remoteDir = path.Clean(remoteDir)
	src, err := cl.remoteTree(ctx, remoteDir, o)
	if err != nil {
		return MirrorStats{}, err
	}
	if !o.DryRun {
		if err := os.MkdirAll(localDir, 0o755); err != nil {
			return MirrorStats{}, err
		}
	}
	dst, err := localTree(localDir, o)
	if err != nil {
		return MirrorStats{}, err
	}
	ops := mirrorOps{
		mkdir: func(rel string) error { return os.MkdirAll(filepath.Join(localDir, filepath.FromSlash(rel)), 0o755) },
		copy: func(ctx context.Context, rel string, e mirrorEntry) (int64, error) {
			local := filepath.Join(localDir, filepath.FromSlash(rel))
			var n int64
			var err error
			if o.Segments > 1 && e.size >= 2*MinSegment {
				n, err = cl.DownloadSegmented(ctx, path.Join(remoteDir, rel), local, o.Segments, TransferOptions{Verify: o.Verify}, nil)
			} else {
				n, err = cl.Download(ctx, path.Join(remoteDir, rel), local, TransferOptions{Verify: o.Verify, ListedSize: e.size, NoSync: syncAtEnd})
			}
			if err == nil && !e.modTime.IsZero() {
				err = os.Chtimes(local, e.modTime, e.modTime)
			}
			return n, err
		},
		remove: func(ctx context.Context, rel string, dir bool) error {
			return os.Remove(filepath.Join(localDir, filepath.FromSlash(rel)))
		},
		copyOp: "get",
	}
	st, err := runMirror(ctx, src, dst, o, ops)
	if syncAtEnd && st.Files > 0 && !o.DryRun {
		if serr := syncFS(localDir); err == nil && serr != nil {
			err = fmt.Errorf("ftpclient: making the mirror durable: %w", serr)
		}
	}
	return st, err
}

// MirrorUp makes remoteDir a copy of localDir. Modification times are set
// on the server with MFMT (or MDTM) when it allows it.
func (cl *Client) MirrorUp(ctx context.Context, localDir, remoteDir string, o MirrorOptions) (MirrorStats, error) {
	remoteDir = path.Clean(remoteDir)
	src, err := localTree(localDir, o)
	if err != nil {
		return MirrorStats{}, err
	}
	if _, ok := src[""]; !ok {
		return MirrorStats{}, &fs.PathError{Op: "mirror", Path: localDir, Err: fs.ErrNotExist}
	}
	if !o.DryRun {
		if err := cl.Do(ctx, func(c *Conn) error { return c.MkdirAll(ctx, remoteDir) }); err != nil {
			return MirrorStats{}, err
		}
	}
	dst, err := cl.remoteTree(ctx, remoteDir, o)
	if err != nil && !o.DryRun {
		return MirrorStats{}, err
	}
	ops := mirrorOps{
		mkdir: func(rel string) error {
			return cl.Do(ctx, func(c *Conn) error { return c.MkdirAll(ctx, path.Join(remoteDir, rel)) })
		},
		copy: func(ctx context.Context, rel string, e mirrorEntry) (int64, error) {
			remote := path.Join(remoteDir, rel)
			n, err := cl.Upload(ctx, filepath.Join(localDir, filepath.FromSlash(rel)), remote, TransferOptions{Verify: o.Verify})
			if err == nil {
				cl.Do(ctx, func(c *Conn) error {
					c.SetModTime(ctx, remote, e.modTime) // best effort
					return nil
				})
			}
			return n, err
		},
		remove: func(ctx context.Context, rel string, dir bool) error {
			return cl.Do(ctx, func(c *Conn) error {
				if dir {
					return c.Rmdir(ctx, path.Join(remoteDir, rel))
				}
				return c.Delete(ctx, path.Join(remoteDir, rel))
			})
		},
		copyOp: "put",
	}
	return runMirror(ctx, src, dst, o, ops)
}

// excluded returns the --exclude pattern rel matches, or "".
func excluded(rel string, o MirrorOptions) string {
	for _, p := range o.Exclude {
		if ftp.MatchGlob(p, rel) || ftp.MatchGlob(p, path.Base(rel)) {
			return "--exclude " + p
		}
	}
	return ""
}

// filtered says why the file rel is skipped by Include and the size and
// age filters, or "" when it is kept.
func filtered(rel string, e mirrorEntry, o MirrorOptions) string {
	if len(o.Include) > 0 {
		in := false
		for _, p := range o.Include {
			if ftp.MatchGlob(p, rel) || ftp.MatchGlob(p, path.Base(rel)) {
				in = true
				break
			}
		}
		if !in {
			return "not --include " + strings.Join(o.Include, ",")
		}
	}
	switch {
	case o.MinSize > 0 && e.size < o.MinSize:
		return fmt.Sprintf("--min-size %d", o.MinSize)
	case o.MaxSize > 0 && e.size > o.MaxSize:
		return fmt.Sprintf("--max-size %d", o.MaxSize)
	case !o.NewerThan.IsZero() && !e.modTime.After(o.NewerThan):
		return "--newer-than " + o.NewerThan.UTC().Format(time.RFC3339)
	case !o.OlderThan.IsZero() && !e.modTime.Before(o.OlderThan):
		return "--older-than " + o.OlderThan.UTC().Format(time.RFC3339)
	}
	return ""
}

// remoteTree lists remoteDir recursively; keys are relative paths ("" is
// the root).
func (cl *Client) remoteTree(ctx context.Context, remoteDir string, o MirrorOptions) (map[string]mirrorEntry, error) {
	tree := map[string]mirrorEntry{}
	err := cl.Do(ctx, func(c *Conn) error {
		clear(tree)
		// LIST times have minutes at best; MDTM is exact. The files'
		// MDTMs are asked for after the walk, pipelined.
		var exact, exactRel []string
		err := c.Walk(ctx, remoteDir, func(p string, e ftp.Entry, err error) error {
			if err != nil {
				return err
			}
			rel := relOf(remoteDir, p)
			if why := excluded(rel, o); rel != "" && why != "" {
				tree[rel] = mirrorEntry{skip: why, dir: e.IsDir(), size: e.Size}
				if e.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if e.Type != ftp.EntryFile && !e.IsDir() {
				return nil // links, devices: not mirrored
			}
			if !e.IsDir() && !c.useMLSx() {
				exact, exactRel = append(exact, p), append(exactRel, rel)
			}
			tree[rel] = mirrorEntry{dir: e.IsDir(), size: e.Size, modTime: e.ModTime}
			return nil
		})
		if err != nil || len(exact) == 0 {
			return err
		}
		times, err := c.modTimes(ctx, exact)
		if err != nil {
			return err
		}
		for i, t := range times {
			if !t.IsZero() {
				e := tree[exactRel[i]]
				e.modTime = t
				tree[exactRel[i]] = e
			}
		}
		return nil
	})
	return tree, err
}

func localTree(dir string, o MirrorOptions) (map[string]mirrorEntry, error) {
	tree := map[string]mirrorEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		if why := excluded(rel, o); rel != "" && why != "" {
			tree[rel] = mirrorEntry{skip: why, dir: d.IsDir()}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		tree[rel] = mirrorEntry{dir: d.IsDir(), size: info.Size(), modTime: info.ModTime()}
		return nil
	})
	return tree, err
}

type mirrorOps struct {
	mkdir  func(rel string) error
	copy   func(ctx context.Context, rel string, e mirrorEntry) (int64, error)
	remove func(ctx context.Context, rel string, dir bool) error
	copyOp string
}

func needsCopy(s, d mirrorEntry, ok bool, o MirrorOptions) bool {
	if !ok || d.dir {
		return true
	}
	newer := !s.modTime.IsZero() && !d.modTime.IsZero() &&
		s.modTime.Truncate(time.Second).After(d.modTime.Truncate(time.Second))
	if o.OnlyNewer {
		return newer
	}
	return newer || s.size != d.size
}

func runMirror(ctx context.Context, src, dst map[string]mirrorEntry, o MirrorOptions, ops mirrorOps) (MirrorStats, error) {
	r := &mirrorRun{src: src, dst: dst, o: o, ops: ops}
	files, err := r.plan(ctx)
	if err != nil {
		return r.st, err
	}
	if err := r.copyFiles(ctx, files); err != nil || !o.Delete {
		return r.st, err
	}
	return r.st, r.deleteExtra(ctx)
}

// mirrorRun is one mirror in either direction.
type mirrorRun struct {
	src, dst map[string]mirrorEntry
	o        MirrorOptions
	ops      mirrorOps
	st       MirrorStats
	logMu    sync.Mutex
}

// log reports an action to MirrorOptions.Log; the copy workers call it
// concurrently.
func (r *mirrorRun) log(a MirrorAction) {
	if r.o.Log != nil {
		r.logMu.Lock()
		defer r.logMu.Unlock()
		r.o.Log(a)
	}
}

// plan walks the source in name order: it applies the filters, makes the
// directories the destination lacks, and returns the files to copy.
func (r *mirrorRun) plan(ctx context.Context) ([]string, error) {
	keys := make([]string, 0, len(r.src))
	for k := range r.src {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var files []string
	for _, rel := range keys {
		s := r.src[rel]
		d, ok := r.dst[rel]
		if s.skip == "" && !s.dir {
			s.skip = filtered(rel, s, r.o)
			r.src[rel] = s
		}
		switch {
		case s.skip != "":
			r.log(MirrorAction{Op: "skip", Path: rel, Size: s.size, Reason: s.skip})
			r.st.Filtered++
		case s.dir:
			if rel != "" && (!ok || !d.dir) {
				if err := r.mkdir(ctx, rel, ok); err != nil {
					return nil, err
				}
			}
		case !needsCopy(s, d, ok, r.o):
			r.st.Skipped++
		default:
			files = append(files, rel)
		}
	}
	return files, nil
}

// mkdir makes directory rel on the destination, replacing a file of that
// name (exists).
func (r *mirrorRun) mkdir(ctx context.Context, rel string, exists bool) error {
	r.log(MirrorAction{Op: "mkdir", Path: rel})
	r.st.Dirs++
	if r.o.DryRun {
		return nil
	}
	if exists {
		if err := r.ops.remove(ctx, rel, false); err != nil {
			return err
		}
	}
	return r.ops.mkdir(rel)
}

// copyFiles copies files, Parallel at a time; the first error stops the
// others.
func (r *mirrorRun) copyFiles(ctx context.Context, files []string) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		bytes    atomic.Int64
		next     atomic.Int64
	)
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range max(r.o.Parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) || tctx.Err() != nil {
					return
				}
				rel := files[i]
				r.log(MirrorAction{Op: r.ops.copyOp, Path: rel, Size: r.src[rel].size})
				if r.o.DryRun {
					bytes.Add(r.src[rel].size)
					continue
				}
				n, err := r.ops.copy(tctx, rel, r.src[rel])
				bytes.Add(n)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	r.st.Files = len(files)
	r.st.Bytes = bytes.Load()
	return firstErr
}

// deleteExtra removes what the destination has and the source has not,
// deepest first so directories are empty when removed. What the filters
// would skip on the source side is kept on the destination side.
func (r *mirrorRun) deleteExtra(ctx context.Context) error {
	var gone []string
	for rel, d := range r.dst {
		if _, ok := r.src[rel]; ok || rel == "" {
			continue
		}
		if d.skip != "" || (!d.dir && filtered(rel, d, r.o) != "") || underSkipped(rel, r.src) {
			continue
		}
		gone = append(gone, rel)
	}
	slices.SortFunc(gone, func(a, b string) int {
		if da, db := strings.Count(a, "/"), strings.Count(b, "/"); da != db {
			return db - da
		}
		return strings.Compare(b, a)
	})
	for _, rel := range gone {
		op := "delete"
		if r.dst[rel].dir {
			op = "rmdir"
		}
		r.log(MirrorAction{Op: op, Path: rel})
		r.st.Deleted++
		if !r.o.DryRun {
			if err := r.ops.remove(ctx, rel, r.dst[rel].dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// underSkipped reports whether a parent folder of rel was excluded on the
// source side (so its contents were never listed there).
func underSkipped(rel string, src map[string]mirrorEntry) bool {
	for p := path.Dir(rel); p != "." && p != "/"; p = path.Dir(p) {
		if e, ok := src[p]; ok && e.skip != "" {
			return true
		}
	}
	return false
}

// relOf returns p relative to the walked root dir ("" for dir itself).
func relOf(dir, p string) string {
	if p == dir {
		return ""
	}
	if dir == "." {
		return p
	}
	prefix := dir
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return strings.TrimPrefix(p, prefix)
}
