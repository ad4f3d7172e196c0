package leaf

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/leafbox/leafbox/broker/proto"
)

// Handshake errors.
var (
	ErrWrongPort   = errors.New("leaf: attempted to connect to a non-leafnode port")
	ErrInfoTimeout = errors.New("leaf: no INFO from the hub in time")
	ErrRejected    = errors.New("leaf: hub rejected the connection")
	ErrStale       = errors.New("leaf: stale connection")
	ErrLoop        = errors.New("leaf: loop detected")
)

// compatVersion is the nats-server version whose leafnode protocol this
// package speaks; hubs compare it with their leafnodes.min_version.
const compatVersion = "2.15.0"

// leafProto is the protocol level sent in CONNECT.
const leafProto = 1

// hubInfo is the hub's INFO: the client INFO fields plus the leafnode ones.
type hubInfo struct {
	proto.Info
	InfoOnConnect bool         `json:"info_on_connect,omitempty"`
	Import        *subjectPerm `json:"import,omitempty"`
	Export        *subjectPerm `json:"export,omitempty"`
}

// subjectPerm is the allow/deny list of the hub's import/export.
type subjectPerm struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// connectInfo is the CONNECT a soliciting leafnode sends (nats-server's
// leafConnectInfo field names).
type connectInfo struct {
	Version       string   `json:"version,omitempty"`
	Nkey          string   `json:"nkey,omitempty"`
	JWT           string   `json:"jwt,omitempty"`
	Sig           string   `json:"sig,omitempty"`
	User          string   `json:"user,omitempty"`
	Pass          string   `json:"pass,omitempty"`
	Token         string   `json:"auth_token,omitempty"`
	ID            string   `json:"server_id,omitempty"`
	Name          string   `json:"name,omitempty"`
	Headers       bool     `json:"headers,omitempty"`
	DenyPub       []string `json:"deny_pub,omitempty"`
	Compression   string   `json:"compress_mode,omitempty"`
	RemoteAccount string   `json:"remote_account,omitempty"`
	Proto         int      `json:"protocol,omitempty"`
}

// infoReader reads the INFO lines of the handshake without reading past
// them (the hub sends nothing more until it hears from us).
type infoReader struct {
	buf  []byte
	rest []byte // bytes read after the last line
}

// readInfo reads one "INFO {...}\r\n" line from r within the deadline set
// on conn. A -ERR line is returned as ErrRejected with its text.
func (ir *infoReader) readInfo(r io.Reader) (hubInfo, error) {
	ir.buf = append(ir.buf[:0], ir.rest...)
	ir.rest = nil
	var chunk [4096]byte
	for {
		if i := bytes.IndexByte(ir.buf, '\n'); i >= 0 {
			line := bytes.TrimRight(ir.buf[:i], "\r")
			ir.rest = append([]byte(nil), ir.buf[i+1:]...)
			return parseInfoLine(line)
		}
		if len(ir.buf) > maxInfoLine {
			return hubInfo{}, proto.ErrMaxControlLine
		}
		n, err := r.Read(chunk[:])
		ir.buf = append(ir.buf, chunk[:n]...)
		if err != nil && bytes.IndexByte(ir.buf, '\n') < 0 {
			return hubInfo{}, fmt.Errorf("read INFO: %w", err)
		}
	}
}

// parseInfoLine decodes an INFO line, or reports a -ERR line.
func parseInfoLine(line []byte) (hubInfo, error) {
	var info hubInfo
	switch {
	case len(line) > 5 && equalFold(line[:4], "INFO") && (line[4] == ' ' || line[4] == '\t'):
		if err := json.Unmarshal(bytes.TrimSpace(line[5:]), &info); err != nil {
			return info, fmt.Errorf("%w: INFO: %v", proto.ErrBadArgs, err)
		}
		return info, nil
	case len(line) >= 4 && equalFold(line[:4], "-ERR"):
		return info, &rejectError{text: string(bytes.Trim(bytes.TrimSpace(line[4:]), "'"))}
	}
	return info, fmt.Errorf("%w: expected INFO, got %q", ErrWrongPort, proto.Snippet(line))
}

// wrongPort applies nats-server's test: a leafnode listener's first INFO
// has a client id and either leafnode_urls or info_on_connect.
func wrongPort(info *hubInfo) bool {
	return info.CID == 0 || (info.LeafNodeURLs == nil && !info.InfoOnConnect)
}

// upgradeTLS runs the TLS client handshake on conn.
func upgradeTLS(ctx context.Context, conn net.Conn, cfg *tls.Config, host string, timeout time.Duration) (net.Conn, error) {
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// selectCompression is nats-server's negotiation: mine is our configured
// mode, theirs the hub's INFO field.
func selectCompression(mine, theirs string) (string, error) {
	switch theirs {
	case "", CompressionNotSupported:
		return CompressionNotSupported, nil
	case CompressionOff:
		return CompressionOff, nil
	case CompressionAccept:
		if mine == CompressionAccept {
			return CompressionOff, nil
		}
		return mine, nil
	case CompressionS2Auto, CompressionS2Uncompressed, CompressionS2Fast, CompressionS2Better, CompressionS2Best:
		if mine == CompressionAccept {
			if theirs == CompressionS2Auto {
				return CompressionS2Fast, nil
			}
			return theirs, nil
		}
		return mine, nil
	}
	return "", fmt.Errorf("%w: unsupported compression mode %q", proto.ErrBadArgs, theirs)
}

// autoLevel picks the s2 level for s2_auto from the RTT: the first
// threshold (non-zero) the RTT is within names the level, in order
// uncompressed, fast, better, best.
func autoLevel(rtt time.Duration, thresholds []time.Duration) string {
	levels := [...]string{CompressionS2Uncompressed, CompressionS2Fast, CompressionS2Better, CompressionS2Best}
	last := CompressionS2Uncompressed
	for i, d := range thresholds {
		if i >= len(levels) {
			break
		}
		if d == 0 {
			continue
		}
		last = levels[i]
		if rtt <= d {
			return levels[i]
		}
	}
	if len(thresholds) >= 3 {
		return CompressionS2Best
	}
	return last
}

// needsCompression reports whether mode asks for S2 framing.
func needsCompression(mode string) bool {
	return mode != "" && mode != CompressionOff && mode != CompressionNotSupported
}

// rejectDelay is how long to wait before redialing after the hub's -ERR,
// as nats-server does for each kind of reject.
func rejectDelay(text string) time.Duration {
	switch {
	case strings.HasPrefix(text, "Loop detected"):
		return loopDelay
	case strings.Contains(text, "same cluster name"):
		return loopDelay
	case strings.HasPrefix(text, "connection rejected since minimum version"):
		return minVersionDelay
	case strings.HasPrefix(text, "Permissions Violation"):
		return permViolationDelay
	}
	return 0
}

// isAuthError reports the -ERR texts of a credentials problem.
func isAuthError(text string) bool {
	return strings.HasPrefix(text, "Authorization Violation") ||
		strings.HasPrefix(text, "Authentication Timeout") ||
		strings.Contains(text, "Authentication Expired") ||
		strings.Contains(text, "User Authentication Revoked")
}
