package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
)

// Request parsing for the monitor's HTTP/1.x server (RFC 9112). It keeps
// only what a monitoring GET needs: method, path, query, version and the
// headers that decide framing and connection reuse. Anything ambiguous is
// rejected rather than guessed, since the listener may face the LAN.

// Request errors; statusOf maps each to the status code of the answer.
var (
	// errMalformed is a request line or header that does not parse (400).
	errMalformed = errors.New("monitor: http: malformed request")
	// errHeadTooLarge is a request line plus headers over the limit (431).
	errHeadTooLarge = errors.New("monitor: http: request header fields too large")
	// errVersion is an HTTP version other than 1.0 and 1.1 (505).
	errVersion = errors.New("monitor: http: unsupported HTTP version")
	// errBodyTooLarge is a request body too large to discard (413).
	errBodyTooLarge = errors.New("monitor: http: request body too large")
)

// Method names the server answers; others get 405.
const (
	methodGet  = "GET"
	methodHead = "HEAD"
)

// request is one parsed request head.
type request struct {
	// method is the request method; GET and HEAD share one string each.
	method string
	// path is the percent-decoded path of the target.
	path string
	// rawQuery is the target's query, without the '?', still encoded.
	rawQuery string
	// minor is the HTTP/1.x minor version: 0 or 1.
	minor int
	// close is set when the connection must close after the response:
	// HTTP/1.0, or "Connection: close".
	close bool
	// bodyLen is the Content-Length; 0 when absent.
	bodyLen int64
	// authorization is the Authorization header's value; "" when absent.
	authorization string
	// remote is the client's address (set by the server, not parsed).
	remote net.Addr
}

// headEnd returns the length of the request head at the start of buf (the
// request line, the headers and the empty line that ends them), or -1 if
// buf holds no complete head yet. Lines end in CRLF or a bare LF; empty
// lines before the request line are part of the head [RFC 9112 2.2].
func headEnd(buf []byte) int {
	i := 0
	for i < len(buf) && (buf[i] == '\r' || buf[i] == '\n') {
		i++
	}
	for {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return -1
		}
		k := i + j + 1 // just after a line's LF
		switch {
		case k < len(buf) && buf[k] == '\n':
			return k + 1
		case k+1 < len(buf) && buf[k] == '\r' && buf[k+1] == '\n':
			return k + 2
		}
		i = k
	}
}

// parseRequest parses a head found by headEnd.
func parseRequest(head []byte) (request, error) {
	var req request
	for len(head) > 0 && (head[0] == '\r' || head[0] == '\n') {
		head = head[1:]
	}
	line, rest, err := nextLine(head)
	if err != nil {
		return req, err
	}
	if err := req.parseRequestLine(line); err != nil {
		return req, err
	}
	hosts, lengths := 0, 0
	for {
		line, rest, err = nextLine(rest)
		if err != nil {
			return req, err
		}
		if len(line) == 0 {
			break
		}
		name, value, err := splitHeader(line)
		if err != nil {
			return req, err
		}
		switch {
		case bytes.EqualFold(name, []byte("Host")):
			hosts++
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := parseLength(value)
			if err != nil {
				return req, err
			}
			// Repeats must agree, or framing is ambiguous [RFC 9112 6.3].
			if lengths > 0 && n != req.bodyLen {
				return req, fmt.Errorf("%w: conflicting Content-Length", errMalformed)
			}
			req.bodyLen = n
			lengths++
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			// No request the monitor serves has a body worth decoding;
			// refusing chunked input also rules out smuggling tricks.
			return req, fmt.Errorf("%w: Transfer-Encoding not supported", errMalformed)
		case bytes.EqualFold(name, []byte("Connection")):
			req.close = req.close || hasCloseToken(value)
		case bytes.EqualFold(name, []byte("Authorization")):
			if req.authorization != "" {
				return req, fmt.Errorf("%w: more than one Authorization", errMalformed)
			}
			req.authorization = string(value)
		}
	}
	switch {
	case hosts > 1:
		return req, fmt.Errorf("%w: more than one Host", errMalformed)
	case hosts == 0 && req.minor == 1:
		// [RFC 9112 3.2]: a 1.1 request without Host gets 400.
		return req, fmt.Errorf("%w: missing Host", errMalformed)
	}
	// HTTP/1.0 keep-alive is a pre-standard extension; not offered.
	if req.minor == 0 {
		req.close = true
	}
	return req, nil
}

