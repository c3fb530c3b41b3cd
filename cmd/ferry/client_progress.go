package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// progress draws one progress line (bytes, percentage, speed, ETA) on a
// terminal. A nil *progress does nothing.
type progress struct {
	phase atomic.Pointer[string] // "verifying SHA-256" etc., nil while transferring
	moved atomic.Int64           // nanoseconds from start to the first phase: the transfer's own time
	mu    sync.Mutex             // one draw at a time
	name  string
	total int64
	n     atomic.Int64
	start time.Time
	w     io.Writer
	stop  chan struct{}
	wg    sync.WaitGroup
}

// newProgress returns nil unless stderr is a terminal (or --progress),
// and not -q.
func (cc *clientCmd) newProgress(name string, total int64) *progress {
	if cc.f.quiet {
		return nil
	}
	if !cc.f.progress {
		f, ok := cc.rawStderr.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil
		}
	}
	p := &progress{name: name, total: total, start: time.Now(), w: cc.stderr, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw(false)
			case <-p.stop:
				p.draw(true)
				return
			}
		}
	}()
	return p
}

func (p *progress) add(n int64) {
	if p != nil {
		p.n.Add(n)
	}
}

// setPhase shows label (such as "verifying SHA-256") instead of the rate
// and ETA from now on; the final line's rate is the transfer's, measured up
// to the first phase.
func (p *progress) setPhase(label string) {
	if p != nil {
		p.moved.CompareAndSwap(0, int64(time.Since(p.start)))
		p.phase.Store(&label)
		p.draw(false)
	}
}

// phaseFunc returns setPhase, or nil for a nil progress.
func (p *progress) phaseFunc() func(string) {
	if p == nil {
		return nil
	}
	return p.setPhase
}

func (p *progress) done() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
}

func (p *progress) draw(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.n.Load()
	el := time.Since(p.start).Seconds()
	if moved := p.moved.Load(); moved > 0 {
		el = time.Duration(moved).Seconds() // the rate of the transfer, not of the verification
	}
	speed := 0.0
	if el > 0 {
		speed = float64(n) / el
	}
	line := fmt.Sprintf("%-24.24s %10s", p.name, humanBytes(float64(n)))
	if ph := p.phase.Load(); ph != nil && !final {
		pct := 100.0
		if p.total > 0 {
			pct = float64(n) * 100 / float64(p.total)
		}
		line += fmt.Sprintf(" %5.1f%% %s…", pct, *ph)
	} else if p.total > 0 {
		pct := float64(n) * 100 / float64(p.total)
		eta := "--:--"
		if speed > 0 && n < p.total {
			s := int(float64(p.total-n) / speed)
			eta = fmt.Sprintf("%02d:%02d", s/60, s%60)
		}
		if final {
			eta = "done "
		}
		line += fmt.Sprintf(" %5.1f%% %10s/s ETA %s", pct, humanBytes(speed), eta)
	} else {
		line += fmt.Sprintf(" %10s/s", humanBytes(speed))
	}
	end := "\r"
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r%-72s%s", line, end)
}

func humanBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", b, units[i])
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// parseRate parses a --limit-rate value: bytes per second with an optional
// k, M or G suffix (powers of 1024).
func parseRate(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, usageError{"--limit-rate wants a positive number with an optional k, M or G suffix"}
	}
	return int64(v * float64(mult)), nil
}

// progressReader and progressWriter count bytes for the progress line.
type progressReader struct {
	r io.Reader
	p *progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(int64(n))
	return n, err
}

type progressWriter struct {
	w io.Writer
	p *progress
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.add(int64(n))
	return n, err
}

// wrapReader and wrapWriter add progress; they return nil (no wrapping, so
// splice/sendfile stay) without a progress line. The rate limit is the
// client's (one limiter shared by all transfers), not a wrapper here.
func (cc *clientCmd) wrapReader(p *progress) func(io.Reader) io.Reader {
	if p == nil {
		return nil
	}
	return func(r io.Reader) io.Reader { return &progressReader{r: r, p: p} }
}

func (cc *clientCmd) wrapWriter(p *progress) func(io.Writer) io.Writer {
	if p == nil {
		return nil
	}
	return func(w io.Writer) io.Writer { return &progressWriter{w: w, p: p} }
}
