package config

import (
	"crypto/tls"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/leafbox/leafbox/broker/monitor"
)

// httpAuth parses the http_auth block into options.HTTPAuth, the user and
// password of the monitoring endpoints:
//
//	http_auth {
//	  user: admin
//	  password: "$2a$11$..."   # plain text or a bcrypt hash, as in authorization
//	}
//
// nats-server has no such block: its monitoring port has no
// authentication, which a gateway whose monitor faces the LAN needs.
func (p *parser) httpAuth(n node) {
	a := &p.opts.HTTPAuth
	p.fields(n, fieldTable{
		"user":     p.setString(&a.User),
		"username": p.setString(&a.User),
		"password": p.setString(&a.Password),
		"pass":     p.setString(&a.Password),
	})
	if err := a.Validate(); err != nil {
		p.fail(n, err)
		return
	}
	// A password that looks like a bcrypt hash is one: a malformed hash
	// would silently refuse every password.
	if strings.HasPrefix(a.Password, "$2") {
		if _, err := bcrypt.Cost([]byte(a.Password)); err != nil {
			p.failf(n, "password looks like a bcrypt hash but is not one: %v", err)
		}
	}
}

// InsecureMonitor reports a monitoring listener that is not on loopback
// while no http_auth is configured (the daemon warns then).
func (o *Options) InsecureMonitor() bool {
	return (o.HTTPPort != 0 || o.HTTPSPort != 0) && !o.HTTPAuth.Enabled() && !isLoopback(o.HTTPHost)
}

// Monitor is the monitoring listener's configuration; verify checks the
// password of http_auth (the broker's rule: plain text or bcrypt).
func (o *Options) Monitor(verify func(configured, given string) bool) monitor.Config {
	a := o.HTTPAuth
	if a.Enabled() {
		a.Verify = verify
	}
	c := monitor.Config{Host: o.HTTPHost, Port: o.HTTPPort, Auth: a}
	if o.HTTPSPort != 0 {
		// As nats-server: the client port's certificate, without asking
		// monitoring clients for theirs.
		c.Port, c.TLS = o.HTTPSPort, o.Broker.TLS.Clone()
		c.TLS.ClientAuth = tls.NoClientCert
	}
	return c
}
