package monitor

import (
	"strconv"
	"time"
)

// Response status codes the monitor sends.
const (
	statusOK                  = 200
	statusBadRequest          = 400
	statusUnauthorized        = 401
	statusNotFound            = 404
	statusMethodNotAllowed    = 405
	statusContentTooLarge     = 413
	statusHeaderTooLarge      = 431
	statusInternalServerError = 500
	statusServiceUnavailable  = 503
	statusVersionNotSupported = 505
)

const (
	textContentType = "text/plain; charset=utf-8"
	jsonContentType = "application/json"
	httpDateLayout  = "Mon, 02 Jan 2006 15:04:05 GMT"
	allowedMethods  = "GET, HEAD"
)

// response is what a handler answers. The server writes the status line
// and headers from it, and the body unless the request was HEAD.
type response struct {
	status      int
	contentType string
	// body must be owned by the response: the connection keeps its
	// backing array as the scratch body of the next request.
	body []byte
	// cors adds "Access-Control-Allow-Origin: *", as nats-server does on
	// its JSON endpoints; noStore adds "Cache-Control: no-store".
	cors, noStore bool
	// allow adds "Allow: GET, HEAD" (405 answers).
	allow bool
	// nosniff adds "X-Content-Type-Options: nosniff" (plain-text errors).
	nosniff bool
	// challenge adds the WWW-Authenticate header of Basic authentication
	// (401 answers).
	challenge bool
}

// text answers code with a one-line plain-text body.
func (w *response) text(code int, msg string) {
	w.status = code
	w.contentType = textContentType
	w.nosniff = true
	w.body = append(append(w.body[:0], msg...), '\n')
}

// statusText is the reason phrase of the codes the monitor sends.
func statusText(code int) string {
	switch code {
	case statusOK:
		return "OK"
	case statusBadRequest:
		return "Bad Request"
	case statusUnauthorized:
		return "Unauthorized"
	case statusNotFound:
		return "Not Found"
	case statusMethodNotAllowed:
		return "Method Not Allowed"
	case statusContentTooLarge:
		return "Content Too Large"
	case statusHeaderTooLarge:
		return "Request Header Fields Too Large"
	case statusInternalServerError:
		return "Internal Server Error"
	case statusServiceUnavailable:
		return "Service Unavailable"
	case statusVersionNotSupported:
		return "HTTP Version Not Supported"
	}
	return "Unknown"
}

// appendHead appends the status line and headers of w. close adds
// "Connection: close".
func appendHead(b []byte, w *response, now time.Time, close bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, statusText(w.status)...)
	b = append(b, "\r\nDate: "...)
	b = now.UTC().AppendFormat(b, httpDateLayout)
	if w.contentType != "" {
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, w.contentType...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(w.body)), 10)
	if w.cors {
		b = append(b, "\r\nAccess-Control-Allow-Origin: *"...)
	}
	if w.noStore {
		b = append(b, "\r\nCache-Control: no-store"...)
	}
	if w.allow {
		b = append(b, "\r\nAllow: "+allowedMethods...)
	}
	if w.nosniff {
		b = append(b, "\r\nX-Content-Type-Options: nosniff"...)
	}
	if w.challenge {
		b = append(b, "\r\nWWW-Authenticate: "+basicRealm...)
	}
	if close {
		b = append(b, "\r\nConnection: close"...)
	}
	return append(b, "\r\n\r\n"...)
}
