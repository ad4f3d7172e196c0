package config

import "math"

// audit parses the audit block into options.Audit:
//
//	audit {
//	  admin_user: ops          # the one user who may subscribe to $LEAFBOX.audit.>
//	  rate: 1                  # events per second per source once its burst is spent
//	  burst: 10
//	  max_sources: 1024        # sources (kind, remote IP) tracked by the rate limit
//	  queue: 256               # events waiting to be published
//	  summary_interval: 10s    # how often suppressed events are summarised
//	}
//
// A restart applies changes; SIGHUP reloads only the authorization.
func (p *parser) audit(n node) {
	c := &p.opts.Audit
	p.fields(n, fieldTable{
		"admin_user": p.setString(&c.AdminUser),
		"rate": func(n node) {
			switch v := n.val.(type) {
			case int64:
				c.Rate = float64(v)
			case float64:
				c.Rate = v
			default:
				p.wrongType(n, "number")
				return
			}
			if c.Rate <= 0 || math.IsInf(c.Rate, 0) || math.IsNaN(c.Rate) {
				p.failf(n, "rate must be a positive number of events per second")
			}
		},
		"burst":            p.setInt(&c.Burst, 1, math.MaxInt32),
		"max_sources":      p.setInt(&c.Sources, 1, 1<<20),
		"queue":            p.setInt(&c.Queue, 1, 1<<20),
		"summary_interval": p.setDuration(&c.SummaryInterval),
	})
	if err := c.Validate(); err != nil {
		p.fail(n, err)
	}
}

// checkAuditAdmin requires audit.admin_user to be a user of the
// authorization block: a name nobody can log in as would leave the audit
// subjects unreadable without saying so.
func (p *parser) checkAuditAdmin(root node) {
	u := p.opts.Audit.AdminUser
	if u == "" {
		return
	}
	for _, user := range p.opts.Broker.Auth.Users {
		if user.Username == u || user.Nkey == u {
			return
		}
	}
	p.failf(p.at("audit", root), "admin_user %q is not a user of the authorization users array", u)
}
