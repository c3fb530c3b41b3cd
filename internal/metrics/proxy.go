package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferryftp/ferry/ftpproxy"
)

var (
	proxySessionsDesc = prometheus.NewDesc("ferry_proxy_sessions", "Proxy sessions now, by state.", []string{"state"}, nil)
	proxyOpenedDesc   = prometheus.NewDesc("ferry_proxy_sessions_opened_total", "Proxy sessions admitted.", nil, nil)
	proxyXferDesc     = prometheus.NewDesc("ferry_proxy_transfers_total", "Transfers relayed by the proxy.", nil, nil)
	proxyBytesDesc    = prometheus.NewDesc("ferry_proxy_bytes_total",
		"Data bytes relayed, by direction: up (client to server) or down (server to client).", []string{"direction"}, nil)
	proxyRewriteDesc = prometheus.NewDesc("ferry_proxy_rewritten_total",
		"Data commands rewritten by the proxy, by the client's command.", []string{"command"}, nil)
	proxyRefusedDesc = prometheus.NewDesc("ferry_proxy_policy_refusals_total", "Commands and logins refused by the proxy's rules.", nil, nil)
	proxyKeptDesc    = prometheus.NewDesc("ferry_proxy_kept_data_listeners",
		"Client-side passive listeners the proxy keeps open between transfers for their session's next PASV/EPSV.", nil, nil)
)

// WatchProxy registers the proxy's metrics with reg, read from stats (a
// Proxy's Stats method) at each scrape.
func WatchProxy(reg prometheus.Registerer, stats func() ftpproxy.Stats) error {
	return reg.Register(&proxyState{stats: stats})
}

type proxyState struct{ stats func() ftpproxy.Stats }

func (c *proxyState) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{proxySessionsDesc, proxyOpenedDesc, proxyXferDesc, proxyBytesDesc, proxyRewriteDesc, proxyRefusedDesc, proxyKeptDesc} {
		ch <- d
	}
}

func (c *proxyState) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(proxySessionsDesc, float64(st.Unauthenticated), "unauthenticated")
	gauge(proxySessionsDesc, float64(max(st.Sessions-st.Unauthenticated, 0)), "logged_in")
	counter(proxyOpenedDesc, st.SessionsTotal)
	counter(proxyXferDesc, st.Transfers)
	counter(proxyBytesDesc, st.BytesUp, "up")
	counter(proxyBytesDesc, st.BytesDown, "down")
	for _, verb := range []string{"PORT", "EPRT", "PASV", "EPSV"} {
		counter(proxyRewriteDesc, st.Rewritten[verb], verb)
	}
	counter(proxyRefusedDesc, st.PolicyRefused)
	gauge(proxyKeptDesc, float64(st.KeptListeners))
}
