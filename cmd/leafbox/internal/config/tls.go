package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"
)

// tlsFile is a file named in the tls block and where it was named.
type tlsFile struct {
	at   node
	path string
}

// tls parses the top-level tls block into the client port's TLS settings.
// Only the client port takes handshake_first (and nats-server's aliases
// first and immediate).
func (p *parser) tls(n node) {
	b := &p.opts.Broker
	first := p.setHandshakeFirst(&b.TLSHandshakeFirst, &b.TLSHandshakeFirstFallback)
	extra := fieldTable{"handshake_first": first, "first": first, "immediate": first}
	if cfg, verify := p.serverTLS(n, &b.TLSTimeout, extra); cfg != nil {
		b.TLS, b.TLSVerify = cfg, verify
	}
}

// defaultHandshakeFirstFallback is nats-server's fallback delay for
// handshake_first: "auto".
const defaultHandshakeFirstFallback = 50 * time.Millisecond

// setHandshakeFirst reads handshake_first as nats-server does: a boolean,
// "true"/"on", "false"/"off", "auto"/"auto_fallback" (TLS first, falling
// back to INFO first after 50ms of silence) or a duration (the same with
// that delay).
func (p *parser) setHandshakeFirst(first *bool, fallback *time.Duration) func(node) {
	return func(n node) {
		switch v := n.val.(type) {
		case bool:
			*first, *fallback = v, 0
		case string:
			switch strings.ToLower(v) {
			case "true", "on":
				*first, *fallback = true, 0
			case "false", "off":
				*first, *fallback = false, 0
			case "auto", "auto_fallback":
				*first, *fallback = true, defaultHandshakeFirstFallback
			default:
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					p.failf(n, "%q is not true, false, auto or a duration", v)
					return
				}
				*first, *fallback = true, d
			}
		default:
			p.wrongType(n, "boolean or string")
		}
	}
}

// setTLSFile records a file named in a tls block and where it was named.
func (p *parser) setTLSFile(dst *tlsFile) func(node) {
	return func(n node) {
		if s, ok := p.str(n); ok {
			*dst = tlsFile{at: n, path: s}
		}
	}
}

// serverTLS parses a listener's tls { cert_file, key_file, ca_file, verify,
// timeout } plus the keys of extra (the client port's and the MQTT
// listener's) and builds its
// *tls.Config; timeout is stored through the pointer. Relative paths are
// relative to the working directory, as in nats-server. A file that cannot
// be read is an error at its key's line. It returns nil after an error.
func (p *parser) serverTLS(n node, timeout *time.Duration, extra fieldTable) (*tls.Config, bool) {
	var cert, key, ca tlsFile
	verify := false
	before := len(p.errs)
	table := fieldTable{
		"cert_file": p.setTLSFile(&cert),
		"key_file":  p.setTLSFile(&key),
		"ca_file":   p.setTLSFile(&ca),
		"verify":    p.setBool(&verify),
		"timeout":   p.setSeconds(timeout),
	}
	maps.Copy(table, extra)
	p.fields(n, table)
	if cert.path == "" {
		p.failf(n, "missing cert_file")
	}
	if key.path == "" {
		p.failf(n, "missing key_file")
	}
	if verify && ca.path == "" {
		p.failf(n, "verify needs ca_file, the authority that signs client certificates")
	}
	if len(p.errs) > before {
		return nil, false
	}
	cfg, ok := p.tlsConfig(cert, key, ca)
	if !ok {
		return nil, false
	}
	if verify {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, verify
}

// clientTLS builds the *tls.Config of an outgoing connection (a leafnode
// remote, an MQTT client bridge): the authority that signs the server's
// certificate (ca_file; the system roots when absent) and an optional
// client certificate for mutual TLS. It returns nil after an error.
func (p *parser) clientTLS(n node, cert, key, ca tlsFile) *tls.Config {
	if (cert.path == "") != (key.path == "") {
		p.failf(n, "cert_file and key_file go together")
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cert.path != "" {
		pair, ok := p.keyPair(cert, key)
		if !ok {
			return nil
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if ca.path != "" {
		pool, ok := p.certPool(ca)
		if !ok {
			return nil
		}
		cfg.RootCAs = pool
	}
	return cfg
}

// tlsConfig loads a server's key pair and the optional pool of
// authorities that sign client certificates.
func (p *parser) tlsConfig(cert, key, ca tlsFile) (*tls.Config, bool) {
	pair, ok := p.keyPair(cert, key)
	var pool *x509.CertPool
	okCA := true
	if ca.path != "" {
		pool, okCA = p.certPool(ca)
	}
	if !ok || !okCA {
		return nil, false
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
	}, true
}

// keyPair loads a certificate and its key.
func (p *parser) keyPair(cert, key tlsFile) (tls.Certificate, bool) {
	certPEM, ok1 := p.readFile(cert)
	keyPEM, ok2 := p.readFile(key)
	if !ok1 || !ok2 {
		return tls.Certificate{}, false
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		p.fail(cert.at, fmt.Errorf("%w: load key pair %s, %s: %v", ErrBadValue, cert.path, key.path, err))
		return tls.Certificate{}, false
	}
	return pair, true
}

// certPool loads the PEM certificates of an authority file.
func (p *parser) certPool(ca tlsFile) (*x509.CertPool, bool) {
	pem, ok := p.readFile(ca)
	if !ok {
		return nil, false
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		p.failf(ca.at, "no PEM certificates in %s", ca.path)
		return nil, false
	}
	return pool, true
}

func (p *parser) readFile(f tlsFile) ([]byte, bool) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		p.fail(f.at, fmt.Errorf("%w: %w", ErrBadValue, err))
		return nil, false
	}
	return data, true
}
