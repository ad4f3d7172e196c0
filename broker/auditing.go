package broker

import (
	"errors"
	"net"
	"strconv"

	"github.com/leafbox/leafbox/broker/audit"
)

// ErrReservedSubject is returned to an in-process publisher that is not
// an audit client and publishes on the audit subjects.
var ErrReservedSubject = errors.New("broker: subject reserved for audit events")

// WithAudit records the broker's security events in t, and limits the
// audit subjects (audit.SubjectPrefix) to t's admin user and to audit
// clients (LocalOptions.Audit).
func WithAudit(t *audit.Trail) Option { return func(s *Server) { s.audit = t } }

// The audit subject space ($LEAFBOX.audit.>) is the broker's own:
//   - no network client may publish on it (a permission violation), and an
//     in-process client only with LocalOptions.Audit (the trail's
//     publisher), so that nobody forges an event; the leafnode link's
//     client has no such right, so the hub cannot send one down either;
//   - a network client may subscribe to a subject inside it only as the
//     admin user; a wider subscription ("$LEAFBOX.>", ">") is allowed but
//     its deliveries skip audit subjects unless the client is the admin;
//   - in-process clients receive audit subjects only with
//     LocalOptions.Audit (forward rules), so that the MQTT listener and
//     the hub's interest never see them.
//
// The only cost on the message path is audit.Reserved on each publish's
// subject, a length test and a prefix compare.

// auditReader reports whether c may receive messages on audit subjects.
func (s *Server) auditReader(c *client) bool {
	if c.local {
		return c.audit
	}
	admin := s.audit.Admin()
	if admin == "" {
		return false
	}
	u := c.user.Load()
	return u != nil && *u == admin
}

// remoteAddr is the client's host:port, for audit events.
func (c *client) remoteAddr() string {
	if c.local {
		return c.name
	}
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}

// userName is the user the client authenticated as, empty for none.
func (c *client) userName() string {
	if u := c.user.Load(); u != nil {
		return *u
	}
	return ""
}

// auditAuthFailed records a refused login; user is what the client gave.
func (c *client) auditAuthFailed(user, reason string) {
	c.srv.audit.Record(audit.Event{Kind: audit.KindNATS, Event: audit.AuthFailed,
		User: user, Remote: c.remoteAddr(), Reason: reason})
}

// auditDenied records a publish or subscription the client was refused.
func (c *client) auditDenied(direction string, subj []byte, reserved bool) {
	reason := "permissions"
	if reserved {
		reason = "reserved_subject"
	}
	c.srv.audit.Record(audit.Event{Kind: audit.KindNATS, Event: audit.PermissionDenied,
		User: c.userName(), Remote: c.remoteAddr(), Subject: string(subj), Direction: direction, Reason: reason})
}
