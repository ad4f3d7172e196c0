package monitor

import (
	"html"
	"strings"
)

// handleRoot serves a small HTML index of the endpoints, like nats-server's.
func (s *Server) handleRoot(w *response) {
	v := s.src.Varz()
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>leafbox ")
	b.WriteString(html.EscapeString(v.ServerName))
	b.WriteString("</title></head>\n<body>\n<h1>leafbox ")
	b.WriteString(html.EscapeString(v.Version))
	b.WriteString("</h1>\n<p>")
	b.WriteString(html.EscapeString(v.ServerName))
	b.WriteString("</p>\n<ul>\n")
	link := func(path, title string) {
		// Relative links keep working behind a path-prefixing proxy.
		b.WriteString(`<li><a href=".` + path + `">` + title + `</a> <code>` + path + "</code></li>\n")
	}
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
	b.WriteString("</ul>\n</body>\n</html>\n")

	w.status = statusOK
	w.contentType = "text/html; charset=utf-8"
	w.body = append(w.body[:0], b.String()...)
}
