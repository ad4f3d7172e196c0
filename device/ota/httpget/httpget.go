// Package httpget is a minimal HTTP/1.1 GET client for downloading OTA
// bundles: plain TCP or TLS, Content-Length or chunked bodies, bounded
// redirects, timeouts, and transparent resumption with Range requests when
// a connection breaks. It keeps net/http (about 1.3 MiB on arm64) out of the
// device services: a build without the MQTT client bridge (tag
// leafbox_omit_mqttbridge) links no net/http and needs this client. The
// default build links part of net/http through paho's gorilla/websocket,
// but not http.Client's Transport, so using net/http here would add more
// than this package's ~12 KiB of symbols. The tag leafbox_omit_otahttp
// leaves this package out.
package httpget

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors.
var (
	ErrStatus        = errors.New("httpget: unexpected status")
	ErrTooManyHops   = errors.New("httpget: too many redirects")
	ErrProtocol      = errors.New("httpget: malformed response")
	ErrScheme        = errors.New("httpget: only http and https URLs")
	ErrRangeMismatch = errors.New("httpget: server resumed at the wrong offset")
	ErrChanged       = errors.New("httpget: resource changed while downloading")
)

// Options tune a download. Zero values mean the defaults.
type Options struct {
	// Timeout bounds connecting, the response headers, and every read (an
	// idle connection). Default 30s.
	Timeout time.Duration
	// MaxRedirects bounds redirects per request (default 5).
	MaxRedirects int
	// Retries is how many times a broken body is resumed (default 5).
	Retries int
	// TLS is the client TLS configuration for https (default: system roots).
	TLS *tls.Config
	// UserAgent is sent as User-Agent (default "leafbox").
	UserAgent string
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 5
	}
	if o.Retries == 0 {
		o.Retries = 5
	}
	if o.UserAgent == "" {
		o.UserAgent = "leafbox"
	}
	return o
}

// Source is an OTA bundle source at a URL.
type Source struct {
	URL  string
	Opts Options
}

// Open implements ota.Source.
func (s Source) Open(ctx context.Context) (io.ReadCloser, error) { return Get(ctx, s.URL, s.Opts) }

// Get starts downloading rawURL. The body resumes by itself (Range
// requests) when the connection breaks, up to Options.Retries times.
func Get(ctx context.Context, rawURL string, opts Options) (io.ReadCloser, error) {
	opts = opts.withDefaults()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("httpget: %w", err)
	}
	r := &resumable{ctx: ctx, url: u, opts: opts, total: -1}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// response is one response's body.
type response struct {
	conn   net.Conn
	body   io.Reader
	length int64 // Content-Length of this response, -1 if unknown
	start  int64 // offset of the first body byte in the resource
	total  int64 // size of the whole resource, -1 if unknown
	etag   string
	stop   func() bool
}

func (r *response) close() {
	r.stop()
	r.conn.Close()
}

// resumable is the body handed to the caller.
type resumable struct {
	ctx     context.Context
	url     *url.URL // after redirects
	opts    Options
	cur     *response
	off     int64
	total   int64
	etag    string
	retries int
}

func (r *resumable) open() error {
	resp, final, err := do(r.ctx, r.url, r.off, r.opts)
	if err != nil {
		return err
	}
	r.url = final
	if r.off > 0 {
		if r.etag != "" && resp.etag != "" && resp.etag != r.etag {
			resp.close()
			return ErrChanged
		}
		if resp.start == 0 {
			// The server ignored Range: skip what we already have.
			if _, err := io.CopyN(io.Discard, resp.body, r.off); err != nil {
				resp.close()
				return fmt.Errorf("httpget: skip to %d: %w", r.off, err)
			}
		} else if resp.start != r.off {
			resp.close()
			return fmt.Errorf("%w: asked %d, got %d", ErrRangeMismatch, r.off, resp.start)
		}
	} else {
		r.total, r.etag = resp.total, resp.etag
	}
	r.cur = resp
	return nil
}

