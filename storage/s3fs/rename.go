package s3fs

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/ferryftp/ferry/storage"
)

// maxCopyObject is the largest object a single CopyObject request copies;
// larger ones are copied in parts.
const maxCopyObject = 5 << 30

// Rename moves a file or a directory with server-side copies followed by
// deletes. A file replaces an existing file; an existing directory
// destination yields fs.ErrExist, and a file destination for a directory
// storage.ErrNotDir.
//
// A directory is moved object by object: every object under it is copied
// to the new prefix, then the originals are deleted. This is not atomic:
// while it runs, and after a failure part way, objects can be found under
// both names (a failed copy deletes nothing, so no data is lost). Partial
// uploads inside the directory are discarded.
func (f *FS) Rename(ctx context.Context, from, to string) error {
	const op = "rename"
	if err := begin(ctx, op, from); err != nil {
		return err
	}
	if err := begin(ctx, op, to); err != nil {
		return err
	}
	if from == "." || to == "." {
		return &fs.PathError{Op: op, Path: from, Err: fs.ErrPermission}
	}
	src, err := f.stat(ctx, op, from)
	if err != nil {
		return err
	}
	if from == to {
		return nil
	}
	if src.dir && strings.HasPrefix(to, from+"/") {
		return &fs.PathError{Op: op, Path: from, Err: fs.ErrInvalid}
	}
	if err := f.statDir(ctx, op, path.Dir(to)); err != nil {
		return err
	}
	dst, err := f.stat(ctx, op, to)
	switch {
	case err == nil && dst.dir:
		return &fs.PathError{Op: op, Path: to, Err: fs.ErrExist}
	case err == nil && src.dir:
		return &fs.PathError{Op: op, Path: to, Err: storage.ErrNotDir}
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
	default:
		return err
	}
	if !src.dir {
		if f.busy(f.key(from)) {
			return &fs.PathError{Op: op, Path: from, Err: storage.ErrBusy}
		}
		if err := f.copyObject(ctx, f.key(from), f.key(to), src.size); err != nil {
			return f.mapErr(ctx, op, from, err)
		}
		return f.mapErr(ctx, op, from, f.client.RemoveObject(ctx, f.bucket, f.key(from), minio.RemoveObjectOptions{}))
	}
	return f.renameDir(ctx, op, from, to)
}

// renameDir copies every object under from to the same place under to,
// then deletes the originals.
func (f *FS) renameDir(ctx context.Context, op, from, to string) error {
	oldPrefix, newPrefix := f.dirKey(from), f.dirKey(to)
	type object struct {
		key  string
		size int64
	}
	var objects, parts []object
	for oi := range f.client.ListObjectsIter(ctx, f.bucket, minio.ListObjectsOptions{Prefix: oldPrefix, Recursive: true}) {
		if oi.Err != nil {
			return f.mapErr(ctx, op, from, oi.Err)
		}
		if strings.HasPrefix(path.Base(oi.Key), partPrefix) && !strings.HasSuffix(oi.Key, "/") {
			if f.busy(partialTarget(oi.Key)) {
				return &fs.PathError{Op: op, Path: from, Err: storage.ErrBusy}
			}
			parts = append(parts, object{oi.Key, oi.Size})
			continue
		}
		if f.busy(oi.Key) {
			return &fs.PathError{Op: op, Path: from, Err: storage.ErrBusy}
		}
		objects = append(objects, object{oi.Key, oi.Size})
	}
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: op, Path: from, Err: err}
	}
	hasMarker := false
	for _, o := range objects {
		hasMarker = hasMarker || o.key == oldPrefix
		dst := newPrefix + strings.TrimPrefix(o.key, oldPrefix)
		var err error
		if strings.HasSuffix(o.key, "/") && o.size == 0 {
			// A marker is made anew: some servers refuse to copy one.
			_, err = f.core.PutObject(ctx, f.bucket, dst, strings.NewReader(""), 0, "", "", minio.PutObjectOptions{})
		} else {
			err = f.copyObject(ctx, o.key, dst, o.size)
		}
		if err != nil {
			return f.mapErr(ctx, op, from, err)
		}
	}
	if !hasMarker {
		// Keep the new directory even if it was implicit and empties later.
		if _, err := f.core.PutObject(ctx, f.bucket, newPrefix, strings.NewReader(""), 0, "", "", minio.PutObjectOptions{}); err != nil {
			return f.mapErr(ctx, op, to, err)
		}
	}
	for _, p := range parts {
		if err := f.discardPartial(ctx, p.key); err != nil {
			return f.mapErr(ctx, op, from, err)
		}
	}
	// Delete the deepest keys first, so that the marker goes last.
	for i := len(objects) - 1; i >= 0; i-- {
		if err := f.client.RemoveObject(ctx, f.bucket, objects[i].key, minio.RemoveObjectOptions{}); err != nil {
			return f.mapErr(ctx, op, from, err)
		}
	}
	return nil
}

// copyObject copies src to dst on the server, in parts when it is larger
// than one CopyObject request allows.
func (f *FS) copyObject(ctx context.Context, src, dst string, size int64) error {
	srcOpts := minio.CopySrcOptions{Bucket: f.bucket, Object: src}
	dstOpts := minio.CopyDestOptions{Bucket: f.bucket, Object: dst}
	if size <= maxCopyObject {
		_, err := f.client.CopyObject(ctx, dstOpts, srcOpts)
		return err
	}
	_, err := f.client.ComposeObject(ctx, dstOpts, srcOpts)
	return err
}
