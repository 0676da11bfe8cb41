package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"time"
	"unicode/utf8"
)

// templateFuncs are the helpers every template may call.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"when":     when,
		"whenMs":   func(ms int64) string { return whenMs(ms) },
		"payload":  payloadText,
		"size":     sizeText,
		"progress": progressText,
		// pathEscape makes a value one path segment (a lane may hold "/").
		"pathEscape": url.PathEscape,
	}
}

// timeLayout is how the dashboard shows an instant (UTC).
const timeLayout = "2006-01-02 15:04:05.000"

// when formats t in UTC; the zero time is "–".
func when(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format(timeLayout)
}

// whenMs formats Unix milliseconds; 0 is "–".
func whenMs(ms int64) string {
	if ms == 0 {
		return "–"
	}
	return when(time.UnixMilli(ms))
}

// maxShownPayload bounds a payload rendered into a page.
const maxShownPayload = 64 << 10

// payloadText is a stored payload as shown: JSON indented; anything
// else (or JSON too large to show) as its size.
func payloadText(b []byte) string {
	if len(b) == 0 {
		return "(none)"
	}
	if len(b) > maxShownPayload {
		return sizeText(len(b)) + " (too large to show)"
	}
	if !json.Valid(b) {
		kind := "binary"
		if utf8.Valid(b) {
			kind = "text, not JSON"
		}
		return sizeText(len(b)) + " (" + kind + ")"
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return sizeText(len(b))
	}
	return out.String()
}

// sizeText is a byte count for people.
func sizeText(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
