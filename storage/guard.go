package storage

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Op names an FS operation for a Guard's check function.
type Op string

// The operations a Guard reports. Rename is checked twice, once for each
// name; CheckCreate is checked as OpCreate.
const (
	OpStat    Op = "stat"
	OpReadDir Op = "readdir"
	OpOpen    Op = "open"
	OpCreate  Op = "create"
	OpRemove  Op = "remove"
	OpMkdir   Op = "mkdir"
	OpRmdir   Op = "rmdir"
	OpRename  Op = "rename"
	OpChmod   Op = "chmod"
	OpChtimes Op = "chtimes"
)

// Guard wraps fsys so that check runs before every operation, with the
// operation and the name it is about; an error from check is returned
// instead of calling fsys (return an error matching fs.ErrPermission for
// a "550 Permission denied.", or an *ftp.Error for a reply of your own).
// Use it to refuse names, to log or count operations, or to enforce a
// policy in front of any backend.
//
// Unlike a hand-written wrapper that embeds FS, the result keeps fsys's
// optional interfaces: it implements Chmoder, Chtimeser and CreateChecker,
// passing the call on (after check) when fsys implements them and
// answering errors.ErrUnsupported when it does not, which the server
// treats exactly as a backend without the interface (SITE CHMOD and MFMT
// get 502; uploads skip the pre-check). Readers and writers are fsys's own,
// so zero-copy transfers, Aborter (resume after an interrupted upload) and
// Discarder keep working.
func Guard(fsys FS, check func(ctx context.Context, op Op, name string) error) FS {
	return &guarded{fs: fsys, check: check}
}

type guarded struct {
	fs    FS
	check func(ctx context.Context, op Op, name string) error
}

func (g *guarded) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := g.check(ctx, OpStat, name); err != nil {
		return nil, err
	}
	return g.fs.Stat(ctx, name)
}

func (g *guarded) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	if err := g.check(ctx, OpReadDir, name); err != nil {
		return nil, err
	}
	return g.fs.ReadDir(ctx, name)
}

func (g *guarded) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	if err := g.check(ctx, OpOpen, name); err != nil {
		return nil, err
	}
	return g.fs.Open(ctx, name, offset)
}

func (g *guarded) Create(ctx context.Context, name string, opts CreateOptions) (io.WriteCloser, error) {
	if err := g.check(ctx, OpCreate, name); err != nil {
		return nil, err
	}
	return g.fs.Create(ctx, name, opts)
}

func (g *guarded) Remove(ctx context.Context, name string) error {
	if err := g.check(ctx, OpRemove, name); err != nil {
		return err
	}
	return g.fs.Remove(ctx, name)
}

func (g *guarded) Mkdir(ctx context.Context, name string) error {
	if err := g.check(ctx, OpMkdir, name); err != nil {
		return err
	}
	return g.fs.Mkdir(ctx, name)
}

func (g *guarded) RemoveDir(ctx context.Context, name string) error {
	if err := g.check(ctx, OpRmdir, name); err != nil {
		return err
	}
	return g.fs.RemoveDir(ctx, name)
}

func (g *guarded) Rename(ctx context.Context, from, to string) error {
	if err := g.check(ctx, OpRename, from); err != nil {
		return err
	}
	if err := g.check(ctx, OpRename, to); err != nil {
		return err
	}
	return g.fs.Rename(ctx, from, to)
}

// Chmod implements Chmoder.
func (g *guarded) Chmod(ctx context.Context, name string, mode fs.FileMode) error {
	c, ok := g.fs.(Chmoder)
	if !ok {
		return errors.ErrUnsupported
	}
	if err := g.check(ctx, OpChmod, name); err != nil {
		return err
	}
	return c.Chmod(ctx, name, mode)
}

// Chtimes implements Chtimeser.
func (g *guarded) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	c, ok := g.fs.(Chtimeser)
	if !ok {
		return errors.ErrUnsupported
	}
	if err := g.check(ctx, OpChtimes, name); err != nil {
		return err
	}
	return c.Chtimes(ctx, name, mtime)
}

// CheckCreate implements CreateChecker.
func (g *guarded) CheckCreate(ctx context.Context, name string, opts CreateOptions) error {
	if err := g.check(ctx, OpCreate, name); err != nil {
		return err
	}
	c, ok := g.fs.(CreateChecker)
	if !ok {
		return errors.ErrUnsupported
	}
	return c.CheckCreate(ctx, name, opts)
}
