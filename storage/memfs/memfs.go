// Package memfs is an in-memory storage.FS: a tree of directories and files
// guarded by one sync.RWMutex, meant for tests of the FTP server and client.
//
// It follows the semantics of localfs in direct upload mode (Offset, Append,
// Exclusive, Chmod, Chtimes, modification times) with one difference that
// makes tests deterministic: an upload writer buffers what it is given and
// publishes it when it is closed, so a reader never sees half a file. A name
// that did not exist appears, empty, as soon as Create returns (as with
// O_CREATE); an existing file keeps its old content until the writer closes.
// The writer also implements storage.Aborter, and Abort publishes what was
// written exactly as Close does (direct semantics: the partial file stays
// under its name, so REST + STOR can resume it). It implements
// storage.Discarder too: Discard drops what was written, so an existing
// file keeps its old content and a file the upload created is removed.
//
// memfs has no symbolic links and enforces no permissions; Chmod only records
// the permission bits.
package memfs

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferryftp/ferry/storage"
)

// Default permission bits of new files and directories.
const (
	fileMode fs.FileMode = 0o644
	dirMode  fs.FileMode = 0o755
)

// FS is an in-memory file tree. Its methods are safe for concurrent use.
// The zero value is not usable; call New.
type FS struct {
	mu   sync.RWMutex
	root *node
}

var (
	_ storage.FS        = (*FS)(nil)
	_ storage.Chmoder   = (*FS)(nil)
	_ storage.Chtimeser = (*FS)(nil)
)

// node is a file or a directory. The data slice of a file is never modified
// in place once published, so readers may keep it without holding the lock.
type node struct {
	dir      bool
	perm     fs.FileMode
	modTime  time.Time
	data     []byte
	children map[string]*node
}

func newDir() *node {
	return &node{dir: true, perm: dirMode, modTime: time.Now(), children: map[string]*node{}}
}

// New returns an empty file system: a root directory and nothing else.
func New() *FS {
	return &FS{root: newDir()}
}

// fileInfo is a snapshot of a node, as fs.FileInfo.
type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.modTime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *fileInfo) Sys() any           { return nil }

func (n *node) info(name string) fs.FileInfo {
	fi := &fileInfo{name: name, size: int64(len(n.data)), mode: n.perm, modTime: n.modTime}
	if n.dir {
		fi.mode |= fs.ModeDir
		fi.size = 0
	}
	return fi
}

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// begin checks ctx and every name for op.
func begin(ctx context.Context, op string, names ...string) error {
	if err := ctx.Err(); err != nil {
		return pathErr(op, names[0], err)
	}
	for _, name := range names {
		if err := storage.CheckName(op, name); err != nil {
			return err
		}
	}
	return nil
}

// walk finds the node for name. The caller holds f.mu.
func (f *FS) walk(op, name string) (*node, error) {
	n := f.root
	if name == "." {
		return n, nil
	}
	for elem := range strings.SplitSeq(name, "/") {
		if !n.dir {
			return nil, pathErr(op, name, storage.ErrNotDir)
		}
		c, ok := n.children[elem]
		if !ok {
			return nil, pathErr(op, name, fs.ErrNotExist)
		}
		n = c
	}
	return n, nil
}

// parent finds the directory that holds name and name's last element. The
// caller holds f.mu and has ruled out ".".
func (f *FS) parent(op, name string) (*node, string, error) {
	dir, base := ".", name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir, base = name[:i], name[i+1:]
	}
	p, err := f.walk(op, dir)
	if err != nil {
		return nil, "", pathErr(op, name, underlying(err))
	}
	if !p.dir {
		return nil, "", pathErr(op, name, storage.ErrNotDir)
	}
	return p, base, nil
}

