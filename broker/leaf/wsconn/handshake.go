package wsconn

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// acceptGUID is appended to the key to derive Sec-WebSocket-Accept
// (RFC 6455 section 1.3).
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// deflateOffer is the permessage-deflate offer: no context takeover either
// way, so every message is compressed and inflated on its own and neither
// side keeps a 32 KiB window per connection.
const deflateOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// Limits on the handshake response, which is read before anything is trusted.
const (
	maxResponseHeaders = 64
)

// acceptKey returns the Sec-WebSocket-Accept value expected for key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// appendRequest appends the upgrade request to dst.
func appendRequest(dst []byte, t target, key string, compress bool, extra map[string][]string) ([]byte, error) {
	dst = append(dst, "GET "...)
	dst = append(dst, t.resource...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, t.host...)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key...)
	dst = append(dst, "\r\nSec-WebSocket-Version: 13\r\n"...)
	if compress {
		dst = append(dst, "Sec-WebSocket-Extensions: "+deflateOffer+"\r\n"...)
	}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		if err := checkHeaderName(name); err != nil {
			return nil, err
		}
		for _, v := range extra[name] {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("%w: value of %q contains a control character", ErrBadHeader, name)
			}
			dst = append(dst, name...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
	}
	return append(dst, "\r\n"...), nil
}

// checkHeaderName rejects names that are not HTTP tokens and names the
// handshake sets itself.
func checkHeaderName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrBadHeader)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return fmt.Errorf("%w: name %q", ErrBadHeader, name)
		}
	}
	lower := strings.ToLower(name)
	switch {
	case lower == "host", lower == "upgrade", lower == "connection",
		strings.HasPrefix(lower, "sec-websocket-"):
		return fmt.Errorf("%w: %q is set by the handshake", ErrBadHeader, name)
	}
	return nil
}

// handshakeResult is what the response negotiated.
type handshakeResult struct {
	compress bool
}

// readResponse reads and checks the server's upgrade response. On success
// br is positioned at the first frame byte.
func readResponse(br *bufio.Reader, key string, offeredDeflate bool) (handshakeResult, error) {
	status, err := readLine(br)
	if err != nil {
		return handshakeResult{}, fmt.Errorf("read status line: %w", err)
	}
	if len(status) < 12 || !bytes.HasPrefix(status, []byte("HTTP/1.")) || status[8] != ' ' {
		return handshakeResult{}, fmt.Errorf("%w: status line %q", ErrBadResponse, status)
	}
	if string(status[9:12]) != "101" || (len(status) > 12 && status[12] != ' ') {
		return handshakeResult{}, fmt.Errorf("%w: %q", ErrBadStatus, status)
	}
	var upgrade, connection bool
	var accept string
	var extensions []string
	for i := 0; ; i++ {
		if i == maxResponseHeaders {
			return handshakeResult{}, fmt.Errorf("%w: more than %d header lines", ErrBadResponse, maxResponseHeaders)
		}
		line, err := readLine(br)
		if err != nil {
			return handshakeResult{}, fmt.Errorf("read response header: %w", err)
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return handshakeResult{}, fmt.Errorf("%w: header line %q", ErrBadResponse, line)
		}
		value = bytes.Trim(value, " \t")
		switch strings.ToLower(string(bytes.TrimRight(name, " \t"))) {
		case "upgrade":
			upgrade = upgrade || hasToken(string(value), "websocket")
		case "connection":
			connection = connection || hasToken(string(value), "upgrade")
		case "sec-websocket-accept":
			accept = string(value)
		case "sec-websocket-extensions":
			extensions = append(extensions, string(value))
		}
	}
	if !upgrade {
		return handshakeResult{}, fmt.Errorf("%w: missing Upgrade: websocket", ErrBadResponse)
	}
	if !connection {
		return handshakeResult{}, fmt.Errorf("%w: missing Connection: Upgrade", ErrBadResponse)
	}
	if want := acceptKey(key); accept != want {
		return handshakeResult{}, fmt.Errorf("%w: got %q, want %q", ErrBadAccept, accept, want)
	}
	compress, err := negotiateDeflate(extensions, offeredDeflate)
	if err != nil {
		return handshakeResult{}, err
	}
	return handshakeResult{compress: compress}, nil
}

// readLine returns one CRLF- or LF-terminated line without its terminator.
// The slice is valid until the next read from br.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: line longer than %d bytes", ErrBadResponse, br.Size())
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// hasToken reports whether the comma-separated list contains tok, ignoring case.
func hasToken(list, tok string) bool {
	for t := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

// negotiateDeflate checks the server's Sec-WebSocket-Extensions values
// against our offer (RFC 7692 section 7.1) and reports whether messages
// may be compressed. The server must agree to server_no_context_takeover,
// because the reader inflates every message from an empty window.
func negotiateDeflate(values []string, offered bool) (bool, error) {
	accepted := false
	for _, v := range values {
		for ext := range strings.SplitSeq(v, ",") {
			params := strings.Split(ext, ";")
			name := strings.TrimSpace(params[0])
			if name == "" {
				continue
			}
			if !strings.EqualFold(name, "permessage-deflate") {
				return false, fmt.Errorf("%w: server selected unknown extension %q", ErrExtension, name)
			}
			if !offered {
				return false, fmt.Errorf("%w: server selected permessage-deflate, which was not offered", ErrExtension)
			}
			if accepted {
				return false, fmt.Errorf("%w: permessage-deflate selected twice", ErrExtension)
			}
			if err := checkDeflateParams(params[1:]); err != nil {
				return false, err
			}
			accepted = true
		}
	}
	return accepted, nil
}

// checkDeflateParams validates the parameters of an accepted
// permessage-deflate response.
func checkDeflateParams(params []string) error {
	noServerCtx := false
	for _, p := range params {
		k, v, hasValue := strings.Cut(strings.TrimSpace(p), "=")
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "server_no_context_takeover":
			noServerCtx = true
		case "client_no_context_takeover":
			// We never take over context anyway.
		case "server_max_window_bits":
			// The inflater handles any window up to 15 bits.
			bits, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`))
			if !hasValue || err != nil || bits < 8 || bits > 15 {
				return fmt.Errorf("%w: server_max_window_bits=%q", ErrExtension, v)
			}
		default:
			return fmt.Errorf("%w: unexpected permessage-deflate parameter %q", ErrExtension, strings.TrimSpace(p))
		}
	}
	if !noServerCtx {
		return fmt.Errorf("%w: server did not accept server_no_context_takeover", ErrExtension)
	}
	return nil
}
