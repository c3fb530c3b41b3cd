package s3fs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/storage"
)

// Metadata of a partial-upload object (see Create).
const (
	metaUploadID = "Ferry-Upload-Id" // the multipart upload kept open
	metaBase     = "Ferry-Base"      // bytes in that upload's parts
)

// cleanupTimeout bounds the requests that keep or discard an upload after
// its context has ended.
const cleanupTimeout = time.Minute

// Create opens name for writing as opts describe. The writer keeps one
// part buffer (Options.PartSize bytes at most) and implements
// io.ReaderFrom, storage.Aborter and storage.Discarder:
//   - Data goes to S3 in parts of PartSize bytes through a multipart
//     upload, started when the first part is full; a file smaller than one
//     part is sent with a single PUT on Close. Nothing appears under name
//     before Close returns without error.
//   - Abort (and a failed Close) publishes nothing under name. It keeps the
//     data written so far for a resume: the bytes still in the buffer go to
//     the hidden object ".ferry-part.<base>" beside name, and the parts
//     already uploaded stay in the multipart upload, left open; that object
//     records the upload's id. Partial objects never appear in listings.
//   - Offset N (REST + STOR) continues a partial upload when it holds at
//     least N bytes and N is not inside one of its uploaded parts (those
//     cannot be read back); otherwise it keeps the first N bytes of the
//     existing file: whole parts of it are copied on the server
//     (UploadPartCopy) and the remainder, less than one part, is read back
//     into the buffer. Neither holding N bytes yields fs.ErrInvalid.
//   - Append is Offset at the existing file's size, or a new file.
//   - Exclusive fails with fs.ErrExist when name exists at Create and
//     again just before the object is published; an object created by
//     someone else between that check and the upload's end is replaced.
//   - Discard (a server-side failure) publishes nothing and removes what
//     the upload wrote: the buffer, the multipart upload, the partial
//     object.
//   - A plain upload (no Offset) discards any partial upload of name.
//
// A second upload to the same name through the same FS while one is in
// progress yields storage.ErrBusy. A file larger than 10,000 parts fails
// with a 552 *ftp.Error.
func (f *FS) Create(ctx context.Context, name string, opts storage.CreateOptions) (io.WriteCloser, error) {
	const op = "create"
	final, err := f.planCreate(ctx, op, name, opts)
	if err != nil {
		return nil, err
	}
	key := f.key(name)
	if !f.claim(key) {
		return nil, &fs.PathError{Op: op, Path: name, Err: storage.ErrBusy}
	}
	w := &writer{f: f, ctx: ctx, name: name, key: key, partKey: partialKey(key), exclusive: opts.Exclusive}
	if err := w.prepare(opts, final); err != nil {
		w.abortUpload()
		f.release(key)
		return nil, err
	}
	return w, nil
}