// Read implements io.Reader, resuming after a broken connection.
func (r *resumable) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			return 0, io.ErrClosedPipe
		}
		r.cur.conn.SetReadDeadline(time.Now().Add(r.opts.Timeout))
		n, err := r.cur.body.Read(p)
		r.off += int64(n)
		if err == io.EOF && (r.total < 0 || r.off == r.total) {
			return n, io.EOF
		}
		if err == nil || n > 0 {
			if err == io.EOF {
				err = nil // short body: resume on the next call
			}
			if err == nil {
				return n, nil
			}
		}
		if r.ctx.Err() != nil {
			return n, r.ctx.Err()
		}
		if r.retries >= r.opts.Retries {
			return n, fmt.Errorf("httpget: body broke at %d after %d resumptions: %w", r.off, r.retries, err)
		}
		r.retries++
		r.cur.close()
		r.cur = nil
		if oerr := r.open(); oerr != nil {
			return n, fmt.Errorf("httpget: resume at %d: %w (after %v)", r.off, oerr, err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// Close implements io.Closer.
func (r *resumable) Close() error {
	if r.cur != nil {
		r.cur.close()
		r.cur = nil
	}
	return nil
}

// Size is the resource's size, -1 when the server did not say.
func (r *resumable) Size() int64 { return r.total }

// do sends a GET for u from offset off, following redirects.
func do(ctx context.Context, u *url.URL, off int64, opts Options) (*response, *url.URL, error) {
	for hop := 0; ; hop++ {
		resp, status, loc, err := get(ctx, u, off, opts)
		if err != nil {
			return nil, nil, err
		}
		switch status {
		case 200, 206:
			return resp, u, nil
		case 301, 302, 303, 307, 308:
			if hop >= opts.MaxRedirects {
				return nil, nil, fmt.Errorf("%w (%d)", ErrTooManyHops, opts.MaxRedirects)
			}
			next, err := u.Parse(loc)
			if err != nil || loc == "" {
				return nil, nil, fmt.Errorf("%w: redirect to %q", ErrProtocol, loc)
			}
			u = next
		default:
			return nil, nil, fmt.Errorf("%w: %d from %s", ErrStatus, status, u.Redacted())
		}
	}
}

// get performs one request. For a redirect it returns the Location and
// closes the connection.
func get(ctx context.Context, u *url.URL, off int64, opts Options) (*response, int, string, error) {
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return nil, 0, "", fmt.Errorf("%w: %q", ErrScheme, u.Scheme)
	}
	host := u.Hostname()
	if p := u.Port(); p != "" {
		port = p
	}
	d := net.Dialer{Timeout: opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, 0, "", fmt.Errorf("httpget: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*response, int, string, error) {
		stop()
		conn.Close()
		return nil, 0, "", err
	}
	conn.SetDeadline(time.Now().Add(opts.Timeout))
	if u.Scheme == "https" {
		cfg := &tls.Config{}
		if opts.TLS != nil {
			cfg = opts.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(fmt.Errorf("httpget: tls: %w", err))
		}
		conn = tc
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: " + opts.UserAgent +
		"\r\nAccept-Encoding: identity\r\nConnection: close\r\n"
	if off > 0 {
		req += "Range: bytes=" + strconv.FormatInt(off, 10) + "-\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return fail(fmt.Errorf("httpget: send request: %w", err))
	}
	br := bufio.NewReaderSize(conn, 32<<10)
	status, hdr, err := readHead(br)
	if err != nil {
		return fail(err)
	}
	conn.SetDeadline(time.Time{})
	if status >= 300 && status < 400 {
		stop()
		conn.Close()
		return nil, status, hdr["location"], nil
	}
	if status != 200 && status != 206 {
		stop()
		conn.Close()
		return nil, status, "", nil
	}
	resp := &response{conn: conn, length: -1, total: -1, etag: hdr["etag"], stop: stop}
	if cl, ok := hdr["content-length"]; ok {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return fail(fmt.Errorf("%w: Content-Length %q", ErrProtocol, cl))
		}
		resp.length = n
	}
	if status == 206 {
		start, total, err := parseContentRange(hdr["content-range"])
		if err != nil {
			return fail(err)
		}
		resp.start, resp.total = start, total
	} else {
		resp.total = resp.length
	}
	switch {
	case strings.EqualFold(hdr["transfer-encoding"], "chunked"):
		resp.body = &chunked{r: br}
	case hdr["transfer-encoding"] != "":
		return fail(fmt.Errorf("%w: Transfer-Encoding %q", ErrProtocol, hdr["transfer-encoding"]))
	case resp.length >= 0:
		resp.body = &exact{r: io.LimitReader(br, resp.length), left: resp.length}
	default:
		resp.body = br // until the server closes
	}
	return resp, status, "", nil
}

// readHead reads the status line and headers (names lower-cased).
func readHead(br *bufio.Reader) (int, map[string]string, error) {
	line, err := readLine(br)
	if err != nil {
		return 0, nil, err
	}
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") || len(rest) < 3 {
		return 0, nil, fmt.Errorf("%w: status line %q", ErrProtocol, line)
	}
	status, err := strconv.Atoi(rest[:3])
	if err != nil {
		return 0, nil, fmt.Errorf("%w: status line %q", ErrProtocol, line)
	}
	hdr := make(map[string]string)
	for i := 0; ; i++ {
		if i > 100 {
			return 0, nil, fmt.Errorf("%w: too many headers", ErrProtocol)
		}
		line, err := readLine(br)
		if err != nil {
			return 0, nil, err
		}
		if line == "" {
			return status, hdr, nil
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return 0, nil, fmt.Errorf("%w: header %q", ErrProtocol, line)
		}
		hdr[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
}

// readLine reads a CRLF (or LF) terminated line of at most 8 KiB.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > 8<<10 {
			return "", fmt.Errorf("%w: line too long", ErrProtocol)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", fmt.Errorf("httpget: read response: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be *).
func parseContentRange(s string) (start, total int64, err error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	rng, tot, ok2 := strings.Cut(rest, "/")
	first, _, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("%w: Content-Range %q", ErrProtocol, s)
	}
	start, err = strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: Content-Range %q", ErrProtocol, s)
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("%w: Content-Range %q", ErrProtocol, s)
		}
	}
	return start, total, nil
}

// exact turns an early end of a Content-Length body into ErrUnexpectedEOF.
type exact struct {
	r    io.Reader
	left int64
}

func (e *exact) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// chunked decodes a chunked transfer-encoded body.
type chunked struct {
	r    *bufio.Reader
	left int64
	done bool
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	if c.left == 0 {
		line, err := readLine(c.r)
		if err != nil {
			return 0, err
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: chunk size %q", ErrProtocol, line)
		}
		if n == 0 {
			for { // trailers
				line, err := readLine(c.r)
				if err != nil {
					return 0, err
				}
				if line == "" {
					c.done = true
					return 0, io.EOF
				}
			}
		}
		c.left = n
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && c.left == 0 {
		if line, lerr := readLine(c.r); lerr != nil || line != "" {
			return n, fmt.Errorf("%w: no CRLF after chunk", ErrProtocol)
		}
	}
	return n, err
}
