package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

//go:embed templates/*.html
var templateFS embed.FS

// page is what a GET handler answers: the template (a file of templates/
// without .html), the page title and the template's data. A handler that
// refuses its input but can still show its page (a filter form) sets the
// refusal as Refused: shown in place, with the API's status.
type page struct {
	Template string
	Title    string
	Data     any
	Refused  error
}

// view is the dot of every template: the layout's fields and the page's
// data.
type view struct {
	Title    string
	Nav      []navItem
	Current  string // the nav path of this page
	Here     string // the request path and query: where an action returns
	CSRF     string
	SignedIn bool // a session exists (auth on): the nav offers sign-out
	Flash    *flash
	Backend  string
	Version  string
	Data     any
}

// renderer holds one template set per page, each the layout plus that
// page's file.
type renderer struct {
	sets map[string]*template.Template
}

func mustRenderer() *renderer {
	base := template.Must(template.New("layout.html").Funcs(templateFuncs()).ParseFS(templateFS, "templates/layout.html"))
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(fmt.Errorf("ui: list templates: %w", err))
	}
	r := &renderer{sets: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		set := template.Must(base.Clone())
		r.sets[name] = template.Must(set.ParseFS(templateFS, f))
	}
	return r
}

// render executes the page's template into a buffer, so a template error
// never leaves half a page.
func (r *renderer) render(name string, v view) (*bytes.Buffer, error) {
	set, ok := r.sets[name]
	if !ok {
		return nil, fmt.Errorf("ui: no template %q", name)
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, fmt.Errorf("ui: render %s: %w", name, err)
	}
	return &buf, nil
}

// servePage serves a GET page: the handler's data in its template, or the
// error page with the API's message and status.
func (d *Dashboard) servePage(get func(*Dashboard, *http.Request) (page, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := get(d, r)
		if err != nil {
			d.serveError(w, r, err)
			return
		}
		status := http.StatusOK
		if p.Refused != nil {
			status = wire.StatusOf(wire.ErrorOf(p.Refused))
		}
		d.show(w, r, status, p)
	})
}

// show renders p in the layout and writes it.
func (d *Dashboard) show(w http.ResponseWriter, r *http.Request, status int, p page) {
	v := d.viewOf(w, r, p)
	body, err := d.pages.render(p.Template, v)
	if err != nil {
		d.log.ErrorContext(r.Context(), "ui render failed", "template", p.Template, "err", err)
		http.Error(w, "dashboard: page failed to render", http.StatusInternalServerError)
		return
	}
	d.writePage(w, status, body)
}

func (d *Dashboard) viewOf(w http.ResponseWriter, r *http.Request, p page) view {
	v := view{Title: p.Title, Nav: d.nav, Here: r.URL.RequestURI(), Backend: d.b.Label(), Version: d.version,
		Data: p.Data, Flash: d.takeFlash(w, r)}
	if p.Refused != nil {
		f := flashOf(p.Refused)
		v.Flash = &f
	}
	v.Current = currentNav(d.nav, r.URL.Path)
	if s := sessionOf(r.Context()); s != "" {
		v.CSRF, v.SignedIn = d.auth.csrfToken(s), d.auth.enabled()
	}
	return v
}

// currentNav is the nav entry the path is under: the longest prefix.
func currentNav(nav []navItem, p string) string {
	cur := ""
	for _, n := range nav {
		under := p == n.Path || (n.Path != Prefix && strings.HasPrefix(p, n.Path+"/"))
		if under && len(n.Path) > len(cur) {
			cur = n.Path
		}
	}
	return cur
}

// errorView is the data of the error page.
type errorView struct {
	Status  int
	Message string
}

// serveError renders err as the API would word it, with its status.
func (d *Dashboard) serveError(w http.ResponseWriter, r *http.Request, err error) {
	e := wire.ErrorOf(err)
	d.serveErrorStatus(w, r, wire.StatusOf(e), e)
}

// serveErrorStatus renders e with status.
func (d *Dashboard) serveErrorStatus(w http.ResponseWriter, r *http.Request, status int, e *ff.Error) {
	if status >= 500 {
		d.log.ErrorContext(r.Context(), "ui page failed", "path", r.URL.Path, "err", e)
	}
	d.show(w, r, status, page{Template: "error", Title: http.StatusText(status),
		Data: errorView{Status: status, Message: wire.BodyOf(e).Error}})
}

func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	d.serveError(w, r, ff.NotFound("page", "%s", wire.Clip(r.URL.Path)))
}
