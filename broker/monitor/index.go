package monitor

import (
	_ "embed"
	"strings"
)

// statusPage is the status page: static HTML with a few lines of plain
// JavaScript that poll /statusz every five seconds and draw the last hour
// as inline SVG. No build step and no framework; docs/status-page.md
// describes it.
//
//go:embed status.html
var statusPage string

// linksMarker is where the page lists the endpoints.
const linksMarker = "<!--links-->"

// handleRoot serves the status page, with links to the endpoints the
// Source offers (like nats-server's index at /), so the page is useful
// without JavaScript too.
func (s *Server) handleRoot(w *response) {
	before, after, _ := strings.Cut(statusPage, linksMarker)
	w.status = statusOK
	w.contentType = "text/html; charset=utf-8"
	w.noStore = true
	b := append(w.body[:0], before...)
	link := func(path, title string) {
		// Relative links keep working behind a path-prefixing proxy.
		b = append(b, `<li><a href=".`+path+`">`+title+`</a> <code>`+path+"</code></li>\n"...)
	}
	link("/statusz", "Status (JSON)")
	link("/varz", "General")
	link("/connz", "Connections")
	link("/subsz", "Subscriptions")
	if _, ok := s.src.(LeafzSource); ok {
		link("/leafz", "LeafNodes")
	}
	if _, ok := s.src.(BridgezSource); ok {
		link("/bridgez", "Bridges")
	}
	link("/healthz", "Health Probe")
	link("/metrics", "Prometheus Metrics")
	w.body = append(b, after...)
}
