package ui_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/internal/uitest"
	"github.com/flowfabric-go/flowfabric/server"
)

// On a phone-sized screen no page scrolls sideways (wide tables scroll
// inside their box), a dark system theme gives the dark theme, and every
// control can be reached with the keyboard: Tab moves the focus, which is
// drawn.
func TestPhoneLayoutAndKeyboard(t *testing.T) {
	b := uitest.OpenSQLite(t)
	s := seed(t, b)
	srv := uitest.NewServer(t, b, server.Config{})
	tab := browser.Tab(t, srv.URL, "sqlite")
	tab.Do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	for name, path := range map[string]string{"overview": "/ui/", "executions": "/ui/executions",
		"execution": "/ui/executions/" + s.active.String(), "events": "/ui/events?from=start", "lanes": "/ui/lanes"} {
		tab.Open(path)
		overflow := uitest.Eval[bool](tab, `document.documentElement.scrollWidth > window.innerWidth + 1`)
		require.False(t, overflow, "%s scrolls sideways on a phone", name)
		tab.Screenshot("phone-" + name)
	}

	tab.Do("desktop viewport", chromedp.EmulateViewport(1280, 900))
	light := uitest.Eval[string](tab, `getComputedStyle(document.body).backgroundColor`)
	tab.ColorScheme("dark")
	tab.Open("/ui/executions/" + s.active.String())
	require.NotEqual(t, light, uitest.Eval[string](tab, `getComputedStyle(document.body).backgroundColor`), "the dark theme follows the system")
	tab.Screenshot("execution-dark")
	tab.ColorScheme("light")
	tab.Open("/ui/executions/" + s.active.String())
	focused := map[string]bool{}
	for range 12 {
		tab.Do("tab key", chromedp.KeyEvent("\t"))
		focused[uitest.Eval[string](tab, `document.activeElement.id || document.activeElement.textContent.trim()`)] = true
	}
	require.True(t, focused["Skip to content"], "the skip link comes first: %v", focused)
	require.True(t, focused["act-cancel"], "the cancel button is reachable: %v", focused)
	outline := uitest.Eval[string](tab, `getComputedStyle(document.activeElement).outlineStyle`)
	require.NotEqual(t, "none", outline, "the focus is drawn")
}
