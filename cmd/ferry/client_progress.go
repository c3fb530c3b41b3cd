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
		f, ok := cc.stderr.(*os.File)
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

func (p *progress) done() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
}

func (p *progress) draw(final bool) {
	n := p.n.Load()
	el := time.Since(p.start).Seconds()
	speed := 0.0
	if el > 0 {
		speed = float64(n) / el
	}
	line := fmt.Sprintf("%-24.24s %10s", p.name, humanBytes(float64(n)))
	if p.total > 0 {
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
	fmt.Fprint(p.w, "\r"+line+end)
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

// limiter paces a stream to rate bytes per second.
type limiter struct {
	rate  int64
	start time.Time
	n     int64
}

func (l *limiter) wait(n int) {
	l.n += int64(n)
	want := time.Duration(float64(l.n) / float64(l.rate) * float64(time.Second))
	if d := want - time.Since(l.start); d > 0 {
		time.Sleep(d)
	}
}

type limitedReader struct {
	r io.Reader
	l *limiter
	p *progress
}

func (r *limitedReader) Read(b []byte) (int, error) {
	if r.l != nil && len(b) > 32<<10 {
		b = b[:32<<10]
	}
	n, err := r.r.Read(b)
	if r.l != nil {
		r.l.wait(n)
	}
	r.p.add(int64(n))
	return n, err
}

type limitedWriter struct {
	w io.Writer
	l *limiter
	p *progress
}

func (w *limitedWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	if w.l != nil {
		w.l.wait(n)
	}
	w.p.add(int64(n))
	return n, err
}

// wrapReader and wrapWriter add progress and rate limiting; they return nil
// (no wrapping, so splice/sendfile stay) when neither is wanted.
func (cc *clientCmd) wrapReader(p *progress) func(io.Reader) io.Reader {
	rate, _ := parseRate(cc.f.limitRate)
	if p == nil && rate == 0 {
		return nil
	}
	return func(r io.Reader) io.Reader {
		var l *limiter
		if rate > 0 {
			l = &limiter{rate: rate, start: time.Now()}
		}
		return &limitedReader{r: r, l: l, p: p}
	}
}

func (cc *clientCmd) wrapWriter(p *progress) func(io.Writer) io.Writer {
	rate, _ := parseRate(cc.f.limitRate)
	if p == nil && rate == 0 {
		return nil
	}
	return func(w io.Writer) io.Writer {
		var l *limiter
		if rate > 0 {
			l = &limiter{rate: rate, start: time.Now()}
		}
		return &limitedWriter{w: w, l: l, p: p}
	}
}
