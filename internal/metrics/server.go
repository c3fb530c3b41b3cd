// Package metrics exports ferry's server and proxy metrics to Prometheus and
// serves the admin endpoints /metrics, /healthz and /readyz. It is the
// daemon's side: the libraries (ftpserver, ftpproxy) know nothing of
// Prometheus and report through ftpserver.Observer events and Stats
// snapshots, which this package turns into metrics with low-cardinality
// labels only (never user names, paths or addresses). docs/operations.md
// lists the metrics.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferryftp/ferry/ftpserver"
)

// Label values, fixed so every series exists from the start.
var (
	loginMethods = []ftpserver.LoginMethod{ftpserver.LoginPassword, ftpserver.LoginAnonymous}
	loginResults = []ftpserver.LoginResult{ftpserver.LoginOK, ftpserver.LoginFailed, ftpserver.LoginRefused, ftpserver.LoginUnavailable}
	directions   = []string{ftpserver.DirDownload, ftpserver.DirUpload, ftpserver.DirListing}
	results      = []string{ftpserver.ResultOK, ftpserver.ResultAborted, ftpserver.ResultNetwork, ftpserver.ResultStorage, ftpserver.ResultRejected}
)

// Server holds the metrics of one FTP server. The event metrics are
// counted by its Observer; the state gauges are read from a Stats
// snapshot at each scrape (Watch).
type Server struct {
	reg prometheus.Registerer

	sessionsOpened prometheus.Counter
	logins         map[ftpserver.LoginMethod]map[ftpserver.LoginResult]prometheus.Counter
	transfers      map[string]map[string]prometheus.Counter
	bytes          map[string]prometheus.Counter
	durations      map[string]prometheus.Observer
	dataSetup      [2][2]prometheus.Observer // [passive][tls]
	dataFailures   [2][2]prometheus.Counter
	tlsFailures    [2]prometheus.Counter // [data]
	storageErrors  *prometheus.CounterVec
	bans           prometheus.Counter
	reloads        [2]prometheus.Counter // [ok]
}

// NewServer creates the server's event metrics and registers them with reg.
func NewServer(reg prometheus.Registerer) (*Server, error) {
	m := &Server{reg: reg}
	m.sessionsOpened = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ferry_sessions_opened_total", Help: "Control connections admitted."})
	loginVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_logins_total", Help: "Logins (PASS commands answered) by method and result."},
		[]string{"method", "result"})
	transferVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_transfers_total", Help: "Transfers and listings ended, by direction and result."},
		[]string{"direction", "result"})
	bytesVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_transfer_bytes_total", Help: "Data bytes moved by transfers and listings, by direction."},
		[]string{"direction"})
	durationVec := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "ferry_transfer_duration_seconds", Help: "Duration of transfers and listings, from the command to the end.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"direction"})
	setupVec := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ferry_data_connection_setup_seconds",
		Help:    "Time from a transfer command to its data connection being ready (TLS handshake included).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8)}, []string{"mode", "tls"})
	dataFailVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_data_connection_failures_total", Help: "Transfers whose data connection could not be set up."},
		[]string{"mode", "tls"})
	tlsVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_tls_handshake_failures_total", Help: "Failed TLS handshakes, by channel (control or data)."},
		[]string{"channel"})
	m.storageErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_storage_errors_total", Help: "Failed storage operations, by FTP command and reply code."},
		[]string{"op", "code"})
	m.bans = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ferry_bans_total", Help: "Addresses banned after repeated login failures."})
	reloadVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_config_reloads_total", Help: "Configuration reloads, by result (ok or failed)."},
		[]string{"result"})

	for _, c := range []prometheus.Collector{m.sessionsOpened, loginVec, transferVec, bytesVec, durationVec,
		setupVec, dataFailVec, tlsVec, m.storageErrors, m.bans, reloadVec} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}

	// Every fixed series is resolved once, so events cost no label lookup.
	m.logins = map[ftpserver.LoginMethod]map[ftpserver.LoginResult]prometheus.Counter{}
	for _, meth := range loginMethods {
		m.logins[meth] = map[ftpserver.LoginResult]prometheus.Counter{}
		for _, res := range loginResults {
			m.logins[meth][res] = loginVec.WithLabelValues(string(meth), string(res))
		}
	}
	m.transfers = map[string]map[string]prometheus.Counter{}
	m.bytes = map[string]prometheus.Counter{}
	m.durations = map[string]prometheus.Observer{}
	for _, dir := range directions {
		m.transfers[dir] = map[string]prometheus.Counter{}
		for _, res := range results {
			m.transfers[dir][res] = transferVec.WithLabelValues(dir, res)
		}
		m.bytes[dir] = bytesVec.WithLabelValues(dir)
		m.durations[dir] = durationVec.WithLabelValues(dir)
	}
	for p, mode := range []string{"active", "passive"} {
		for t, tls := range []string{"false", "true"} {
			m.dataSetup[p][t] = setupVec.WithLabelValues(mode, tls)
			m.dataFailures[p][t] = dataFailVec.WithLabelValues(mode, tls)
		}
	}
	m.tlsFailures[0] = tlsVec.WithLabelValues("control")
	m.tlsFailures[1] = tlsVec.WithLabelValues("data")
	m.reloads[0] = reloadVec.WithLabelValues("failed")
	m.reloads[1] = reloadVec.WithLabelValues("ok")
	return m, nil
}

