package hooks

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
)

// Defaults of a Config's zero fields.
const (
	DefaultTimeout            = 10 * time.Second
	DefaultRetries            = 3 // webhooks; commands are not retried by default
	DefaultQueue              = 1000
	DefaultWebhookConcurrency = 1
	DefaultCommandConcurrency = 4
	DefaultBackoff            = time.Second
	DefaultBatchWait          = time.Second
	// DrainTimeout bounds how long Close goes on delivering what is
	// queued.
	DrainTimeout = 5 * time.Second
	maxBackoff   = 30 * time.Second
)

// Config is one hook: where its events go and which events it gets.
// Exactly one of URL and Command is set.
type Config struct {
	// Events are the event names the hook gets (see Names).
	Events []string
	// URL is a webhook's http:// or https:// address.
	URL string
	// Secret signs a webhook's body (SignatureHeader); "" sends no
	// signature.
	Secret string
	// Command is a command's argv (no shell).
	Command []string
	// Timeout bounds each attempt (default DefaultTimeout).
	Timeout time.Duration
	// Retries is how many times a failed delivery is tried again, after
	// DefaultBackoff doubling up to 30s (default DefaultRetries for a
	// webhook, 0 for a command; -1 means none). Veto hooks are never
	// retried.
	Retries int
	// Queue bounds the events waiting for delivery (default DefaultQueue);
	// an event that finds the queue full is dropped and counted.
	Queue int
	// Concurrency is how many deliveries run at once (default 1 for a
	// webhook, 4 for a command). The events of one session are delivered
	// in order whatever it is.
	Concurrency int
	// Veto makes an upload hook synchronous: a failure (non-2xx answer,
	// non-zero exit, timeout) removes the file and the client gets 550.
	// Its Events must be just "upload".
	Veto bool
	// Backoff is the first retry's delay (default DefaultBackoff).
	Backoff time.Duration
	// Batch, above 1, makes a webhook post up to Batch events per request,
	// as a JSON array (always an array, even of one event), with
	// EventHeader BatchEvent; 0 or 1 posts each event alone, as a JSON
	// object. Only for webhooks that do not veto.
	Batch int
	// BatchWait is how long a batching webhook waits, from the first
	// event of a batch, for more to fill it (default DefaultBatchWait).
	BatchWait time.Duration
}

// dropped counts the events dropped by every hook of the process.
var dropped atomic.Uint64

// Dropped is the number of events dropped so far because a hook's queue
// was full, over every Hooks of the process (for a metrics counter).
func Dropped() uint64 { return dropped.Load() }

