package ui

import (
	"net/http"
	"strings"
)

// route is one dashboard route; exactly one of get, post and live is set.
//
// Adding a page takes three steps, all small:
//
//  1. A handler func(d *Dashboard, r *http.Request) (page, error) that
//     reads the backend (through the API's parameter types, so the same
//     normalisation applies) and returns the template to render and its
//     data. An error renders the error page with the API's message and
//     status; input the page refuses but can still show (a filter) goes
//     in page.Refused, shown in place with the form kept.
//  2. A template templates/<name>.html that defines "content" (and may
//     use the partials of layout.html: "csrf", "state", "flash"). Its dot
//     is the view: .Data is the handler's data, $.CSRF and $.Here feed
//     the action forms.
//  3. A line in routes() below; a nav label puts it in the nav, in table
//     order.
//
// An action is a POST route: a func(d *Dashboard, r *http.Request)
// (string, error) that reads r.Form (already parsed and CSRF-checked),
// calls the backend and returns the message to show. The dashboard then
// redirects back (form field "back", a /ui/ path) and shows the message,
// or the API's error message, in place at the top of that page. Its form
// is:
//
//	<form method="post" action="/ui/things/{{.ID}}/do" data-confirm="Do it to {{.ID}}?">
//	  {{template "csrf" $}}
//	  <button type="submit">Do it</button>
//	</form>
//
// data-confirm makes the script ask first (a <dialog>); every action has
// one. Put dynamic path segments through {{pathEscape .X}} (a lane may
// hold "/"). The pages' styles are assets/ui.css: the CSP forbids inline
// style and script, so draw sizes with SVG attributes or <meter>.
//
// A live route streams Server-Sent Events (see live.go): the page marks
// an element data-live="<its URL>" and the script dispatches each named
// event to its handler in assets/ui.js. Browser tests use
// internal/uitest (see main_test.go and seed_test.go).
type route struct {
	pattern string // ServeMux path, e.g. /ui/executions/{id}
	nav     string // nav label of a GET page; "" keeps it out of the nav
	get     func(d *Dashboard, r *http.Request) (page, error)
	post    func(d *Dashboard, r *http.Request) (string, error)
	live    func(d *Dashboard, w http.ResponseWriter, r *http.Request) error
}

// routes is the dashboard's one route table: pages (in nav order),
// their actions and their live feeds.
func (d *Dashboard) routes() []route {
	return []route{
		{pattern: "/ui/{$}", nav: "Overview", get: (*Dashboard).overview},
		{pattern: "/ui/overview/live", live: (*Dashboard).overviewLive},
		{pattern: "/ui/executions", nav: "Executions", get: (*Dashboard).executions},
		{pattern: "/ui/executions/{id}", get: (*Dashboard).execution},
		{pattern: "/ui/executions/{id}/live", live: (*Dashboard).executionLive},
		{pattern: "/ui/executions/{id}/cancel", post: (*Dashboard).cancelExecution},
		{pattern: "/ui/executions/{id}/replay", post: (*Dashboard).replayExecution},
		{pattern: "/ui/executions/{id}/priority", post: (*Dashboard).changePriority},
		{pattern: "/ui/executions/{id}/revoke-lease", post: (*Dashboard).revokeLease},
		{pattern: "/ui/executions/{id}/resume", post: (*Dashboard).resumeExecution},
		{pattern: "/ui/flows", nav: "Flows", get: (*Dashboard).flows},
		{pattern: "/ui/flows/{id}", get: (*Dashboard).flow},
		{pattern: "/ui/flows/{id}/live", live: (*Dashboard).flowLiveFeed},
		{pattern: "/ui/flows/{id}/cancel", post: (*Dashboard).cancelFlow},
		{pattern: "/ui/approvals", nav: "Approvals", get: (*Dashboard).approvals},
		{pattern: "/ui/approvals/live", live: (*Dashboard).approvalsLive},
		{pattern: "/ui/approvals/{id}/approve", post: (*Dashboard).approveWaitpoint},
		{pattern: "/ui/approvals/{id}/reject", post: (*Dashboard).rejectWaitpoint},
		{pattern: "/ui/budgets", nav: "Budgets", get: (*Dashboard).budgets},
		{pattern: "/ui/budgets/{id}/reset", post: (*Dashboard).resetBudget},
		{pattern: "/ui/events", nav: "Events", get: (*Dashboard).events},
		{pattern: "/ui/events/live", live: (*Dashboard).eventsLive},
		{pattern: "/ui/lanes", nav: "Lanes", get: (*Dashboard).lanes},
		{pattern: "/ui/lanes/{lane}/pause", post: (*Dashboard).pauseLane},
		{pattern: "/ui/lanes/{lane}/resume", post: (*Dashboard).resumeLane},
	}
}

// navItem is one entry of the nav.
type navItem struct {
	Path, Label string
}

// register mounts the fixed routes (assets, login, logout, not found)
// and the route table, and builds the nav from it.
func (d *Dashboard) register(table []route) {
	d.mux = http.NewServeMux()
	d.mux.Handle("GET /ui/assets/", assetHandler())
	d.mux.HandleFunc("GET /ui/login", d.loginForm)
	d.mux.HandleFunc("POST /ui/login", d.login)
	d.mux.Handle("POST /ui/logout", d.signedIn(d.checked(http.HandlerFunc(d.logout))))
	d.mux.Handle("/ui/", d.signedIn(http.HandlerFunc(d.notFound)))
	for _, rt := range table {
		switch {
		case rt.get != nil:
			d.mux.Handle("GET "+rt.pattern, d.signedIn(d.servePage(rt.get)))
		case rt.post != nil:
			d.mux.Handle("POST "+rt.pattern, d.signedIn(d.checked(d.serveAction(rt.post))))
		case rt.live != nil:
			d.mux.Handle("GET "+rt.pattern, d.signedIn(d.serveLive(rt.live)))
		}
		if rt.nav != "" {
			d.nav = append(d.nav, navItem{Path: strings.TrimSuffix(rt.pattern, "{$}"), Label: rt.nav})
		}
	}
}
