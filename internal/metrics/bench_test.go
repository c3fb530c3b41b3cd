package metrics_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/hooks"
	"github.com/ferryftp/ferry/internal/metrics"
	"github.com/ferryftp/ferry/storage/memfs"
)

// BenchmarkSmallFileMetricsCost measures what metrics cost on the
// small-file workload: 4 KiB RETRs, one after another on one session, in
// process. Each iteration downloads the file once from a server without
// metrics and once from a server with them (Observer and state collector
// registered), so both run side by side under the same machine load; it
// reports the time per file of each and the overhead in percent.
func BenchmarkSmallFileMetricsCost(b *testing.B) { benchSmallFileCost(b, false, 0) }

// BenchmarkSmallFileMetricsAndHooksCost is BenchmarkSmallFileMetricsCost
// with an event hook as well: a webhook (to an httptest server on loopback)
// for every event a download makes (login, download, logout), delivered
// from its queue while the transfers go on.
func BenchmarkSmallFileMetricsAndHooksCost(b *testing.B) { benchSmallFileCost(b, true, 0) }

// BenchmarkSmallFileMetricsAndBatchedHooksCost is
// BenchmarkSmallFileMetricsAndHooksCost with a batching webhook (batch =
// 100, batch_wait the default 1s): one POST per 100 events.
func BenchmarkSmallFileMetricsAndBatchedHooksCost(b *testing.B) { benchSmallFileCost(b, true, 100) }

func benchSmallFileCost(b *testing.B, withHooks bool, batch int) {
	data := bytes.Repeat([]byte("ferry!"), 4096/6+1)[:4096]
	var delivered atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		delivered.Add(1)
	}))
	b.Cleanup(receiver.Close)
	start := func(on bool) *ftpservertest.Client {
		fsys := memfs.New()
		fsys.WriteFile("f.bin", data)
		opts := ftpserver.Options{Auth: ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})}
		var m *metrics.Server
		if on {
			var err error
			if m, err = metrics.NewServer(metrics.NewRegistry()); err != nil {
				b.Fatal(err)
			}
			opts.Observer = m.Observer()
			if withHooks {
				h, err := hooks.New([]hooks.Config{{Events: []string{"login", "download", "upload", "logout"}, URL: receiver.URL, Batch: batch}}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { h.Close() }) // delivers what is queued: counted below
				opts.Observer = ftpserver.JoinObservers(opts.Observer, h.Observer())
			}
		}
		srv := ftpservertest.Start(b, "", opts)
		if on {
			if err := m.Watch(srv.Stats); err != nil {
				b.Fatal(err)
			}
		}
		c := ftpservertest.Dial(b, srv.Addr)
		c.Login("u", "p")
		c.Do(ftp.CodeOK, "TYPE I")
		return c
	}
	off, on := start(false), start(true)
	retr := func(c *ftpservertest.Client) time.Duration {
		t0 := time.Now()
		d := c.EPSV()
		c.Do(ftp.CodeFileStatusOK, "RETR f.bin")
		n, err := io.Copy(io.Discard, d)
		d.Close()
		if err != nil || n != int64(len(data)) {
			b.Fatalf("RETR: %d bytes, %v", n, err)
		}
		c.Expect(ftp.CodeClosingData)
		return time.Since(t0)
	}
	for range 50 { // warm up both
		retr(off)
		retr(on)
	}
	var tOff, tOn time.Duration
	files := 0
	for b.Loop() {
		files++
		if files%2 == 0 { // alternate the order, so neither always goes first
			tOff += retr(off)
			tOn += retr(on)
		} else {
			tOn += retr(on)
			tOff += retr(off)
		}
	}
	n := float64(files)
	b.ReportMetric(float64(tOff.Microseconds())/n, "µs/file-off")
	b.ReportMetric(float64(tOn.Microseconds())/n, "µs/file-on")
	b.ReportMetric(100*(float64(tOn)/float64(tOff)-1), "%overhead")
	b.StopTimer()
	for deadline := time.Now().Add(5 * time.Second); withHooks && delivered.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // a batch waits up to 1s to fill
	}
	if withHooks && delivered.Load() == 0 {
		b.Error("the webhook received nothing")
	}
}

// BenchmarkObserverPerTransfer is the metrics' own cost of one download:
// the two events a transfer reports (data connection, transfer done).
func BenchmarkObserverPerTransfer(b *testing.B) {
	m, err := metrics.NewServer(metrics.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	o := m.Observer()
	dc := ftpserver.DataConnEvent{Passive: true, OK: true, Duration: time.Millisecond}
	xe := ftpserver.TransferEvent{Verb: "RETR", Direction: ftpserver.DirDownload, Result: ftpserver.ResultOK, Bytes: 4096, Duration: 2 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		o.DataConn(dc)
		o.TransferDone(xe)
	}
}