// Hooks delivers events to a set of hooks. Its Observer and UploadCheck go
// into ftpserver.Options; Close stops its deliveries.
type Hooks struct {
	log       *slog.Logger
	async     []*sink
	veto      []*sink
	ctx       context.Context // cancelled when deliveries must stop
	cancel    context.CancelFunc
	closing   chan struct{} // closed by Close: deliver what is queued, then stop
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// sink is one hook.
type sink struct {
	cfg     Config
	name    string // for logs: the URL or argv[0]
	events  map[string]bool
	deliver deliverFunc
	shards  []chan Event
	full    []chan struct{} // per shard, for batching hooks: a batch is waiting
	lastLog atomic.Int64    // unix nanoseconds of the last drop logged
	drops   atomic.Uint64
}

// Validate checks c; New calls it.
func (c *Config) Validate() error {
	switch {
	case (c.URL == "") == (len(c.Command) == 0):
		return errors.New("set exactly one of url and command")
	case len(c.Command) > 0 && c.Command[0] == "":
		return errors.New("command: the program is empty")
	case c.URL != "" && !validURL(c.URL):
		return fmt.Errorf("url %q: want an http:// or https:// URL", c.URL)
	case len(c.Events) == 0:
		return errors.New("events: name at least one event")
	case c.Veto && (len(c.Events) != 1 || c.Events[0] != Upload):
		return errors.New(`veto: a veto hook's events must be just ["upload"]`)
	case c.Timeout < 0, c.Queue < 0, c.Concurrency < 0, c.Retries < -1, c.Batch < 0, c.BatchWait < 0:
		return errors.New("timeout, queue, concurrency, retries, batch and batch_wait cannot be negative")
	case c.Batch > 1 && (c.URL == "" || c.Veto):
		return errors.New("batch: only a webhook that does not veto can batch its events")
	}
	for _, e := range c.Events {
		if !slices.Contains(Names, e) {
			return fmt.Errorf("events: unknown event %q (known: %v)", e, Names)
		}
	}
	return nil
}

func validURL(u string) bool {
	req, err := http.NewRequest(http.MethodPost, u, nil)
	return err == nil && (req.URL.Scheme == "http" || req.URL.Scheme == "https") && req.URL.Host != ""
}

// New starts the delivery of the hooks in cfgs; log receives failures and
// drops.
func New(cfgs []Config, log *slog.Logger) (*Hooks, error) {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hooks{log: log, ctx: ctx, cancel: cancel, closing: make(chan struct{})}
	// A redirect is not followed (it would turn the POST into a GET): a
	// 3xx answer is a failure, not retried.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, c := range cfgs {
		if err := c.Validate(); err != nil {
			cancel()
			return nil, fmt.Errorf("hooks[%d]: %w", i, err)
		}
		s := &sink{cfg: c, events: map[string]bool{}}
		for _, e := range c.Events {
			s.events[e] = true
		}
		if c.URL != "" {
			s.name, s.deliver = c.URL, webhook(client, c.URL, []byte(c.Secret), c.Batch > 1)
			s.cfg.Retries = defaultInt(c.Retries, DefaultRetries)
			s.cfg.Concurrency = defaultInt(c.Concurrency, DefaultWebhookConcurrency)
		} else {
			s.name, s.deliver = c.Command[0], command(c.Command)
			s.cfg.Concurrency = defaultInt(c.Concurrency, DefaultCommandConcurrency)
		}
		s.cfg.Retries = max(s.cfg.Retries, 0)
		s.cfg.Timeout = defaultDur(c.Timeout, DefaultTimeout)
		s.cfg.Backoff = defaultDur(c.Backoff, DefaultBackoff)
		s.cfg.Queue = defaultInt(c.Queue, DefaultQueue)
		s.cfg.BatchWait = defaultDur(c.BatchWait, DefaultBatchWait)
		if c.Veto {
			h.veto = append(h.veto, s)
			continue
		}
		// One queue per worker; a session's events all go to the same
		// one, so they are delivered in order.
		per := max(s.cfg.Queue/s.cfg.Concurrency, 1)
		for range s.cfg.Concurrency {
			q := make(chan Event, per)
			full := make(chan struct{}, 1)
			s.shards = append(s.shards, q)
			s.full = append(s.full, full)
			h.wg.Add(1)
			go h.work(s, q, full)
		}
		h.async = append(h.async, s)
	}
	return h, nil
}

func defaultInt(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func defaultDur(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}

// Close is Shutdown with DrainTimeout to deliver what is queued.
func (h *Hooks) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	return h.Shutdown(ctx)
}

// Shutdown stops the deliveries. What is queued is still delivered, once
// (no retries), until ctx is done; then running attempts are cancelled
// and what is left is dropped (logged, not counted). Events emitted after
// Shutdown are dropped. It waits for the workers to end; calls after the
// first return at once.
func (h *Hooks) Shutdown(ctx context.Context) error {
	h.closeOnce.Do(func() {
		close(h.closing)
		stop := context.AfterFunc(ctx, h.cancel)
		h.wg.Wait()
		stop()
		h.cancel()
	})
	return nil
}

// Observer is the ftpserver.Observer that queues the hooks' events.
func (h *Hooks) Observer() *ftpserver.Observer {
	return &ftpserver.Observer{
		Login:  func(e ftpserver.LoginEvent) { h.emit(loginEvent(e)) },
		Logout: func(e ftpserver.SessionEvent) { h.emit(base(Logout, e.EventInfo)) },
		TransferDone: func(e ftpserver.TransferEvent) {
			if ev, ok := transferEvent(e); ok {
				h.emit(ev)
			}
		},
		FileOp: func(e ftpserver.FileEvent) {
			if ev, ok := fileEvent(e); ok {
				h.emit(ev)
			}
		},
		BanAdded: func(e ftpserver.BanEvent) { h.emit(banEvent(e)) },
	}
}

// emit queues e for each hook that wants it; a full queue drops it.
func (h *Hooks) emit(e Event) {
	select {
	case <-h.closing:
		return
	default:
	}
	for _, s := range h.async {
		if !s.events[e.Event] {
			continue
		}
		i := shard(e.Session, len(s.shards))
		q := s.shards[i]
		select {
		case q <- e:
		default:
			h.drop(s, e)
			continue
		}
		// A batching worker sleeps until its batch is full or its wait is
		// over, rather than waking for every event.
		if s.cfg.Batch > 1 && len(q) >= s.cfg.Batch-1 {
			select {
			case s.full[i] <- struct{}{}:
			default:
			}
		}
	}
}

