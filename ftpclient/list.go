package ftpclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// maxListing bounds the size of one directory listing.
const maxListing = 64 << 20

func (c *Conn) useMLSx() bool {
	return !c.opts.DisableMLSx && c.HasFeature("MLST")
}

// List returns the entries of directory dir ("" for the working
// directory), without "." and "..". It uses MLSD when the server offers
// MLST and LIST otherwise, parsed with Options.ListParsers; LIST lines no
// parser understands are skipped.
func (c *Conn) List(ctx context.Context, dir string) ([]ftp.Entry, error) {
	if c.useMLSx() {
		var entries []ftp.Entry
		err := c.readLines(ctx, cmdWithArg("MLSD", dir), func(line string) error {
			e, err := ftp.ParseMLSxEntry(line)
			if err != nil {
				return nil
			}
			if e.Type == ftp.EntryCurDir || e.Type == ftp.EntryParDir || e.Name == "." || e.Name == ".." {
				return nil
			}
			e.Name = path.Base(e.Name)
			entries = append(entries, e)
			return nil
		})
		return entries, err
	}
	return c.ListRaw(ctx, dir)
}

// ListRaw lists dir with LIST and the LIST parsers, even when MLSD exists.
func (c *Conn) ListRaw(ctx context.Context, dir string) ([]ftp.Entry, error) {
	parsers := c.opts.ListParsers
	now := time.Now().UTC()
	var entries []ftp.Entry
	err := c.readLines(ctx, cmdWithArg("LIST", dir), func(line string) error {
		e, err := ftp.ParseListLine(line, now, parsers...)
		if err != nil || e.Name == "." || e.Name == ".." {
			return nil
		}
		entries = append(entries, e)
		return nil
	})
	return entries, err
}

// NameList returns the names NLST sends for dir.
func (c *Conn) NameList(ctx context.Context, dir string) ([]string, error) {
	var names []string
	err := c.readLines(ctx, cmdWithArg("NLST", dir), func(line string) error {
		if line != "" {
			names = append(names, line)
		}
		return nil
	})
	return names, err
}

func cmdWithArg(verb, arg string) string {
	if arg == "" {
		return verb
	}
	return verb + " " + arg
}

func (c *Conn) readLines(ctx context.Context, line string, fn func(string) error) error {
	return c.transfer(ctx, line, 0, func(conn net.Conn) error {
		sc := bufio.NewScanner(io.LimitReader(conn, maxListing))
		sc.Buffer(make([]byte, 0, 4096), 64<<10)
		for sc.Scan() {
			if err := fn(strings.TrimSuffix(sc.Text(), "\r")); err != nil {
				return err
			}
		}
		return sc.Err()
	})
}

// Stat describes one path: with MLST when the server offers it, otherwise
// with SIZE and MDTM (a path SIZE refuses but CWD accepts is a directory).
// A missing path gives an *ftp.Error (usually 550).
func (c *Conn) Stat(ctx context.Context, p string) (ftp.Entry, error) {
	if c.useMLSx() {
		rep, err := c.expect(ctx, 2, "MLST "+p)
		if err != nil {
			return ftp.Entry{}, err
		}
		for _, l := range rep.Lines[1:] {
			if e, err := ftp.ParseMLSxEntry(l); err == nil {
				e.Name = path.Base(e.Name)
				if e.Type == ftp.EntryCurDir {
					e.Type = ftp.EntryDir
				}
				return e, nil
			}
		}
		return ftp.Entry{}, fmt.Errorf("ftpclient: MLST %s: %w: no entry", p, ftp.ErrBadReply)
	}
	e := ftp.Entry{Name: path.Base(p)}
	size, err := c.Size(ctx, p)
	if err == nil {
		e.Size = size
		if t, err := c.ModTime(ctx, p); err == nil {
			e.ModTime = t
		}
		return e, nil
	}
	var fe *ftp.Error
	if !errors.As(err, &fe) {
		return ftp.Entry{}, err
	}
	wd, werr := c.Pwd(ctx)
	if werr != nil {
		return ftp.Entry{}, err
	}
	if c.Cwd(ctx, p) != nil {
		return ftp.Entry{}, err
	}
	if cerr := c.Cwd(ctx, wd); cerr != nil {
		return ftp.Entry{}, cerr
	}
	e.Type = ftp.EntryDir
	return e, nil
}

// WalkFunc is called by Walk for every entry; p is the full remote path.
// Returning fs.SkipDir on a directory skips it, fs.SkipAll stops the walk.
type WalkFunc func(p string, e ftp.Entry, err error) error

// Walk walks the tree under root in lexical order, like fs.WalkDir: root
// itself comes first, and a directory's error (from listing it) is passed
// to fn with the directory's entry.
func (c *Conn) Walk(ctx context.Context, root string, fn WalkFunc) error {
	e, err := c.Stat(ctx, root)
	if err != nil {
		err = fn(root, ftp.Entry{Name: path.Base(root), Type: ftp.EntryDir}, err)
	} else {
		err = c.walk(ctx, root, e, fn)
	}
	if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

func (c *Conn) walk(ctx context.Context, p string, e ftp.Entry, fn WalkFunc) error {
	if err := fn(p, e, nil); err != nil || !e.IsDir() {
		if errors.Is(err, fs.SkipDir) && e.IsDir() {
			return nil
		}
		return err
	}
	entries, err := c.List(ctx, p)
	if err != nil {
		if err := fn(p, e, err); err != nil {
			if errors.Is(err, fs.SkipDir) {
				return nil
			}
			return err
		}
		return nil
	}
	sortEntries(entries)
	for _, ce := range entries {
		if err := c.walk(ctx, path.Join(p, ce.Name), ce, fn); err != nil {
			return err
		}
	}
	return nil
}

func sortEntries(es []ftp.Entry) {
	slices.SortFunc(es, func(a, b ftp.Entry) int { return strings.Compare(a.Name, b.Name) })
}
