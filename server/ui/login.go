package ui

import (
	"net/http"
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
	if !d.site.sameOrigin(r) || !d.auth.tokenMatches(r.PostFormValue("token")) {
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
