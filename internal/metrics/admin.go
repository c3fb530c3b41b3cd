package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go runtime and process
// collectors, ready for NewServer or WatchProxy.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// Handler serves the admin endpoints: /metrics (reg in the Prometheus text
// format), /healthz (200 while the process runs) and /readyz (200 when
// ready returns nil, else 503 with the reason on one line).
func Handler(reg prometheus.Gatherer, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", oneLine(err.Error()))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// oneLine keeps a reason short and on one line.
func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 {
			b[i] = ' '
		}
	}
	if len(b) > 200 {
		b = append(b[:200], "..."...)
	}
	return string(b)
}

// Admin is a running admin listener.
type Admin struct {
	srv  *http.Server
	l    net.Listener
	done chan struct{}
}

// Listen opens the admin listener on addr and serves h on it until Close.
// Errors of the HTTP server after the start are logged to log (nil:
// slog.Default()).
func Listen(addr string, h http.Handler, log *slog.Logger) (*Admin, error) {
	return ListenTLS(addr, h, nil, log)
}

// ListenTLS is Listen over TLS with cfg (plain HTTP when cfg is nil).
func ListenTLS(addr string, h http.Handler, cfg *tls.Config, log *slog.Logger) (*Admin, error) {
	if log == nil {
		log = slog.Default()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	a := &Admin{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		l:    l,
		done: make(chan struct{}),
	}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener failed", "err", err)
		}
	}()
	return a, nil
}

// Addr is the address the admin listener listens on.
func (a *Admin) Addr() net.Addr { return a.l.Addr() }

// Close stops the admin listener, closing its connections.
func (a *Admin) Close() error {
	err := a.srv.Close()
	<-a.done
	return err
}