func underlying(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

func baseName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// Stat describes the named file or directory.
func (f *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := begin(ctx, "stat", name); err != nil {
		return nil, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n, err := f.walk("stat", name)
	if err != nil {
		return nil, err
	}
	return n.info(baseName(name)), nil
}

// ReadDir lists a directory, sorted by name.
func (f *FS) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	if err := begin(ctx, "readdir", name); err != nil {
		return nil, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n, err := f.walk("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, pathErr("readdir", name, storage.ErrNotDir)
	}
	infos := make([]fs.FileInfo, 0, len(n.children))
	for _, elem := range slices.Sorted(maps.Keys(n.children)) {
		infos = append(infos, n.children[elem].info(elem))
	}
	return infos, nil
}

// Open returns a reader of the named file's content from offset on, as it
// was when Open was called. Directories yield storage.ErrIsDir.
func (f *FS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	if err := begin(ctx, "open", name); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, pathErr("open", name, fs.ErrInvalid)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n, err := f.walk("open", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, pathErr("open", name, storage.ErrIsDir)
	}
	data := n.data
	offset = min(offset, int64(len(data)))
	return io.NopCloser(bytes.NewReader(data[offset:])), nil
}

// Create opens the named file for writing as opts describes. The writer
// buffers and publishes its data on Close or Abort.
func (f *FS) Create(ctx context.Context, name string, opts storage.CreateOptions) (io.WriteCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, base, n, err := f.planCreate(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	var buf []byte
	switch {
	case n != nil && opts.Offset > 0:
		buf = slices.Clone(n.data[:opts.Offset])
	case n != nil && opts.Append:
		buf = slices.Clone(n.data)
	}
	w := &writer{fs: f, node: n, name: name, buf: buf}
	if n == nil {
		n = &node{perm: fileMode, modTime: time.Now()}
		p.children[base] = n
		p.modTime = n.modTime
		w.node, w.parent, w.base = n, p, base
	}
	return w, nil
}

// CheckCreate reports the error Create would return, changing nothing.
func (f *FS) CheckCreate(ctx context.Context, name string, opts storage.CreateOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, _, _, err := f.planCreate(ctx, name, opts)
	return err
}

// planCreate makes Create's checks under f.mu and returns the parent
// directory, the base name and the existing file (nil when there is none).
func (f *FS) planCreate(ctx context.Context, name string, opts storage.CreateOptions) (*node, string, *node, error) {
	const op = "create"
	if err := begin(ctx, op, name); err != nil {
		return nil, "", nil, err
	}
	if opts.Offset < 0 {
		return nil, "", nil, pathErr(op, name, fs.ErrInvalid)
	}
	if name == "." {
		return nil, "", nil, pathErr(op, name, storage.ErrIsDir)
	}
	p, base, err := f.parent(op, name)
	if err != nil {
		return nil, "", nil, err
	}
	n, ok := p.children[base]
	switch {
	case ok && n.dir:
		return nil, "", nil, pathErr(op, name, storage.ErrIsDir)
	case ok && opts.Exclusive:
		return nil, "", nil, pathErr(op, name, fs.ErrExist)
	case ok && opts.Offset > int64(len(n.data)):
		return nil, "", nil, pathErr(op, name, fs.ErrInvalid)
	case !ok && opts.Offset > 0:
		return nil, "", nil, pathErr(op, name, fs.ErrInvalid)
	}
	return p, base, n, nil
}

// writer buffers an upload and publishes it to its node when it ends. The
// node is the file as it was at Create, so a rename while the upload runs is
// followed and a removal makes the data vanish, as with an open descriptor.
type writer struct {
	fs   *FS
	node *node
	name string
	// parent and base are where the upload created node, nil when the
	// file existed before.
	parent *node
	base   string

	mu     sync.Mutex
	buf    []byte
	closed bool
}

// Write appends p to the upload.
func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, pathErr("write", w.name, fs.ErrClosed)
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Close publishes the upload.
func (w *writer) Close() error { return w.publish("close") }

// Abort publishes what was written so far, exactly as Close does.
func (w *writer) Abort() error { return w.publish("abort") }

// Discard drops what was written: an existing file keeps its content, and
// a file the upload created is removed (unless it was renamed meanwhile).
// After Close or Abort it does nothing.
func (w *writer) Discard() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.buf = nil
	if w.parent == nil {
		return nil
	}
	w.fs.mu.Lock()
	defer w.fs.mu.Unlock()
	if w.parent.children[w.base] == w.node {
		delete(w.parent.children, w.base)
		w.parent.modTime = time.Now()
	}
	return nil
}

func (w *writer) publish(op string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return pathErr(op, w.name, fs.ErrClosed)
	}
	w.closed = true
	data := w.buf
	w.buf = nil
	w.fs.mu.Lock()
	defer w.fs.mu.Unlock()
	w.node.data = data
	w.node.modTime = time.Now()
	return nil
}

// Remove deletes a file; directories yield storage.ErrIsDir.
func (f *FS) Remove(ctx context.Context, name string) error {
	const op = "remove"
	if err := begin(ctx, op, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "." {
		return pathErr(op, name, storage.ErrIsDir)
	}
	p, base, err := f.parent(op, name)
	if err != nil {
		return err
	}
	n, ok := p.children[base]
	switch {
	case !ok:
		return pathErr(op, name, fs.ErrNotExist)
	case n.dir:
		return pathErr(op, name, storage.ErrIsDir)
	}
	delete(p.children, base)
	p.modTime = time.Now()
	return nil
}

// Mkdir creates one directory; its parent must exist.
func (f *FS) Mkdir(ctx context.Context, name string) error {
	const op = "mkdir"
	if err := begin(ctx, op, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mkdir(op, name)
}

func (f *FS) mkdir(op, name string) error {
	if name == "." {
		return pathErr(op, name, fs.ErrExist)
	}
	p, base, err := f.parent(op, name)
	if err != nil {
		return err
	}
	if _, ok := p.children[base]; ok {
		return pathErr(op, name, fs.ErrExist)
	}
	d := newDir()
	p.children[base] = d
	p.modTime = d.modTime
	return nil
}

// RemoveDir deletes an empty directory. A directory with entries yields
// storage.ErrNotEmpty, a file storage.ErrNotDir and the root
// fs.ErrPermission.
func (f *FS) RemoveDir(ctx context.Context, name string) error {
	const op = "rmdir"
	if err := begin(ctx, op, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "." {
		return pathErr(op, name, fs.ErrPermission)
	}
	p, base, err := f.parent(op, name)
	if err != nil {
		return err
	}
	n, ok := p.children[base]
	switch {
	case !ok:
		return pathErr(op, name, fs.ErrNotExist)
	case !n.dir:
		return pathErr(op, name, storage.ErrNotDir)
	case len(n.children) > 0:
		return pathErr(op, name, storage.ErrNotEmpty)
	}
	delete(p.children, base)
	p.modTime = time.Now()
	return nil
}

// Rename moves a file or directory, as os.Rename does: an existing file
// destination is replaced by a file; an existing directory destination
// yields fs.ErrExist, and a file destination for a directory
// storage.ErrNotDir. A directory cannot move into itself (fs.ErrInvalid) and
// the root cannot move (fs.ErrPermission).
func (f *FS) Rename(ctx context.Context, from, to string) error {
	const op = "rename"
	if err := begin(ctx, op, from, to); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if from == "." || to == "." {
		return pathErr(op, from, fs.ErrPermission)
	}
	sp, sbase, err := f.parent(op, from)
	if err != nil {
		return err
	}
	src, ok := sp.children[sbase]
	if !ok {
		return pathErr(op, from, fs.ErrNotExist)
	}
	if from == to {
		return nil
	}
	if src.dir && strings.HasPrefix(to, from+"/") {
		return pathErr(op, to, fs.ErrInvalid)
	}
	dp, dbase, err := f.parent(op, to)
	if err != nil {
		return err
	}
	if dst, ok := dp.children[dbase]; ok {
		switch {
		case dst.dir:
			return pathErr(op, to, fs.ErrExist)
		case src.dir:
			return pathErr(op, to, storage.ErrNotDir)
		}
	}
	delete(sp.children, sbase)
	dp.children[dbase] = src
	now := time.Now()
	sp.modTime, dp.modTime = now, now
	return nil
}

// Chmod sets the permission bits of a file or directory. Bits outside 0777
// yield fs.ErrInvalid.
func (f *FS) Chmod(ctx context.Context, name string, mode fs.FileMode) error {
	const op = "chmod"
	if err := begin(ctx, op, name); err != nil {
		return err
	}
	if mode&^fs.ModePerm != 0 {
		return pathErr(op, name, fs.ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.walk(op, name)
	if err != nil {
		return err
	}
	n.perm = mode
	return nil
}

// Chtimes sets the modification time of a file or directory.
func (f *FS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	const op = "chtimes"
	if err := begin(ctx, op, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.walk(op, name)
	if err != nil {
		return err
	}
	n.modTime = mtime
	return nil
}

// WriteFile creates or replaces the named file with a copy of data. The
// parent directory must exist. It is a helper for tests.
func (f *FS) WriteFile(name string, data []byte) error {
	const op = "writefile"
	if err := storage.CheckName(op, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "." {
		return pathErr(op, name, storage.ErrIsDir)
	}
	p, base, err := f.parent(op, name)
	if err != nil {
		return err
	}
	n, ok := p.children[base]
	if ok && n.dir {
		return pathErr(op, name, storage.ErrIsDir)
	}
	now := time.Now()
	if !ok {
		n = &node{perm: fileMode}
		p.children[base] = n
		p.modTime = now
	}
	n.data = slices.Clone(data)
	n.modTime = now
	return nil
}

// ReadFile returns a copy of the named file's content. It is a helper for
// tests.
func (f *FS) ReadFile(name string) ([]byte, error) {
	const op = "readfile"
	if err := storage.CheckName(op, name); err != nil {
		return nil, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n, err := f.walk(op, name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, pathErr(op, name, storage.ErrIsDir)
	}
	return bytes.Clone(n.data), nil
}

// MkdirAll creates the named directory and any missing parents. It is a
// helper for tests.
func (f *FS) MkdirAll(name string) error {
	const op = "mkdirall"
	if err := storage.CheckName(op, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "." {
		return nil
	}
	elems := strings.Split(name, "/")
	for i := range elems {
		prefix := strings.Join(elems[:i+1], "/")
		n, err := f.walk(op, prefix)
		switch {
		case err == nil && n.dir:
			continue
		case err == nil:
			return pathErr(op, prefix, storage.ErrNotDir)
		}
		if err := f.mkdir(op, prefix); err != nil {
			return err
		}
	}
	return nil
}
