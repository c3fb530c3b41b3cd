package ftpclient

import (
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// MinSegment is the smallest segment DownloadSegmented makes; smaller files
// are downloaded in one stream.
const MinSegment = 1 << 20

// DownloadSegmented downloads remote into local over up to segments
// parallel connections, each fetching one byte range (REST offset, then ABOR
// once its range is read). Every segment is retried and resumed on its own.
// Segments are capped by the Client's MaxConns. Progress, when non-nil, is
// called with each chunk's size from several goroutines.
func (cl *Client) DownloadSegmented(ctx context.Context, remote, local string, segments int, o TransferOptions, progress func(n int64)) (int64, error) {
	var size int64
	if err := cl.Do(ctx, func(c *Conn) error {
		var err error
		size, err = c.Size(ctx, remote)
		return err
	}); err != nil {
		return 0, err
	}
	if segments > 1 && size/int64(segments) < MinSegment {
		segments = int(size / MinSegment)
	}
	if segments <= 1 {
		if progress != nil && o.WrapWriter == nil {
			o.WrapWriter = func(w io.Writer) io.Writer { return progressWriter{w, progress} }
		}
		return cl.Download(ctx, remote, local, TransferOptions{Verify: o.Verify, WrapWriter: o.WrapWriter})
	}
	f, err := os.OpenFile(local, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return 0, err
	}
	f.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		total    atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	seg := size / int64(segments)
	for i := 0; i < segments; i++ {
		start, end := int64(i)*seg, int64(i+1)*seg
		if i == segments-1 {
			end = size
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cl.fetchRange(ctx, remote, local, start, end, end == size, &total, progress)
			if err != nil {
				errOnce.Do(func() { firstErr = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return total.Load(), firstErr
	}
	if o.Verify {
		err = cl.Do(ctx, func(c *Conn) error { return c.Verify(ctx, remote, local) })
	}
	return total.Load(), err
}

func (cl *Client) fetchRange(ctx context.Context, remote, local string, start, end int64, last bool, total *atomic.Int64, progress func(int64)) error {
	f, err := os.OpenFile(local, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	done := int64(0)
	return cl.Do(ctx, func(c *Conn) error {
		off := start + done
		if off >= end {
			return nil
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		var w io.Writer = f // an *os.File keeps splice
		if progress != nil {
			w = progressWriter{f, progress}
		}
		var n int64
		var err error
		if last {
			n, err = c.Retr(ctx, remote, off, w)
		} else {
			n, err = c.RetrRange(ctx, remote, off, end-off, w)
		}
		done += n
		total.Add(n)
		return err
	})
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
