package ftpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/hashpipe"
)

// MinSegment is the smallest segment DownloadSegmented makes; smaller files
// are downloaded in one stream.
const MinSegment = 1 << 20

// SegmentStateSuffix is added to a segmented download's destination name
// for its status file, which records how far each segment got. It lives
// beside the partial file while the download is incomplete and is removed
// when the download succeeds.
const SegmentStateSuffix = ".ferry-segments"

// segmentState is the status file's content.
type segmentState struct {
	Remote   string     `json:"remote"`
	Size     int64      `json:"size"`
	Segments []*segment `json:"segments"`
}

type segment struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Done  int64 `json:"done"` // bytes written from Start

	done atomic.Int64
}

// MarshalJSON writes the segment with its live progress.
func (s *segment) MarshalJSON() ([]byte, error) {
	type plain struct{ Start, End, Done int64 }
	return json.Marshal(plain{s.Start, s.End, s.done.Load()})
}

func loadSegmentState(name, remote string, size int64) *segmentState {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	var st segmentState
	if json.Unmarshal(b, &st) != nil || st.Remote != remote || st.Size != size || len(st.Segments) == 0 {
		return nil
	}
	for _, s := range st.Segments {
		if s.Start < 0 || s.End > size || s.Start > s.End || s.Done < 0 || s.Done > s.End-s.Start {
			return nil
		}
		s.done.Store(s.Done)
	}
	return &st
}

func (st *segmentState) save(name string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// split makes n segments of [from, size).
func split(from, size int64, n int) []*segment {
	segs := make([]*segment, 0, n)
	each := (size - from) / int64(n)
	for i := range n {
		s := &segment{Start: from + int64(i)*each, End: from + int64(i+1)*each}
		if i == n-1 {
			s.End = size
		}
		segs = append(segs, s)
	}
	return segs
}

// DownloadSegmented downloads remote into local over up to segments
// parallel connections, each fetching one byte range (REST offset, then ABOR
// once its range is read). Every segment is retried and resumed on its own.
// Segments are capped by the Client's MaxConns. Progress, when non-nil, is
// called with each chunk's size from several goroutines (and once at the
// start with the bytes a resumed download already has).
//
// With o.Resume, an interrupted segmented download continues segment by
// segment from its status file (local + SegmentStateSuffix); a partial file
// without one (left by a one-stream download) keeps its bytes and the rest
// is fetched in segments. With o.Verify and CRC32, each segment is hashed
// by reading it back once it is complete (while others still arrive) and
// the CRCs are combined; with other algorithms the file is hashed once
// after the download (segments arrive out of order, and those digests
// cannot be computed out of order), while the server's digest is asked
// for; when the pool has a
// connection more than there are segments, that HASH is asked at the start,
// so the server hashes while it sends.
func (cl *Client) DownloadSegmented(ctx context.Context, remote, local string, segments int, o TransferOptions, progress func(n int64)) (int64, error) {
	var size int64
	var algo string
	if err := cl.Do(ctx, func(c *Conn) error {
		var err error
		size, err = c.Size(ctx, remote)
		algo = c.hashChoice()
		return err
	}); err != nil {
		return 0, err
	}
	stateName := local + SegmentStateSuffix
	var st *segmentState
	var from int64
	if o.Resume {
		st = loadSegmentState(stateName, remote, size)
		if _, err := os.Stat(stateName); st == nil && err == nil {
			// A status file for another file or size: the partial file
			// is full-size with holes, so nothing in it can be trusted.
			os.Remove(stateName)
			o.Resume = false
		} else if st == nil {
			if fi, err := os.Stat(local); err == nil && fi.Size() <= size {
				from = fi.Size()
			}
		}
	}
	if st == nil {
		if segments > 1 && (size-from)/int64(segments) < MinSegment {
			segments = int((size - from) / MinSegment)
		}
		if segments <= 1 {
			if progress != nil && o.WrapWriter == nil {
				o.WrapWriter = func(w io.Writer) io.Writer { return progressWriter{w, progress} }
			}
			if progress != nil && o.Resume && from > 0 {
				progress(from)
			}
			os.Remove(stateName)
			return cl.Download(ctx, remote, local, TransferOptions{Resume: o.Resume, Verify: o.Verify, WrapWriter: o.WrapWriter, Phase: o.Phase})
		}
		st = &segmentState{Remote: remote, Size: size, Segments: split(from, size, segments)}
	}
	flags := os.O_WRONLY | os.O_CREATE
	if !o.Resume {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(local, flags, 0o644)
	if err != nil {
		return 0, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return 0, err
	}
	f.Close()
	if progress != nil {
		have := st.Segments[0].Start
		for _, s := range st.Segments {
			have += s.done.Load()
		}
		if have > 0 {
			progress(have)
		}
	}
	if err := st.save(stateName); err != nil {
		return 0, err
	}

	var parts *crcParts // CRC32: each segment hashed once complete
	if o.Verify && algo == "CRC32" {
		parts = segmentParts(local, st.Segments, size)
	}
	if parts != nil && st.Segments[0].Start > 0 {
		parts.done(0) // the part a resumed download already had
	}
	// (An empty range 0 needs no hashing: newCRCParts counts it as done.)
	var early *remoteHash
	if o.Verify && size-from >= earlyHashAfter && cl.maxConns() > len(st.Segments) {
		// A connection to spare: the server hashes while it sends.
		early = &remoteHash{}
		early.start(context.WithoutCancel(ctx), cl, remote)
		defer early.stop()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		total    atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	// Save the status file now and then while segments run.
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				st.save(stateName)
			case <-ctx.Done():
				return
			}
		}
	}()
	for i, s := range st.Segments {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cl.fetchRange(ctx, remote, local, s, s.End == size, &total, progress)
			if err != nil {
				errOnce.Do(func() { firstErr = err; cancel() })
				return
			}
			if segmentDoneHook != nil {
				segmentDoneHook(local, s)
			}
			parts.done(i + 1)
		}()
	}
	wg.Wait()
	cancel()
	<-saved
	if firstErr != nil {
		st.save(stateName)
		return total.Load(), firstErr
	}
	os.Remove(stateName)
	if o.Verify {
		err = cl.verifyLocal(context.WithoutCancel(ctx), remote, local, early, o, parts)
	}
	return total.Load(), err
}

