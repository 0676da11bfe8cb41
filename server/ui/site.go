package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// site is what the dashboard knows of the address browsers reach it at:
// the request's host, and the public origin of Config.PublicURL when a
// reverse proxy that rewrites the Host header stands in front.
type site struct {
	origin string // scheme://host of Config.PublicURL, lower case; "" when unset
	https  bool   // Config.PublicURL is https: cookies are Secure behind a TLS proxy
}

// PublicOrigin returns the origin (scheme://host, lower case) of a public
// URL, or an error that says what is wrong with it. The server's
// --public-url is checked with it.
func PublicOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("public url %q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("public url %q: the scheme must be http or https", raw)
	case u.Host == "" || u.User != nil:
		return "", fmt.Errorf("public url %q: want scheme://host[:port], without user info", raw)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return "", fmt.Errorf("public url %q: the dashboard is served at the root of the host (no path, query or fragment)", raw)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// newSite is the site of a public URL ("" for none). An invalid one is
// ignored with the returned error, which the caller logs: the server's
// command line refuses it before it gets here.
func newSite(publicURL string) (site, error) {
	if publicURL == "" {
		return site{}, nil
	}
	origin, err := PublicOrigin(publicURL)
	if err != nil {
		return site{}, err
	}
	return site{origin: origin, https: strings.HasPrefix(origin, "https://")}, nil
}

// sameOrigin refuses a request a browser marks as cross-site: by
// Sec-Fetch-Site, or an Origin that is neither this host nor the public
// origin.
func (s site) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if s.origin != "" && strings.EqualFold(origin, s.origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// cookie is a dashboard cookie: HttpOnly, SameSite=Strict, under /ui,
// Secure over TLS or behind an https public URL.
func (s site) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/ui", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil || s.https, SameSite: http.SameSiteStrictMode}
}
