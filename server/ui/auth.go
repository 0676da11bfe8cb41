package ui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The dashboard's session is a cookie the server can check without
// storing anything: an issue time and a random nonce, signed with HMAC.
// With a token, the signing key derives from the token (changing the token
// ends every session) and the cookie is only issued after the login form
// checked the token; without one, the key is random per process and every
// browser gets a session at once. Every POST carries a CSRF token derived
// from the session by HMAC, checked in constant time, and must come from
// this origin.

// errForbidden is the kind of a POST refused by the CSRF check.
const errForbidden ff.ErrorKind = "forbidden"

const (
	sessionCookie = "ff_ui_session"
	sessionTTL    = 12 * time.Hour
	maxFormBytes  = 64 << 10
)

// authenticator signs and checks sessions and CSRF tokens.
type authenticator struct {
	token []byte // "" = no login
	key   []byte
}

func newAuthenticator(token string) authenticator {
	a := authenticator{token: []byte(token)}
	if token != "" {
		k := sha256.Sum256([]byte("flowfabric dashboard session key\x00" + token))
		a.key = k[:]
		return a
	}
	a.key = make([]byte, 32)
	_, _ = rand.Read(a.key) // crypto/rand.Read never fails
	return a
}

// enabled reports whether the dashboard asks for the token.
func (a authenticator) enabled() bool { return len(a.token) > 0 }

// tokenMatches compares in constant time, whatever the lengths.
func (a authenticator) tokenMatches(given string) bool {
	g, t := sha256.Sum256([]byte(given)), sha256.Sum256(a.token)
	return subtle.ConstantTimeCompare(g[:], t[:]) == 1
}

func (a authenticator) mac(parts ...string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSession mints a session value: issued.nonce.mac.
func (a authenticator) newSession(now time.Time) string {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	head := strconv.FormatInt(now.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(nonce)
	return head + "." + a.mac("session", head)
}

// session returns the request's valid session cookie value.
func (a authenticator) session(r *http.Request, now time.Time) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	head, sig, ok := cutLast(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.mac("session", head))) {
		return "", false
	}
	issued, _, _ := strings.Cut(head, ".")
	at, err := strconv.ParseInt(issued, 10, 64)
	if err != nil || now.Sub(time.Unix(at, 0)) > sessionTTL {
		return "", false
	}
	return c.Value, true
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+len(sep):], true
}

// csrfToken is the session's CSRF token.
func (a authenticator) csrfToken(session string) string { return a.mac("csrf", session) }

// validCSRF checks a submitted CSRF token in constant time.
func (a authenticator) validCSRF(session, got string) bool {
	return session != "" && hmac.Equal([]byte(got), []byte(a.csrfToken(session)))
}

func (d *Dashboard) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return d.site.cookie(r, sessionCookie, value, maxAge)
}

type sessionKey struct{}

// sessionOf is the session signedIn put in the request's context.
func sessionOf(ctx context.Context) string {
	s, _ := ctx.Value(sessionKey{}).(string)
	return s
}

// signedIn lets a request with a valid session through. Without a token
// a browser without one gets a session now; with a token, a page request
// is sent to the login form and anything else refused.
func (d *Dashboard) signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := d.auth.session(r, time.Now())
		switch {
		case ok:
		case !d.auth.enabled():
			s = d.auth.newSession(time.Now())
			http.SetCookie(w, d.sessionCookie(r, s, int(sessionTTL/time.Second)))
		case r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream":
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		default:
			d.serveError(w, r, &ff.Error{Class: ff.ClassValidation, Kind: wire.ErrUnauthorized, Detail: "sign in first"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	})
}

// checked parses a POST's form (bounded) and lets it through only with
// this session's CSRF token, from this origin.
func (d *Dashboard) checked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			d.serveError(w, r, ff.Validation(ff.ErrInvalidInput, "form: %v", err))
			return
		}
		if !d.site.sameOrigin(r) || !d.auth.validCSRF(sessionOf(r.Context()), r.PostForm.Get("csrf")) {
			d.serveErrorStatus(w, r, http.StatusForbidden, &ff.Error{Class: ff.ClassValidation, Kind: errForbidden,
				Detail: "the form is stale or came from another site (CSRF check failed); reload the page and try again"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// localPath returns p when it is a dashboard path (so a redirect to it
// stays here), else the overview.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.Contains(p, "\\") || strings.HasPrefix(p, "//") ||
		!(u.Path == "/ui" || strings.HasPrefix(u.Path, Prefix)) {
		return Prefix
	}
	return p
}
