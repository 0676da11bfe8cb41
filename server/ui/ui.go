// Package ui is the web dashboard the server mounts at /ui/: server-rendered
// html/template pages over the backend seam, with a small hand-written
// script for confirmations and Server-Sent Events. Everything it serves is
// embedded in the binary; it needs no network access beyond the server.
//
// The dashboard calls the backend directly (never the HTTP API) and uses
// the API's parameter types and normalisation, so a page shows what the API
// would answer. Pages and actions are registered in nav.go; auth.go holds
// the login, the session cookie and the CSRF check every POST passes.
package ui

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// Config configures the dashboard.
type Config struct {
	// Backend is the store the pages read and the actions change.
	Backend backend.Backend
	// Token is the API token. When set, the dashboard asks for it on a
	// login form and keeps a session derived from it in a cookie; the
	// token itself is never rendered.
	Token string
	// Logger receives failures to render; nil is slog.Default().
	Logger *slog.Logger
	// Version is the build version shown on the overview ("" = dev).
	Version string
	// Leading reports whether this process runs the reconcilers; nil
	// when it does not know (reconcilers run elsewhere or are disabled).
	Leading func() bool
	// Closing is closed when the server shuts down: live connections end.
	Closing <-chan struct{}
	// WriteTimeout bounds writing a page (0 = 30 s); live connections
	// are not bounded.
	WriteTimeout time.Duration
	// MaxLive caps the live (SSE) connections at once (0 = 100).
	MaxLive int
	// PublicURL is the address browsers reach the server at when a
	// reverse proxy that rewrites the Host header stands in front (for
	// example https://ff.example.com): form posts whose Origin is its
	// origin are accepted besides the request's own host, and cookies are
	// Secure when it is https. Empty: the request's host only, cookies
	// Secure over TLS. See PublicOrigin for what is accepted.
	PublicURL string
}

// Prefix is the path the dashboard is served under.
const Prefix = "/ui/"

// Owns reports whether path belongs to the dashboard (/ui and /ui/...).
func Owns(path string) bool { return path == "/ui" || strings.HasPrefix(path, Prefix) }

// Dashboard is the dashboard's http.Handler.
type Dashboard struct {
	b       backend.Backend
	log     *slog.Logger
	version string
	leading func() bool
	closing <-chan struct{}
	write   time.Duration

	auth  authenticator
	pages *renderer
	mux   *http.ServeMux
	nav   []navItem
	live  *liveLimit
	rates *rateWindow
	site  site
	// logins bounds failed sign-ins per client address.
	logins *loginLimit
}

// New builds the dashboard. It panics only on programming errors (a
// template that does not parse, a route that does not register).
func New(cfg Config) *Dashboard {
	d := &Dashboard{b: cfg.Backend, log: cfg.Logger, version: cfg.Version, leading: cfg.Leading,
		closing: cfg.Closing, write: cfg.WriteTimeout, auth: newAuthenticator(cfg.Token),
		live: newLiveLimit(cfg.MaxLive), rates: newRateWindow(), logins: newLoginLimit(time.Now)}
	if d.log == nil {
		d.log = slog.Default()
	}
	var err error
	if d.site, err = newSite(cfg.PublicURL); err != nil {
		d.log.Error("ui: public url ignored", "error", err)
	}
	if d.version == "" {
		d.version = "dev"
	}
	if d.write <= 0 {
		d.write = 30 * time.Second
	}
	if d.closing == nil {
		d.closing = make(chan struct{})
	}
	d.pages = mustRenderer()
	d.register(d.routes())
	return d
}

// ServeHTTP serves the dashboard: assets and the login form to anyone,
// every other page to a signed-in session, every POST after its CSRF check.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.URL.Path == "/ui" {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	d.mux.ServeHTTP(w, r)
}

// setSecurityHeaders forbids anything not served by the dashboard itself:
// no inline script or style, no framing, no foreign form targets.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// writePage sends a rendered page with status, bounded by the write
// timeout.
func (d *Dashboard) writePage(w http.ResponseWriter, status int, body *bytes.Buffer) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d.write))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = body.WriteTo(w)
}
