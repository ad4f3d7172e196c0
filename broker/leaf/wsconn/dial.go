package wsconn

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"time"
)

// Dial opens a websocket connection and returns a net.Conn whose Read and Write carry the raw
// NATS byte stream in binary frames (client frames masked with a fresh random key per frame).
//
// Connecting, the TLS handshake (wss://) and the HTTP upgrade together are
// bounded by ctx and Options.HandshakeTimeout. The returned value is a *Conn.
func Dial(ctx context.Context, rawURL string, opts Options) (net.Conn, error) {
	t, err := parseTarget(rawURL, opts.Path)
	if err != nil {
		return nil, err
	}
	timeout := opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var keyRaw [16]byte
	if _, err := rand.Read(keyRaw[:]); err != nil {
		return nil, fmt.Errorf("wsconn: make handshake key: %w", err)
	}
	key := base64.StdEncoding.EncodeToString(keyRaw[:])
	req, err := appendRequest(make([]byte, 0, 512), t, key, opts.Compression, opts.Header)
	if err != nil {
		return nil, err
	}

	d := opts.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, fmt.Errorf("wsconn: dial %s: %w", t.addr, err)
	}
	if t.secure {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = t.name
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("wsconn: tls handshake with %s: %w", t.addr, err)
		}
		nc = tc
	}
	c, err := upgrade(ctx, nc, req, key, opts)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("wsconn: upgrade %s%s: %w", t.host, t.resource, err)
	}
	return c, nil
}

// upgrade sends the request on nc, checks the response and returns the
// framed connection.
func upgrade(ctx context.Context, nc net.Conn, req []byte, key string, opts Options) (*Conn, error) {
	// When ctx ends (cancel or the handshake timeout) a past deadline
	// unblocks the request write and the response read at once.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	br := bufio.NewReaderSize(nc, readBufferSize)
	_, err := nc.Write(req)
	var res handshakeResult
	if err == nil {
		res, err = readResponse(br, key, opts.Compression)
	} else {
		err = fmt.Errorf("write request: %w", err)
	}
	if !stop() {
		if err == nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("clear handshake deadline: %w", err)
	}
	return newConn(nc, br, res.compress, opts.MaxFrameSize)
}