// CheckCreate reports the error Create would return for the refusals it
// can see with a few HEAD requests, changing nothing: a bad name, a
// missing parent directory, a directory in the way, a name taken for
// Exclusive, a resume offset past both the file and its partial upload.
func (f *FS) CheckCreate(ctx context.Context, name string, opts storage.CreateOptions) error {
	const op = "create"
	final, err := f.planCreate(ctx, op, name, opts)
	if err != nil || opts.Offset == 0 || (final != nil && final.size >= opts.Offset) {
		return err
	}
	p, err := f.headPartial(ctx, op, name, partialKey(f.key(name)))
	switch {
	case err != nil:
		return err
	case p == nil || p.base+p.size < opts.Offset:
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return nil
}

// planCreate makes the checks that Create and CheckCreate share and
// returns the existing file, or nil when there is none.
func (f *FS) planCreate(ctx context.Context, op, name string, opts storage.CreateOptions) (*fileInfo, error) {
	if err := begin(ctx, op, name); err != nil {
		return nil, err
	}
	if name == "." {
		return nil, &fs.PathError{Op: op, Path: name, Err: storage.ErrIsDir}
	}
	if opts.Offset < 0 {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if err := f.statDir(ctx, op, path.Dir(name)); err != nil {
		return nil, err
	}
	final, err := f.stat(ctx, op, name)
	switch {
	case err == nil && final.dir:
		return nil, &fs.PathError{Op: op, Path: name, Err: storage.ErrIsDir}
	case err == nil && opts.Exclusive:
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrExist}
	case err == nil:
		return final, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	}
	return nil, err
}

// partialKey is the key of the partial-upload object for key.
func partialKey(key string) string {
	i := strings.LastIndexByte(key, '/') + 1
	return key[:i] + partPrefix + key[i:]
}

// partialTarget is the key a partial-upload object belongs to.
func partialTarget(partKey string) string {
	i := strings.LastIndexByte(partKey, '/') + 1
	return partKey[:i] + strings.TrimPrefix(partKey[i:], partPrefix)
}

// partial describes a partial-upload object.
type partial struct {
	size     int64  // bytes in the object itself
	uploadID string // the open multipart upload holding the bytes before them, if any
	base     int64  // bytes in that upload's parts
}

// headPartial describes the partial-upload object partKey, or returns nil
// when there is none.
func (f *FS) headPartial(ctx context.Context, op, name, partKey string) (*partial, error) {
	oi, err := f.client.StatObject(ctx, f.bucket, partKey, minio.StatObjectOptions{})
	if err != nil {
		if err = f.mapErr(ctx, op, name, err); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	p := &partial{size: oi.Size}
	for k, v := range oi.UserMetadata {
		k = strings.ToLower(strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-"))
		switch k {
		case strings.ToLower(metaUploadID):
			p.uploadID = v
		case strings.ToLower(metaBase):
			p.base, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if p.uploadID == "" || p.base <= 0 {
		p.uploadID, p.base = "", 0
	}
	return p, nil
}

// discardPartial deletes the partial-upload object partKey and aborts the
// multipart upload it records.
func (f *FS) discardPartial(ctx context.Context, partKey string) error {
	p, err := f.headPartial(ctx, "discard", partKey, partKey)
	if err != nil || p == nil {
		return err
	}
	if p.uploadID != "" {
		err := f.core.AbortMultipartUpload(ctx, f.bucket, partialTarget(partKey), p.uploadID)
		if err != nil && !errors.Is(f.mapErr(ctx, "discard", partKey, err), fs.ErrNotExist) {
			return err
		}
	}
	return f.client.RemoveObject(ctx, f.bucket, partKey, minio.RemoveObjectOptions{})
}

// writer streams an upload through one part buffer.
type writer struct {
	f         *FS
	ctx       context.Context
	name      string
	key       string
	partKey   string
	exclusive bool

	buf      []byte // data not yet sent; cap(buf) <= f.partSize
	uploadID string // the multipart upload, once started
	parts    []minio.CompletePart
	sent     int64 // bytes in parts
	shortEnd bool  // the last uploaded part is shorter than a full part
	resumed  bool  // the upload continues the partial object, to delete on success

	err       error // the first failure; later writes return it
	closed    bool
	published bool // Close succeeded
	discarded bool // Discard ran
}

// prepare positions a new writer as opts say; final describes the existing
// file or is nil.
func (w *writer) prepare(opts storage.CreateOptions, final *fileInfo) error {
	const op = "create"
	f := w.f
	p, err := f.headPartial(w.ctx, op, w.name, w.partKey)
	if err != nil {
		return err
	}
	if opts.Offset > 0 && p != nil {
		ok, err := w.resume(p, opts.Offset)
		if ok || err != nil {
			return err
		}
	}
	offset := opts.Offset
	if opts.Append && final != nil {
		offset = final.size
	}
	if opts.Offset > 0 && (final == nil || final.size < opts.Offset) {
		return &fs.PathError{Op: op, Path: w.name, Err: fs.ErrInvalid}
	}
	if p != nil {
		if err := f.discardPartial(w.ctx, w.partKey); err != nil {
			return f.mapErr(w.ctx, op, w.name, err)
		}
	}
	if offset > 0 {
		return w.seed(offset)
	}
	return nil
}

// resume continues the partial upload p at offset n if it can, and
// reports whether it did.
func (w *writer) resume(p *partial, n int64) (bool, error) {
	const op = "create"
	f := w.f
	if n < p.base || n > p.base+p.size || n-p.base > f.partSize {
		return false, nil
	}
	if p.uploadID != "" {
		var parts []minio.CompletePart
		var sum int64
		marker := 0
		for {
			res, err := f.core.ListObjectParts(w.ctx, f.bucket, w.key, p.uploadID, marker, 1000)
			if err != nil {
				if err = f.mapErr(w.ctx, op, w.name, err); errors.Is(err, fs.ErrNotExist) {
					return false, nil // the upload expired or was aborted
				}
				return false, err
			}
			for _, op := range res.ObjectParts {
				parts = append(parts, minio.CompletePart{PartNumber: op.PartNumber, ETag: op.ETag})
				sum += op.Size
				if op.PartNumber != len(parts) || op.Size < MinPartSize {
					return false, nil
				}
			}
			if !res.IsTruncated {
				break
			}
			marker = res.NextPartNumberMarker
		}
		if sum != p.base {
			return false, nil
		}
		w.uploadID, w.parts, w.sent = p.uploadID, parts, sum
	}
	if err := w.readInto(w.partKey, 0, n-p.base); err != nil {
		w.uploadID, w.parts, w.sent = "", nil, 0 // still recorded by the partial object
		return false, err
	}
	w.resumed = true
	return true, nil
}

// seed starts the upload with the first n bytes of the existing object:
// whole parts copied on the server, the rest read into the buffer.
func (w *writer) seed(n int64) error {
	const op = "create"
	f := w.f
	whole := n / f.partSize
	if whole >= maxParts {
		return tooLarge()
	}
	for i := range whole {
		if err := w.start(); err != nil {
			return err
		}
		cp, err := f.core.CopyObjectPart(w.ctx, f.bucket, w.key, f.bucket, w.key, w.uploadID,
			int(i)+1, i*f.partSize, f.partSize, nil)
		if err != nil {
			return f.mapErr(w.ctx, op, w.name, err)
		}
		w.parts = append(w.parts, cp)
		w.sent += f.partSize
	}
	return w.readInto(w.key, whole*f.partSize, n-whole*f.partSize)
}

// readInto appends n bytes of object key, from offset start, to the buffer.
func (w *writer) readInto(key string, start, n int64) error {
	const op = "create"
	if n == 0 {
		return nil
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(start, start+n-1); err != nil {
		return &fs.PathError{Op: op, Path: w.name, Err: fs.ErrInvalid}
	}
	body, _, _, err := w.f.core.GetObject(w.ctx, w.f.bucket, key, opts)
	if err != nil {
		return w.f.mapErr(w.ctx, op, w.name, err)
	}
	defer body.Close()
	w.grow(int(n))
	m, err := io.ReadFull(body, w.buf[len(w.buf):len(w.buf)+int(n)])
	w.buf = w.buf[:len(w.buf)+m]
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &fs.PathError{Op: op, Path: w.name, Err: fs.ErrInvalid} // it shrank meanwhile
	case err != nil:
		return w.f.mapErr(w.ctx, op, w.name, err)
	}
	return nil
}

func tooLarge() error {
	return &ftp.Error{Code: ftp.CodeExceededStorage, Message: "File too large for the object store (more than 10000 upload parts)."}
}

// grow makes room for at least want more bytes in the buffer, if the
// buffer is not yet a full part, doubling its capacity up to PartSize.
func (w *writer) grow(want int) {
	limit := int(w.f.partSize)
	if cap(w.buf)-len(w.buf) >= want || cap(w.buf) >= limit {
		return
	}
	n := max(2*cap(w.buf), len(w.buf)+want, 64<<10)
	b := make([]byte, len(w.buf), min(n, limit))
	copy(b, w.buf)
	w.buf = b
}

// Write buffers p, sending a part whenever the buffer is full.
func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, &fs.PathError{Op: "write", Path: w.name, Err: fs.ErrClosed}
	}
	n := 0
	for len(p) > 0 {
		if w.err != nil {
			return n, w.err
		}
		if int64(len(w.buf)) == w.f.partSize {
			if w.flush(); w.err != nil {
				return n, w.err
			}
		}
		w.grow(len(p))
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p = p[c:]
		n += c
	}
	return n, nil
}

// ReadFrom reads r straight into the part buffer.
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	if w.closed {
		return 0, &fs.PathError{Op: "write", Path: w.name, Err: fs.ErrClosed}
	}
	var total int64
	for {
		if w.err != nil {
			return total, w.err
		}
		if int64(len(w.buf)) == w.f.partSize {
			if w.flush(); w.err != nil {
				return total, w.err
			}
		}
		w.grow(32 << 10)
		m, err := r.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+m]
		total += int64(m)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// start begins the multipart upload if it has not begun.
func (w *writer) start() error {
	if w.uploadID != "" {
		return nil
	}
	id, err := w.f.core.NewMultipartUpload(w.ctx, w.f.bucket, w.key, minio.PutObjectOptions{})
	if err != nil {
		return w.f.mapErr(w.ctx, "write", w.name, err)
	}
	w.uploadID = id
	return nil
}

// flush sends the buffer as the next part and empties it; a failure is
// kept in w.err.
func (w *writer) flush() {
	if len(w.parts) >= maxParts {
		w.err = tooLarge()
		return
	}
	if w.err = w.start(); w.err != nil {
		return
	}
	num := len(w.parts) + 1
	part, err := w.f.core.PutObjectPart(w.ctx, w.f.bucket, w.key, w.uploadID, num,
		bytes.NewReader(w.buf), int64(len(w.buf)), minio.PutObjectPartOptions{})
	if err != nil {
		w.err = w.f.mapErr(w.ctx, "write", w.name, err)
		return
	}
	w.parts = append(w.parts, minio.CompletePart{PartNumber: num, ETag: part.ETag})
	w.sent += int64(len(w.buf))
	w.shortEnd = int64(len(w.buf)) < MinPartSize
	w.buf = w.buf[:0]
}

// Close publishes the upload under its name. When it fails, the data is
// kept for a resume as Abort keeps it.
func (w *writer) Close() error {
	if w.closed {
		return &fs.PathError{Op: "close", Path: w.name, Err: fs.ErrClosed}
	}
	w.closed = true
	defer w.f.release(w.key)
	if err := w.publish(); err != nil {
		w.keep()
		return err
	}
	if w.resumed {
		// The partial object is now part of the file; its upload (if any)
		// was the one just completed.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), cleanupTimeout)
		defer cancel()
		w.f.client.RemoveObject(ctx, w.f.bucket, w.partKey, minio.RemoveObjectOptions{})
	}
	w.buf = nil
	w.published = true
	return nil
}

func (w *writer) publish() error {
	const op = "close"
	f := w.f
	if w.err != nil {
		return w.err
	}
	if err := w.ctx.Err(); err != nil {
		return &fs.PathError{Op: op, Path: w.name, Err: err}
	}
	if w.exclusive {
		if _, err := f.stat(w.ctx, op, w.name); err == nil {
			return &fs.PathError{Op: op, Path: w.name, Err: fs.ErrExist}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if w.uploadID == "" {
		_, err := f.core.PutObject(w.ctx, f.bucket, w.key, bytes.NewReader(w.buf), int64(len(w.buf)), "", "", minio.PutObjectOptions{})
		return f.mapErr(w.ctx, op, w.name, err)
	}
	if len(w.buf) > 0 || len(w.parts) == 0 {
		if w.flush(); w.err != nil {
			return w.err
		}
	}
	_, err := f.core.CompleteMultipartUpload(w.ctx, f.bucket, w.key, w.uploadID, w.parts, minio.PutObjectOptions{})
	return f.mapErr(w.ctx, op, w.name, err)
}

// Abort ends the upload without publishing it and keeps its data for a
// resume with an Offset (see Create).
func (w *writer) Abort() error {
	if w.closed {
		return &fs.PathError{Op: "abort", Path: w.name, Err: fs.ErrClosed}
	}
	w.closed = true
	defer w.f.release(w.key)
	return w.keep()
}

// Discard ends the upload and removes everything it wrote: the buffered
// data is dropped, the multipart upload aborted and the partial-upload
// object (one this upload resumed, or the one a failed Close or Abort
// kept) deleted. The object under name keeps its old content. After a
// successful Close it does nothing; after a failed one it leaves the
// partial alone if another upload of the name has begun since. It runs
// even when the upload's context has ended.
func (w *writer) Discard() error {
	if w.published || w.discarded {
		return nil
	}
	wasClosed := w.closed
	if wasClosed {
		if !w.f.claim(w.key) {
			w.discarded = true
			return nil // another upload of the name now owns its partial
		}
	}
	w.closed, w.discarded = true, true
	defer w.f.release(w.key)
	w.buf = nil
	w.abortUpload()
	if !wasClosed && !w.resumed {
		return nil // Create removed any older partial
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), cleanupTimeout)
	defer cancel()
	return w.f.mapErr(ctx, "discard", w.name, w.f.discardPartial(ctx, w.partKey))
}

// keep stores the buffered data in the partial object and leaves the
// multipart upload open, or, when the upload cannot be continued (its last
// part is short), aborts it. It runs even when the upload's context has
// ended.
func (w *writer) keep() error {
	const op = "abort"
	f := w.f
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), cleanupTimeout)
	defer cancel()
	defer func() { w.buf = nil }()
	if w.uploadID != "" && w.shortEnd {
		w.abortUpload()
		return nil
	}
	if w.uploadID == "" && len(w.buf) == 0 {
		if w.resumed {
			return f.mapErr(ctx, op, w.name, f.client.RemoveObject(ctx, f.bucket, w.partKey, minio.RemoveObjectOptions{}))
		}
		return nil
	}
	opts := minio.PutObjectOptions{}
	if w.uploadID != "" {
		opts.UserMetadata = map[string]string{metaUploadID: w.uploadID, metaBase: strconv.FormatInt(w.sent, 10)}
	}
	_, err := f.core.PutObject(ctx, f.bucket, w.partKey, bytes.NewReader(w.buf), int64(len(w.buf)), "", "", opts)
	if err != nil {
		w.abortUpload()
		return f.mapErr(ctx, op, w.name, err)
	}
	return nil
}

// abortUpload aborts the multipart upload, if any, even when the upload's
// context has ended.
func (w *writer) abortUpload() {
	if w.uploadID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), cleanupTimeout)
	defer cancel()
	w.f.core.AbortMultipartUpload(ctx, w.f.bucket, w.key, w.uploadID)
	w.uploadID, w.parts, w.sent = "", nil, 0
}
