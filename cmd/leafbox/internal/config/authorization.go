package config

import (
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/subject"
)

// authorization parses the authorization block: a token, a single user, or an
// array of users with passwords or nkeys and optional permissions.
func (p *parser) authorization(n node) {
	a := &p.opts.Broker.Auth
	haveUsers := false
	p.fields(n, fieldTable{
		"token":    p.setString(&a.Token),
		"user":     p.setString(&a.Username),
		"username": p.setString(&a.Username),
		"password": p.setString(&a.Password),
		"pass":     p.setString(&a.Password),
		"timeout": func(n node) {
			if d, ok := p.seconds(n); ok {
				a.Timeout = d
			}
		},
		"users": func(n node) {
			haveUsers = true
			a.Users = append(a.Users, p.users(n)...)
		},
		"permissions":         p.setPermissions(&a.DefaultPermissions),
		"default_permissions": p.setPermissions(&a.DefaultPermissions),
		"default_permission":  p.setPermissions(&a.DefaultPermissions),
	})
	single := a.Username != "" || a.Password != ""
	switch {
	case single && a.Token != "":
		p.failf(n, "cannot have a user/password and a token")
	case single && haveUsers:
		p.failf(n, "cannot have a single user/password and a users array")
	case a.Token != "" && haveUsers:
		p.failf(n, "cannot have a token and a users array")
	case a.Password != "" && a.Username == "":
		p.failf(n, "password without user")
	}
}

// users parses authorization { users = [ ... ] } or an account's users. A
// user (name or nkey) may be defined once in the whole file.
func (p *parser) users(n node) []auth.User {
	arr, ok := n.val.([]any)
	if !ok {
		p.wrongType(n, "array of users")
		return nil
	}
	var out []auth.User
	if p.userAt == nil {
		p.userAt = make(map[string]node)
	}
	for i, raw := range arr {
		e := n.elem(i, raw)
		if _, ok := e.val.(map[string]any); !ok {
			p.wrongType(e, "user block")
			continue
		}
		var u auth.User
		p.fields(e, fieldTable{
			"user":        p.setString(&u.Username),
			"username":    p.setString(&u.Username),
			"password":    p.setString(&u.Password),
			"pass":        p.setString(&u.Password),
			"nkey":        p.setNkey(&u.Nkey),
			"permissions": p.setPermissions(&u.Permissions),
			"permission":  p.setPermissions(&u.Permissions),
		})
		id := u.Username
		switch {
		case u.Nkey == "" && u.Username == "":
			p.failf(e, "user entry requires a user or an nkey")
			continue
		case u.Nkey != "" && (u.Username != "" || u.Password != ""):
			p.failf(e, "nkey users do not take a user or password")
			continue
		case u.Nkey != "":
			id = u.Nkey
		}
		if first, dup := p.userAt[id]; dup {
			p.failf(e, "duplicate user %q (first defined at %s:%d)", id, first.file, first.line)
			continue
		}
		p.userAt[id] = e
		out = append(out, u)
	}
	return out
}

func (p *parser) setNkey(dst *string) func(node) {
	return func(n node) {
		if s, ok := p.str(n); ok {
			if !nkeys.IsValidPublicUserKey(s) {
				p.failf(n, "%q is not a public user nkey (U...)", s)
				return
			}
			*dst = s
		}
	}
}

// setPermissions parses permissions { publish: ..., subscribe: ... }.
func (p *parser) setPermissions(dst **auth.Permissions) func(node) {
	return func(n node) { *dst = p.permissions(n) }
}

func (p *parser) permissions(n node) *auth.Permissions {
	var perms auth.Permissions
	p.fields(n, fieldTable{
		"publish":   func(n node) { perms.Publish = p.subjectPermission(n, false) },
		"pub":       func(n node) { perms.Publish = p.subjectPermission(n, false) },
		"subscribe": func(n node) { perms.Subscribe = p.subjectPermission(n, true) },
		"sub":       func(n node) { perms.Subscribe = p.subjectPermission(n, true) },
	})
	return &perms
}

// subjectPermission parses "subj", ["a", "b"] (an allow list) or
// { allow: ..., deny: ... }. Subscribe permissions may name a queue group
// after the subject ("orders.* workers"), as in nats-server.
func (p *parser) subjectPermission(n node, queueOK bool) *auth.SubjectPermission {
	var sp auth.SubjectPermission
	if _, ok := n.val.(map[string]any); ok {
		p.fields(n, fieldTable{
			"allow": func(n node) { sp.Allow = p.subjects(n, queueOK) },
			"deny":  func(n node) { sp.Deny = p.subjects(n, queueOK) },
		})
		return &sp
	}
	sp.Allow = p.subjects(n, queueOK)
	return &sp
}

func (p *parser) subjects(n node, queueOK bool) []string {
	list, ok := p.stringList(n)
	if !ok {
		return nil
	}
	for _, s := range list {
		if !validPermSubject(s, queueOK) {
			p.failf(n, "%q is not a valid subject", s)
			return nil
		}
	}
	return list
}

// validPermSubject checks a permission entry; subscribe entries may carry a
// queue group after a space.
func validPermSubject(s string, queueOK bool) bool {
	if queueOK {
		if subj, queue, found := strings.Cut(s, " "); found {
			return subject.ValidString(subj) && subject.ValidLiteralString(queue)
		}
	}
	return subject.ValidString(s)
}

// checkAuth runs the broker's own validation of the authorization block as a
// safety net for rules this parser does not check itself. It only runs when
// the block parsed cleanly, so a problem is not reported twice.
func (p *parser) checkAuth(at node) {
	for _, e := range joined(p.opts.Broker.Auth.Validate()) {
		p.fail(at, e)
	}
}
