package uitest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// actionTimeout bounds one step of a test (a navigation, a wait).
const actionTimeout = 15 * time.Second

// Tab is one browser tab in a browser context of its own (its own
// cookies), on the server at Base. Console errors and uncaught
// exceptions seen while it is open fail the test when it closes.
type Tab struct {
	t    testing.TB
	ctx  context.Context
	Base string
	// Prefix names its screenshots: <Prefix>-<page>.png.
	Prefix string

	mu   sync.Mutex
	errs []string
}

// Tab opens a tab on the server at base; it closes with the test. It
// skips the test (or fails it, when required) without a browser.
func (b *Browser) Tab(t testing.TB, base, prefix string) *Tab {
	t.Helper()
	b.need(t)
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	tab := &Tab{t: t, ctx: ctx, Base: strings.TrimSuffix(base, "/"), Prefix: prefix}
	msgs := chromedp.Console(ctx) // opens the tab and listens before anything loads
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				tab.mu.Lock()
				tab.errs = append(tab.errs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				tab.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		tab.NoConsoleErrors()
		cancel()
		<-done
	})
	return tab
}

// NoConsoleErrors fails the test for every console error or exception so
// far.
func (p *Tab) NoConsoleErrors() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errs {
		p.t.Errorf("browser console: %s", e)
	}
	p.errs = nil
}

// ExpectConsoleError takes the console errors so far that contain want
// (a page served with an error status logs one), failing the test when
// there is none.
func (p *Tab) ExpectConsoleError(want string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.errs[:0]
	found := false
	for _, e := range p.errs {
		if strings.Contains(e, want) {
			found = true
			continue
		}
		kept = append(kept, e)
	}
	p.errs = kept
	if !found {
		p.t.Errorf("expected a browser console error containing %q", want)
	}
}

// Do runs the steps, bounded by actionTimeout, failing the test on error.
func (p *Tab) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	run(p, what, chromedp.Steps(steps...))
}

// run runs one action, bounded by actionTimeout, failing the test on
// error.
func run[T any](p *Tab, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Eval evaluates a JavaScript expression and returns its value.
func Eval[T any](p *Tab, expr string) T {
	p.t.Helper()
	return run(p, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// Open loads path (e.g. /ui/executions) and waits for the page.
func (p *Tab) Open(path string) {
	p.t.Helper()
	p.Do("open "+path, chromedp.Navigate(p.Base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// Path is the path and query of the page shown.
func (p *Tab) Path() string {
	p.t.Helper()
	return Eval[string](p, "location.pathname + location.search")
}

// Text is the visible text of the first element matching css.
func (p *Tab) Text(css string) string {
	p.t.Helper()
	return run(p, "text of "+css, chromedp.Text(chromedp.CSS(css)))
}

// WaitText waits until the first element matching css shows want: it is
// rendered (innerText of a hidden element is its text all the same) and
// its text includes want.
func (p *Tab) WaitText(css, want string) {
	p.t.Helper()
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.getClientRects().length > 0 && e.innerText.includes(%q); })()`, css, want)
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		got, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).innerText || "(no element)"`, css)))
		p.t.Fatalf("waiting for %q in %s: %v; it shows: %q", want, css, err, got)
	}
}

// Submit clicks the submit button matching css, accepts the confirm
// dialog and waits for the page the action returns to.
func (p *Tab) Submit(css string) {
	p.t.Helper()
	p.Do("click "+css, chromedp.Click(chromedp.CSS(css)), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")))
	run(p, "confirm "+css, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#confirm-ok"))))
}

// SubmitForm submits the form of the element matching css (no confirm
// step: a login, a filter) and waits for the page it leads to.
func (p *Tab) SubmitForm(css string) {
	p.t.Helper()
	run(p, "submit "+css, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS(css))))
}

// ColorScheme makes the page see prefers-color-scheme as scheme
// ("light" or "dark").
func (p *Tab) ColorScheme(scheme string) {
	p.t.Helper()
	params := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}
	p.Do("color scheme "+scheme, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, params)
		return err
	}))
}

// SetValue sets a form field's value.
func (p *Tab) SetValue(css, value string) {
	p.t.Helper()
	p.Do("set "+css, chromedp.SetValue(chromedp.CSS(css), value))
}

// HTML is the page's markup as served and changed since.
func (p *Tab) HTML() string {
	p.t.Helper()
	return Eval[string](p, "document.documentElement.outerHTML")
}

// Screenshot writes a full-page PNG of the page to
// .artifacts/ui/<Prefix>-<name>.png at the repository root.
func (p *Tab) Screenshot(name string) string {
	p.t.Helper()
	png := run(p, "screenshot "+name, chromedp.FullScreenshot(100))
	dir, err := ArtifactDir()
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, p.Prefix+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("write screenshot: %v", err)
	}
	return path
}

// ArtifactDir is .artifacts/ui at the repository root (the directory of
// go.mod above the working directory), created when missing.
func ArtifactDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
	out := filepath.Join(dir, ".artifacts", "ui")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", out, err)
	}
	return out, nil
}
