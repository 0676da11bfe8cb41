package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// loginView is the data of the login form.
type loginView struct {
	Next  string
	Error string
}

func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	if !d.auth.enabled() {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	d.show(w, r, http.StatusOK, page{Template: "login", Title: "Sign in",
		Data: loginView{Next: localPath(r.URL.Query().Get("next"))}})
}

// login checks the token (constant time) and starts a session. The token
// is compared, never echoed.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if !d.auth.enabled() {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	next := localPath(r.PostFormValue("next"))
	addr := clientAddr(r)
	if ok, wait := d.logins.allow(addr); !ok {
		secs := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		d.show(w, r, http.StatusTooManyRequests, page{Template: "login", Title: "Sign in",
			Data: loginView{Next: next, Error: fmt.Sprintf("Too many failed sign-ins from this address; try again in %d s.", secs)}})
		return
	}
	if !d.site.sameOrigin(r) || !d.auth.tokenMatches(r.PostFormValue("token")) {
		d.logins.failed(addr)
		d.show(w, r, http.StatusUnauthorized, page{Template: "login", Title: "Sign in",
			Data: loginView{Next: next, Error: "That token is not the server's API token."}})
		return
	}
	s := d.auth.newSession(time.Now())
	http.SetCookie(w, d.sessionCookie(r, s, int(sessionTTL/time.Second)))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, d.sessionCookie(r, "", -1))
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}
