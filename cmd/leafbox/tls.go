package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// tlsFile is a file named in the tls block and where it was named.
type tlsFile struct {
	at   node
	path string
}

// tls parses tls { cert_file, key_file, ca_file, verify, timeout } and builds the
// server's *tls.Config. Relative paths are relative to the working directory,
// as in nats-server. A file that cannot be read is an error at its key's line.
func (p *parser) tls(n node) {
	var cert, key, ca tlsFile
	verify := false
	b := &p.opts.Broker
	file := func(dst *tlsFile) func(node) {
		return func(n node) {
			if s, ok := p.str(n); ok {
				*dst = tlsFile{at: n, path: s}
			}
		}
	}
	before := len(p.errs)
	p.fields(n, fieldTable{
		"cert_file": file(&cert),
		"key_file":  file(&key),
		"ca_file":   file(&ca),
		"verify":    p.setBool(&verify),
		"timeout": func(n node) {
			if d, ok := p.seconds(n); ok {
				b.TLSTimeout = d
			}
		},
	})
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
		return
	}
	cfg, ok := p.tlsConfig(cert, key, ca)
	if !ok {
		return
	}
	if verify {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	b.TLS = cfg
	b.TLSVerify = verify
}

// tlsConfig loads the key pair and the optional CA pool.
func (p *parser) tlsConfig(cert, key, ca tlsFile) (*tls.Config, bool) {
	certPEM, ok1 := p.readFile(cert)
	keyPEM, ok2 := p.readFile(key)
	var caPEM []byte
	ok3 := true
	if ca.path != "" {
		caPEM, ok3 = p.readFile(ca)
	}
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		p.fail(cert.at, fmt.Errorf("%w: load key pair %s, %s: %v", errBadValue, cert.path, key.path, err))
		return nil, false
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
	}
	if caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			p.failf(ca.at, "no PEM certificates in %s", ca.path)
			return nil, false
		}
		cfg.ClientCAs = pool
	}
	return cfg, true
}

func (p *parser) readFile(f tlsFile) ([]byte, bool) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		p.fail(f.at, fmt.Errorf("%w: %w", errBadValue, err))
		return nil, false
	}
	return data, true
}