func shard(session string, n int) int {
	if n == 1 {
		return 0
	}
	f := fnv.New32a()
	f.Write([]byte(session))
	return int(f.Sum32() % uint32(n))
}

// drop counts a dropped event and logs it, at most once a second per hook
// (with the count so far).
func (h *Hooks) drop(s *sink, e Event) {
	dropped.Add(1)
	n := s.drops.Add(1)
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last >= int64(time.Second) && s.lastLog.CompareAndSwap(last, now) {
		h.log.Warn("hook queue full; event dropped", "hook", s.name, "event", e.Event, "dropped_by_hook", n)
	}
}

// work delivers the events of one queue until Close, then what is left
// in it.
func (h *Hooks) work(s *sink, q chan Event, full chan struct{}) {
	defer h.wg.Done()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.closing:
			h.drain(s, q)
			return
		case e := <-q:
			h.send(s, h.gather(s, q, full, e))
		}
	}
}

// gather adds to first what else q holds for one request: nothing unless
// the hook batches; then up to Batch events, once emit says the batch is
// full or BatchWait is over (or at Close).
func (h *Hooks) gather(s *sink, q chan Event, full chan struct{}, first Event) []Event {
	batch := []Event{first}
	if s.cfg.Batch <= 1 {
		return batch
	}
	wait := time.NewTimer(s.cfg.BatchWait)
	defer wait.Stop()
	for len(batch) < s.cfg.Batch {
		if len(q) >= s.cfg.Batch-len(batch) {
			return h.take(s, q, batch)
		}
		select {
		case <-full: // maybe stale, from an earlier batch: look again
		case <-wait.C:
			return h.take(s, q, batch)
		case <-h.closing:
			return h.take(s, q, batch)
		case <-h.ctx.Done():
			return batch
		}
	}
	return batch
}

// take adds what q holds now to batch, up to the hook's batch size.
func (h *Hooks) take(s *sink, q chan Event, batch []Event) []Event {
	for len(batch) < max(s.cfg.Batch, 1) {
		select {
		case e := <-q:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// drain delivers what q holds at Close, until it is empty or the drain
// time is up; what is left then is logged.
func (h *Hooks) drain(s *sink, q chan Event) {
	for h.ctx.Err() == nil {
		batch := h.take(s, q, nil)
		if len(batch) == 0 {
			return
		}
		h.send(s, batch)
	}
	if n := len(q); n > 0 {
		h.log.Warn("hook events not delivered at stop", "hook", s.name, "events", n)
	}
}

// send delivers a batch (or one event) and logs a failure.
func (h *Hooks) send(s *sink, batch []Event) {
	if err := h.deliver(s, batch); err != nil && h.ctx.Err() == nil {
		e := batch[0]
		h.log.Warn("hook delivery failed", "hook", s.name, "event", e.Event, "session", e.Session,
			"events", len(batch), "err", err)
	}
}

// deliver tries a batch up to 1+Retries times, with a doubling backoff;
// once Close was called, only once.
func (h *Hooks) deliver(s *sink, batch []Event) error {
	var body []byte
	if s.cfg.Batch > 1 {
		body = batchJSON(batch)
	} else {
		body = batch[0].JSON()
	}
	wait := s.cfg.Backoff
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(h.ctx, s.cfg.Timeout)
		err := s.deliver(ctx, &batch[0], body)
		cancel()
		if err == nil || errors.Is(err, errPermanent) || attempt >= s.cfg.Retries {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-h.ctx.Done():
			t.Stop()
			return err
		case <-h.closing:
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// UploadCheck is the ftpserver.Options.UploadCheck of the veto hooks, or
// nil when there is none. The veto hooks run in turn, once each, within
// the hook's timeout and the server's; the first failure vetoes.
func (h *Hooks) UploadCheck() func(context.Context, ftpserver.UploadInfo) error {
	if len(h.veto) == 0 {
		return nil
	}
	return func(ctx context.Context, u ftpserver.UploadInfo) error {
		e := uploadEvent(u)
		body := e.JSON()
		for _, s := range h.veto {
			cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
			err := s.deliver(cctx, &e, body)
			cancel()
			if err != nil {
				return fmt.Errorf("veto hook %s: %w", s.name, err)
			}
		}
		return nil
	}
}