// segmentParts returns the CRC ranges of a segmented download: the part
// before the first segment (range 0, maybe empty), then one per segment;
// nil if the segments do not tile the file up to size.
func segmentParts(local string, segs []*segment, size int64) *crcParts {
	ends := []int64{segs[0].Start}
	for i, s := range segs {
		if s.Start != ends[i] || s.End < s.Start {
			return nil
		}
		ends = append(ends, s.End)
	}
	if ends[len(ends)-1] != size {
		return nil
	}
	return newCRCParts(local, ends)
}

// verifyLocal verifies a download whose bytes could not be hashed as they
// arrived (a segmented one): with CRC32 it combines the CRCs of the
// segments (parts), which were read back as each segment completed;
// otherwise it reads the local file once, while the server's digest is
// asked for (or was asked for during the transfer).
func (cl *Client) verifyLocal(ctx context.Context, remote, local string, early *remoteHash, o TransferOptions, parts *crcParts) error {
	var algo string
	if err := cl.Do(ctx, func(c *Conn) error { algo = c.hashChoice(); return nil }); err != nil {
		return err
	}
	if algo == "" {
		return cl.verify(ctx, remote, local, nil, nil, o) // by size
	}
	o.phase("verifying " + algo)
	type sum struct {
		b   []byte
		err error
	}
	localSum := make(chan sum, 1)
	go func() {
		if algo == "CRC32" && parts != nil {
			if b, ok := parts.sum(); ok {
				localSum <- sum{b, nil}
				return
			}
		}
		b, err := fileDigest(local, algo)
		localSum <- sum{b, err}
	}()
	ralgo, rsum, ok := early.result()
	if !ok || !strings.EqualFold(ralgo, algo) {
		err := cl.Do(ctx, func(c *Conn) error {
			var err error
			ralgo, rsum, err = c.Hash(ctx, remote)
			return err
		})
		var fe *ftp.Error
		if errors.As(err, &fe) {
			<-localSum
			return cl.Do(ctx, func(c *Conn) error { return c.verifySize(ctx, remote, local) })
		}
		if err != nil {
			<-localSum
			return err
		}
	}
	ls := <-localSum
	if ls.err != nil {
		return ls.err
	}
	if !strings.EqualFold(ralgo, algo) {
		return cl.Do(ctx, func(c *Conn) error { return c.Verify(ctx, remote, local) })
	}
	if string(rsum) != string(ls.b) {
		return fmt.Errorf("%w: %s: server %s %x, local %x", ErrVerify, remote, ralgo, rsum, ls.b)
	}
	return nil
}

// segmentDoneHook and fileDigestHook, when set (by tests), are told when
// a segment is complete and when a whole file is read to be hashed.
var (
	segmentDoneHook func(local string, s *segment)
	fileDigestHook  func(name string)
)

// fileDigest reads name once and returns its digest with algo.
func fileDigest(name, algo string) ([]byte, error) {
	if fileDigestHook != nil {
		fileDigestHook(name)
	}
	h := NewHash(algo)
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Large reads; the struct hides os.File's WriteTo (32 KiB buffers).
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, make([]byte, hashpipe.Chunk)); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func (cl *Client) fetchRange(ctx context.Context, remote, local string, s *segment, last bool, total *atomic.Int64, progress func(int64)) error {
	f, err := os.OpenFile(local, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return cl.Do(ctx, func(c *Conn) error {
		off := s.Start + s.done.Load()
		if off >= s.End {
			return nil
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		// An *os.File alone keeps splice, and the bytes are counted when
		// the transfer returns; with progress, each write is counted after
		// it reached the file. Either way the status file never claims
		// bytes that were not written.
		var w io.Writer = f
		counting := progress != nil
		if counting {
			w = segmentWriter{f, s, total, progress}
		}
		w = cl.limitWriter(ctx, w)
		var n int64
		var err error
		if last {
			n, err = c.Retr(ctx, remote, off, w)
		} else {
			n, err = c.RetrRange(ctx, remote, off, s.End-off, w)
		}
		if !counting {
			s.done.Add(n)
			total.Add(n)
		}
		if err != nil && s.Start+s.done.Load() >= s.End && errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
}

type segmentWriter struct {
	f        *os.File
	s        *segment
	total    *atomic.Int64
	progress func(int64)
}

func (w segmentWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.s.done.Add(int64(n))
	w.total.Add(int64(n))
	if w.progress != nil {
		w.progress(int64(n))
	}
	return n, err
}

type progressWriter struct {
	w  io.Writer
	fn func(int64)
}

func (p progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.fn(int64(n))
	return n, err
}
