package ui_test

import (
	"os"
	"testing"

	"github.com/flowfabric-go/flowfabric/internal/uitest"
)

// browser is the one headless Chromium every browser test of this binary
// shares (a tab and a browser context each); TestMain owns it.
var browser *uitest.Browser

func TestMain(m *testing.M) {
	browser = uitest.Start()
	code := m.Run()
	browser.Close()
	os.Exit(code)
}