// nextLine splits off the first line of b, without its CRLF or LF. A CR
// anywhere else in a line is an error [RFC 9112 2.2].
func nextLine(b []byte) (line, rest []byte, err error) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line, rest = b[:i], b[i+1:]
	} else {
		line = b
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, nil, fmt.Errorf("%w: bare CR", errMalformed)
	}
	return line, rest, nil
}

// parseRequestLine parses "method SP target SP HTTP/1.x".
func (req *request) parseRequestLine(line []byte) error {
	method, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !isToken(method) {
		return fmt.Errorf("%w: bad request line", errMalformed)
	}
	target, version, ok := bytes.Cut(rest, []byte(" "))
	if !ok || len(target) == 0 {
		return fmt.Errorf("%w: bad request line", errMalformed)
	}
	minor, err := parseVersion(version)
	if err != nil {
		return err
	}
	req.minor = minor
	switch string(method) { // no allocation: compared, not stored
	case methodGet:
		req.method = methodGet
	case methodHead:
		req.method = methodHead
	default:
		req.method = string(method)
	}
	return req.parseTarget(target)
}

// parseVersion accepts HTTP/1.0 and HTTP/1.1; other well-formed versions
// are errVersion, anything else malformed.
func parseVersion(v []byte) (int, error) {
	if len(v) != len("HTTP/1.1") || !bytes.HasPrefix(v, []byte("HTTP/")) ||
		!isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return 0, fmt.Errorf("%w: bad HTTP version", errMalformed)
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, errVersion
	}
	return int(v[7] - '0'), nil
}

// parseTarget accepts the origin form ("/path?query") and the absolute
// form ("http://host/path?query") that servers must accept from proxies
// [RFC 9112 3.2.2].
func (req *request) parseTarget(t []byte) error {
	for _, c := range t {
		if c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: bad character in target", errMalformed)
		}
	}
	if t[0] != '/' {
		rest, ok := cutPrefixFold(t, "http://")
		if !ok {
			rest, ok = cutPrefixFold(t, "https://")
		}
		if !ok {
			return fmt.Errorf("%w: bad request target", errMalformed)
		}
		if i := bytes.IndexAny(rest, "/?"); i >= 0 {
			t = rest[i:]
		} else {
			t = []byte("/")
		}
		if t[0] == '?' {
			t = append([]byte("/"), t...)
		}
	}
	rawPath, rawQuery, _ := bytes.Cut(t, []byte("?"))
	path, err := url.PathUnescape(string(rawPath))
	if err != nil {
		return fmt.Errorf("%w: bad escape in path", errMalformed)
	}
	req.path = path
	if len(rawQuery) > 0 {
		req.rawQuery = string(rawQuery)
	}
	return nil
}

// splitHeader splits "name: value", trimming optional whitespace around
// the value. Whitespace before the colon and folded lines are errors
// [RFC 9112 5.1, 5.2].
func splitHeader(line []byte) (name, value []byte, err error) {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || !isToken(name) {
		return nil, nil, fmt.Errorf("%w: bad header line", errMalformed)
	}
	value = bytes.Trim(value, " \t")
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, fmt.Errorf("%w: bad character in header value", errMalformed)
		}
	}
	return name, value, nil
}

// maxLengthDigits keeps parseLength far from overflow.
const maxLengthDigits = 18

// parseLength parses a Content-Length: one or more digits.
func parseLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > maxLengthDigits {
		return 0, fmt.Errorf("%w: bad Content-Length", errMalformed)
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, fmt.Errorf("%w: bad Content-Length", errMalformed)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// hasCloseToken reports whether a Connection value lists "close".
func hasCloseToken(v []byte) bool {
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte(","))
		if bytes.EqualFold(bytes.Trim(tok, " \t"), []byte("close")) {
			return true
		}
	}
	return false
}

func cutPrefixFold(b []byte, prefix string) ([]byte, bool) {
	if len(b) < len(prefix) || !bytes.EqualFold(b[:len(prefix)], []byte(prefix)) {
		return b, false
	}
	return b[len(prefix):], true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether b is a non-empty RFC 9110 token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c):
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