// Observer returns the ftpserver.Observer that counts the server's events;
// put it in Options.Observer (at each reload too).
func (m *Server) Observer() *ftpserver.Observer {
	return &ftpserver.Observer{
		SessionOpened: func(ftpserver.SessionEvent) { m.sessionsOpened.Inc() },
		Login:         m.login,
		TransferDone:  m.transfer,
		DataConn:      m.dataConn,
		TLSFailed:     func(e ftpserver.TLSEvent) { m.tlsFailures[b2i(e.Data)].Inc() },
		StorageError: func(e ftpserver.StorageEvent) {
			m.storageErrors.WithLabelValues(e.Op, strconv.Itoa(e.Code)).Inc()
		},
		BanAdded: func(ftpserver.BanEvent) { m.bans.Inc() },
		Reload:   m.Reloaded,
	}
}

// Reloaded counts a configuration reload; the daemon calls it itself for
// a configuration file that fails to load, which the server never sees.
func (m *Server) Reloaded(e ftpserver.ReloadEvent) { m.reloads[b2i(e.OK)].Inc() }

func (m *Server) login(e ftpserver.LoginEvent) {
	if c := m.logins[e.Method][e.Result]; c != nil {
		c.Inc()
	}
}

func (m *Server) transfer(e ftpserver.TransferEvent) {
	if c := m.transfers[e.Direction][e.Result]; c != nil {
		c.Inc()
	}
	if c := m.bytes[e.Direction]; c != nil {
		c.Add(float64(e.Bytes))
		m.durations[e.Direction].Observe(e.Duration.Seconds())
	}
}

func (m *Server) dataConn(e ftpserver.DataConnEvent) {
	p, t := b2i(e.Passive), b2i(e.TLS)
	if e.OK {
		m.dataSetup[p][t].Observe(e.Duration.Seconds())
	} else {
		m.dataFailures[p][t].Inc()
	}
}

// CountHookDrops registers ferry_hook_events_dropped_total, read from
// dropped at each scrape (hooks.Dropped: the events the [[hooks]] queues
// had no room for).
func (m *Server) CountHookDrops(dropped func() uint64) error {
	return m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ferry_hook_events_dropped_total", Help: "Events not delivered to a hook because its queue was full."},
		func() float64 { return float64(dropped()) }))
}

// Watch registers the gauges read from stats at each scrape: sessions by
// state, passive ports in use and in the range, active bans.
func (m *Server) Watch(stats func() ftpserver.Stats) error {
	return m.reg.Register(&serverState{stats: stats})
}

var (
	sessionsDesc = prometheus.NewDesc("ferry_sessions", "Sessions now, by state.", []string{"state"}, nil)
	pasvUseDesc  = prometheus.NewDesc("ferry_passive_ports_in_use", "Passive data listeners open now.", nil, nil)
	pasvSizeDesc = prometheus.NewDesc("ferry_passive_ports", "Ports in the passive range.", nil, nil)
	bansDesc     = prometheus.NewDesc("ferry_bans_active", "Addresses banned now.", nil, nil)
)

// serverState is the collector of the gauges taken from Stats.
type serverState struct{ stats func() ftpserver.Stats }

func (c *serverState) Describe(ch chan<- *prometheus.Desc) {
	ch <- sessionsDesc
	ch <- pasvUseDesc
	ch <- pasvSizeDesc
	ch <- bansDesc
}

func (c *serverState) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	idle := max(st.Sessions-st.Unauthenticated-st.Transferring, 0)
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(st.Unauthenticated), ftpserver.StateUnauthenticated.String())
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(idle), ftpserver.StateLoggedIn.String())
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(st.Transferring), ftpserver.StateTransferring.String())
	ch <- prometheus.MustNewConstMetric(pasvUseDesc, prometheus.GaugeValue, float64(st.PassiveInUse))
	ch <- prometheus.MustNewConstMetric(pasvSizeDesc, prometheus.GaugeValue, float64(st.PassiveRange))
	ch <- prometheus.MustNewConstMetric(bansDesc, prometheus.GaugeValue, float64(st.BansActive))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
