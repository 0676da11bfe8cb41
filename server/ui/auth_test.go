package ui_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/ui"
)

const testToken = "tok-7f3a9c1e5b2d-secret"

// client is a browser-like HTTP client: a cookie jar, no redirects
// followed, so each answer can be checked.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf is the CSRF token a page's forms carry.
func csrfOf(t *testing.T, page string) string {
	m := csrfField.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has an action form")
	return m[1]
}

// With a token: the dashboard asks for it, keeps a session in a strict
// HttpOnly cookie, refuses POSTs without the CSRF token or from another
// origin, never shows the token, and the API keeps Bearer auth.
func TestLoginAndCSRF(t *testing.T) {
	b := uitest.OpenSQLite(t)
	s := seed(t, b)
	srv := uitest.NewServer(t, b, server.Config{APIToken: testToken})
	c := newClient(t, srv.URL)

	res, _ := c.do("GET", "/ui/executions?lane=mail", nil, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/ui/login?next="+url.QueryEscape("/ui/executions?lane=mail"), res.Header.Get("Location"))
	res, _ = c.do("POST", "/ui/lanes/mail/pause", url.Values{}, nil)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "an action without a session")

	res, body := c.do("POST", "/ui/login", url.Values{"token": {"wrong"}, "next": {"/ui/lanes"}}, nil)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Contains(t, body, "not the server")
	require.Empty(t, res.Cookies(), "no session for a wrong token")

	res, _ = c.do("POST", "/ui/login", url.Values{"token": {testToken}, "next": {"https://evil.example/"}},
		map[string]string{"Origin": "https://evil.example"})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "a login posted from another site")

	res, _ = c.do("POST", "/ui/login", url.Values{"token": {testToken}, "next": {"//evil.example/x"}}, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/ui/", res.Header.Get("Location"), "no open redirect")
	cookies := res.Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
	require.Equal(t, "/ui", ck.Path)
	require.NotContains(t, ck.Value, testToken)

	_, page := c.do("GET", "/ui/lanes", nil, nil)
	csrf := csrfOf(t, page)
	for _, bad := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no CSRF token", url.Values{}, nil},
		{"a wrong CSRF token", url.Values{"csrf": {csrf + "x"}}, nil},
		{"another origin", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}},
		{"a cross-site fetch", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		res, body := c.do("POST", "/ui/lanes/mail/pause", bad.form, bad.header)
		require.Equal(t, http.StatusForbidden, res.StatusCode, bad.name)
		require.Contains(t, body, "CSRF", bad.name)
	}
	paused, err := b.LaneStates(t.Context(), backend.LaneStatesParams{})
	require.NoError(t, err)
	require.Empty(t, paused, "nothing was paused by a refused POST")

	res, _ = c.do("POST", "/ui/lanes/mail/pause", url.Values{"csrf": {csrf}, "back": {"/ui/lanes"}},
		map[string]string{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/ui/lanes", res.Header.Get("Location"))
	paused, err = b.LaneStates(t.Context(), backend.LaneStatesParams{})
	require.NoError(t, err)
	require.Len(t, paused, 1)

	res, _ = c.do("GET", "/v1/lanes", nil, nil)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "the API wants its bearer token, not the cookie")

	for _, p := range []string{"/ui/", "/ui/executions", "/ui/executions/" + s.active.String(), "/ui/events?from=start",
		"/ui/lanes", "/ui/login", "/ui/nowhere"} {
		_, body := c.do("GET", p, nil, nil)
		require.NotContains(t, body, testToken, p)
	}

	res, _ = c.do("POST", "/ui/logout", url.Values{"csrf": {csrf}}, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = c.do("GET", "/ui/", nil, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "signed out")
}

// Without a token there is no login, but POSTs still need the CSRF token.
func TestNoTokenStillChecksCSRF(t *testing.T) {
	b := uitest.OpenSQLite(t)
	seed(t, b)
	srv := uitest.NewServer(t, b, server.Config{})
	c := newClient(t, srv.URL)

	res, _ := c.do("GET", "/ui", nil, nil)
	require.Equal(t, http.StatusMovedPermanently, res.StatusCode)
	res, _ = c.do("GET", "/ui/login", nil, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "no login without a token")
	res, page := c.do("GET", "/ui/lanes", nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = c.do("POST", "/ui/lanes/mail/pause", url.Values{}, nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = c.do("POST", "/ui/lanes/mail/pause", url.Values{"csrf": {csrfOf(t, page)}}, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

// The login form in the browser: the overview after the right token.
func TestLoginInBrowser(t *testing.T) {
	b := uitest.OpenSQLite(t)
	seed(t, b)
	srv := uitest.NewServer(t, b, server.Config{APIToken: testToken})
	tab := browser.Tab(t, srv.URL, "sqlite")
	tab.Open("/ui/lanes")
	require.Equal(t, "/ui/login?next=%2Fui%2Flanes", tab.Path())
	tab.Screenshot("login")
	tab.SetValue("#token", testToken)
	tab.SubmitForm("#token")
	tab.WaitText("#lanes", "mail")
	require.Equal(t, "/ui/lanes", tab.Path())
	require.NotContains(t, tab.HTML(), testToken)
}

// Behind a reverse proxy that rewrites Host, the dashboard accepts forms
// whose Origin is --public-url's, still refuses other origins, and marks
// its cookies Secure when the public URL is https.
func TestPublicURLBehindProxy(t *testing.T) {
	b := uitest.OpenSQLite(t)
	seed(t, b)
	const public = "https://ff.example.com"
	srv := uitest.NewServer(t, b, server.Config{APIToken: testToken, PublicURL: public + "/"})
	c := newClient(t, srv.URL)
	fromPublic := map[string]string{"Origin": public, "Sec-Fetch-Site": "same-origin"}

	res, _ := c.do("POST", "/ui/login", url.Values{"token": {testToken}, "next": {"/ui/lanes"}}, fromPublic)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "a login from the public origin")
	cookies := res.Cookies()
	require.Len(t, cookies, 1)
	require.True(t, cookies[0].Secure, "https public URL: Secure cookie")
	// The jar keeps a Secure cookie from plain http, as a TLS proxy's
	// client would send it: hand it over as the proxy does.
	session := map[string]string{"Cookie": cookies[0].Name + "=" + cookies[0].Value}
	with := func(h map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range []map[string]string{session, h} {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	_, page := c.do("GET", "/ui/lanes", nil, session)
	csrf := csrfOf(t, page)
	res, _ = c.do("POST", "/ui/lanes/mail/pause", url.Values{"csrf": {csrf}}, with(map[string]string{"Origin": "https://evil.example"}))
	require.Equal(t, http.StatusForbidden, res.StatusCode, "another origin")
	res, _ = c.do("POST", "/ui/lanes/mail/pause", url.Values{"csrf": {csrf}, "back": {"/ui/lanes"}}, with(fromPublic))
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "the public origin")
	for _, ck := range res.Cookies() {
		require.True(t, ck.Secure, "flash cookie %s", ck.Name)
	}
	paused, err := b.LaneStates(t.Context(), backend.LaneStatesParams{})
	require.NoError(t, err)
	require.Len(t, paused, 1)
}

func TestPublicOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://FF.example.com":      "https://ff.example.com",
		"http://10.0.0.7:8080/":       "http://10.0.0.7:8080",
		"https://ff.example.com:8443": "https://ff.example.com:8443",
	} {
		got, err := ui.PublicOrigin(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"ff.example.com", "ftp://ff.example.com", "https://", "https://u:p@ff.example.com",
		"https://ff.example.com/ui", "https://ff.example.com/?x=1", "https://ff.example.com/#top", "http://[::1"} {
		_, err := ui.PublicOrigin(bad)
		require.Error(t, err, bad)
	}
}

// Failed sign-ins are bounded per client address: past the burst even
// the right token is answered 429 with Retry-After, without a session.
func TestLoginThrottlesFailures(t *testing.T) {
	b := uitest.OpenSQLite(t)
	srv := uitest.NewServer(t, b, server.Config{APIToken: testToken})
	c := newClient(t, srv.URL)
	for i := range 10 {
		res, _ := c.do("POST", "/ui/login", url.Values{"token": {"guess"}}, nil)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode, "failure %d", i)
	}
	res, body := c.do("POST", "/ui/login", url.Values{"token": {testToken}}, nil)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.NotEmpty(t, res.Header.Get("Retry-After"))
	require.Contains(t, body, "Too many failed sign-ins")
	require.Empty(t, res.Cookies(), "no session while throttled")
}
