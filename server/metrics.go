package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/flowfabric-go/flowfabric/backend/instrument"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics counts requests and observes their latency by method, route
// pattern (never the raw path, to bound cardinality) and status (499 for a
// client that went away), and gauges the waiting long-polls.
type httpMetrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	longPolls    prometheus.Gauge
	followers    prometheus.Gauge
	eventReaders prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	labels := []string{"method", "route", "status"}
	return &httpMetrics{
		requests: instrument.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ff_http_requests_total", Help: "HTTP requests served, by method, route pattern and status.",
		}, labels)),
		duration: instrument.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ff_http_request_duration_seconds", Help: "HTTP request latency, by method, route pattern and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, labels)),
		longPolls: instrument.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ff_http_long_polls_waiting", Help: "Long-polling claims waiting for work (their cap answers 429).",
		})),
		followers: instrument.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ff_stream_followers", Help: "Stream reads following a stream now (long-polls waiting and SSE connections).",
		})),
		eventReaders: instrument.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ff_http_event_readers_waiting", Help: "Event readers waiting for events: long-polls and streams of GET /v1/events.",
		})),
	}
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	method = methodLabel(method)
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, code).Inc()
	m.duration.WithLabelValues(method, route, code).Observe(d.Seconds())
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

func metricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}
