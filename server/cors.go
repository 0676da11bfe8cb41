package server

import (
	"net/http"
	"slices"
)

// corsPolicy answers browser cross-origin checks. With no origins it does
// nothing at all.
type corsPolicy struct {
	any     bool
	origins []string
}

func newCORSPolicy(origins []string) corsPolicy {
	return corsPolicy{any: slices.Contains(origins, "*"), origins: slices.Clone(origins)}
}

func (c corsPolicy) allows(origin string) bool {
	return origin != "" && (c.any || slices.Contains(c.origins, origin))
}

// apply sets the CORS headers for an allowed origin and reports whether
// the request was a preflight it answered (204, before auth: browsers
// send no credentials on preflight).
func (c corsPolicy) apply(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if !c.allows(origin) {
		return false
	}
	h := w.Header()
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
