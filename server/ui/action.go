package ui

import (
	"encoding/base64"
	"encoding/json"
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// An action's outcome travels to the page it returns to in a short-lived
// flash cookie, read (and cleared) by that page: the page shows it in
// place, and reloading it does not repeat the action.

const (
	flashCookie   = "ff_ui_flash"
	maxFlashBytes = 1000
)

// flash is an action's outcome: its message, or the API's error message
// (which starts with the error's kind).
type flash struct {
	OK      bool   `json:"ok"`
	Message string `json:"msg"`
}

// serveAction runs a POST action and returns to the form's page with its
// outcome.
func (d *Dashboard) serveAction(act func(*Dashboard, *http.Request) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, err := act(d, r)
		f := flash{OK: true, Message: msg}
		if err != nil {
			if wire.StatusOf(wire.ErrorOf(err)) >= 500 {
				d.log.ErrorContext(r.Context(), "ui action failed", "path", r.URL.Path, "err", err)
			}
			f = flashOf(err)
		}
		d.setFlash(w, r, f)
		http.Redirect(w, r, localPath(r.PostForm.Get("back")), http.StatusSeeOther)
	})
}

// flashOf is err as the API words it.
func flashOf(err error) flash {
	return flash{Message: wire.BodyOf(wire.ErrorOf(err)).Error}
}

func (d *Dashboard) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	f.Message = ff.CutText(f.Message, maxFlashBytes)
	b, _ := json.Marshal(f) // a flash always encodes
	http.SetCookie(w, d.site.cookie(r, flashCookie, base64.RawURLEncoding.EncodeToString(b), 60))
}

// takeFlash returns the pending flash, if any, and clears it.
func (d *Dashboard) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, d.site.cookie(r, flashCookie, "", -1))
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	var f flash
	if err != nil || json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &f
}
