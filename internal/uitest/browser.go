// Package uitest drives the dashboard in a real headless Chromium for the
// tests of server/ui: one browser per test binary (started in TestMain),
// one isolated browser context (own cookies) per test tab, console errors
// and uncaught exceptions collected and failing the test, and full-page
// screenshots written to .artifacts/ui/ at the repository root.
//
// The browser is FF_TEST_BROWSER, else the first of chromium,
// chromium-browser, google-chrome on PATH (or /usr/bin/chromium). When
// none is found the browser tests skip with one line, unless
// FF_TEST_REQUIRE_BROWSER=1 makes that a failure.
package uitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium shared by the tests of a binary.
type Browser struct {
	missing string // why there is no browser; "" when there is one
	dataDir string
	alloc   context.Context
	root    context.Context // the browser's first tab: it owns the process
	stop    []context.CancelFunc
}

// FindBrowser returns the browser binary to drive, or "" when none is
// installed.
func FindBrowser() string {
	if p := os.Getenv("FF_TEST_BROWSER"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// required reports whether a missing browser fails the tests.
func required() bool { return os.Getenv("FF_TEST_REQUIRE_BROWSER") == "1" }

// Start starts the shared browser. It never fails: a browser that cannot
// be found or started makes every Tab skip (or fail, when required), with
// the reason. Close it when the tests are done.
func Start() *Browser {
	path := FindBrowser()
	if path == "" {
		return &Browser{missing: "no browser found (set FF_TEST_BROWSER, or install Debian's chromium)"}
	}
	dir, err := os.MkdirTemp("", "ff-uitest-")
	if err != nil {
		return &Browser{missing: fmt.Sprintf("browser profile dir: %v", err)}
	}
	b := &Browser{dataDir: dir}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(dir),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900)}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	b.alloc, b.root, b.stop = alloc, root, []context.CancelFunc{cancelRoot, cancelAlloc}
	if err := chromedp.Do(root); err != nil {
		b.Close()
		return &Browser{missing: fmt.Sprintf("browser %s did not start: %v", path, err)}
	}
	return b
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	for _, stop := range b.stop {
		stop()
	}
	b.stop = nil
	if b.dataDir != "" {
		_ = os.RemoveAll(b.dataDir)
	}
}

// need skips (or fails) t when there is no browser.
func (b *Browser) need(t testing.TB) {
	t.Helper()
	if b == nil || b.missing == "" {
		return
	}
	if required() {
		t.Fatalf("browser required (FF_TEST_REQUIRE_BROWSER=1): %s", b.missing)
	}
	t.Skipf("skipping browser test: %s", b.missing)
}
