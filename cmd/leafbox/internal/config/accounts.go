package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/subject"
)

// accounts parses nats-server's accounts block:
//
//	accounts {
//	  A: { users: [ {user: a, password: pa} ], exports: [ {stream: "a.>"} ] }
//	  B: { users: [ {nkey: U...} ], imports: [ {stream: {account: A, subject: "a.>"}, prefix: "from_a"} ] }
//	}
//
// Users go into the authorization users with their account named; an
// account's default_permissions apply to its own users only.
func (p *parser) accounts(n node) {
	m, ok := n.val.(map[string]any)
	if !ok {
		p.wrongType(n, "block of accounts")
		return
	}
	b := &p.opts.Broker
	for _, an := range sortedChildren(n, m) {
		name := an.key
		if name == broker.GlobalAccount {
			p.failf(an, "%q is a reserved account", name)
			continue
		}
		if strings.ContainsAny(name, " \t\r\n") {
			p.failf(an, "account name %q contains whitespace", name)
			continue
		}
		acc := broker.Account{Name: name}
		var users []auth.User
		var defaults *auth.Permissions
		if _, isMap := an.val.(map[string]any); !isMap {
			p.wrongType(an, "account block")
			continue
		}
		p.fields(an, fieldTable{
			"users":               func(n node) { users = p.users(n) },
			"exports":             func(n node) { acc.Exports = p.exports(n) },
			"imports":             func(n node) { acc.Imports = p.imports(n) },
			"default_permissions": p.setPermissions(&defaults),
			"jetstream": func(n node) {
				p.failf(n, "leafbox has no JetStream; use the hub's JetStream through the leafnode")
			},
		})
		for i := range users {
			users[i].Account = name
			if users[i].Permissions == nil {
				users[i].Permissions = defaults
			}
		}
		b.Auth.Users = append(b.Auth.Users, users...)
		b.Accounts = append(b.Accounts, acc)
	}
}

// sortedChildren are the entries of block m in file order.
func sortedChildren(n node, m map[string]any) []node {
	kids := make([]node, 0, len(m))
	for k, raw := range m {
		kids = append(kids, n.child(k, raw))
	}
	slices.SortFunc(kids, func(a, b node) int {
		if c := strings.Compare(a.file, b.file); c != 0 {
			return c
		}
		if a.line != b.line {
			return a.line - b.line
		}
		return strings.Compare(a.key, b.key)
	})
	return kids
}

// exports parses an account's exports list.
func (p *parser) exports(n node) []broker.Export {
	arr, ok := n.val.([]any)
	if !ok {
		p.wrongType(n, "array of exports")
		return nil
	}
	var out []broker.Export
	for i, raw := range arr {
		e := n.elem(i, raw)
		var x broker.Export
		kinds := 0
		p.fields(e, fieldTable{
			"stream": func(n node) {
				kinds++
				x.Kind = broker.Stream
				x.Subject = p.subjectValue(n)
			},
			"service": func(n node) {
				kinds++
				x.Kind = broker.Service
				x.Subject = p.subjectValue(n)
			},
			"accounts": func(n node) {
				if l, ok := p.stringList(n); ok {
					x.Accounts = l
				}
			},
			"response_type": func(n node) {
				if s, ok := p.str(n); ok {
					rt, err := broker.ParseResponseType(s)
					if err != nil {
						p.fail(n, fmt.Errorf("%w: %w", ErrBadValue, err))
						return
					}
					x.ResponseType = rt
				}
			},
			"response_threshold": p.setDuration(&x.ResponseThreshold),
			"response":           p.setDuration(&x.ResponseThreshold),
		})
		switch {
		case kinds != 1:
			p.failf(e, "an export needs exactly one of stream or service")
			continue
		case x.Kind == broker.Stream && (x.ResponseType != broker.Singleton || x.ResponseThreshold != 0):
			p.failf(e, "response_type and response_threshold apply to service exports only")
			continue
		}
		if x.Subject != "" {
			out = append(out, x)
		}
	}
	return out
}

// imports parses an account's imports list.
func (p *parser) imports(n node) []broker.Import {
	arr, ok := n.val.([]any)
	if !ok {
		p.wrongType(n, "array of imports")
		return nil
	}
	var out []broker.Import
	for i, raw := range arr {
		e := n.elem(i, raw)
		var im broker.Import
		kinds := 0
		source := func(kind broker.ExportKind) func(node) {
			return func(n node) {
				kinds++
				im.Kind = kind
				p.fields(n, fieldTable{
					"account": p.setString(&im.Account),
					"subject": func(n node) { im.Subject = p.subjectValue(n) },
				})
				if im.Account == "" || im.Subject == "" {
					p.failf(n, "an import source needs an account and a subject")
				}
			}
		}
		p.fields(e, fieldTable{
			"stream":  source(broker.Stream),
			"service": source(broker.Service),
			"to":      func(n node) { im.To = p.subjectValue(n) },
			"prefix":  p.setString(&im.Prefix),
		})
		if kinds != 1 {
			p.failf(e, "an import needs exactly one of stream or service")
			continue
		}
		if im.Account != "" && im.Subject != "" {
			out = append(out, im)
		}
	}
	return out
}

// subjectValue is a string that must be a valid subject (wildcards allowed).
func (p *parser) subjectValue(n node) string {
	s, ok := p.str(n)
	if !ok {
		return ""
	}
	if !subject.ValidString(s) {
		p.failf(n, "%q is not a valid subject", s)
		return ""
	}
	return s
}

// checkAccounts places the broker's account rules (imports authorized by
// an export, defined accounts, the system account) at the accounts block.
func (p *parser) checkAccounts(root node) {
	b := &p.opts.Broker
	at := p.at("accounts", p.at("system_account", root))
	for _, e := range joined(b.Validate()) {
		if errors.Is(e, broker.ErrAccountConfig) {
			n := at
			if strings.Contains(e.Error(), "system_account") {
				n = p.at("system_account", at)
			}
			p.fail(n, e)
		}
	}
	defined := []string{"", broker.GlobalAccount, broker.DefaultSystemAccount}
	for _, a := range b.Accounts {
		defined = append(defined, a.Name)
	}
	if a := p.opts.MQTT.Account; !slices.Contains(defined, a) {
		p.failf(p.at("mqtt", root), "account %q is not defined", a)
	}
	for i, r := range p.opts.Leaf.Remotes {
		if !slices.Contains(defined, r.Account) {
			p.failf(p.at("leafnodes", root), "remotes[%d]: account %q is not defined", i, r.Account)
		}
	}
	for i, c := range p.opts.Bridges.Serial {
		if !slices.Contains(defined, c.Account) {
			p.failf(p.at("bridges", root), "serial[%d]: account %q is not defined", i, c.Account)
		}
	}
	for i, c := range p.opts.Bridges.GPIO {
		if !slices.Contains(defined, c.Account) {
			p.failf(p.at("bridges", root), "gpio[%d]: account %q is not defined", i, c.Account)
		}
	}
	for i, c := range p.opts.Bridges.Modbus {
		if !slices.Contains(defined, c.Account) {
			p.failf(p.at("bridges", root), "modbus[%d]: account %q is not defined", i, c.Account)
		}
	}
	for i, c := range p.opts.MQTT.Bridges {
		if !slices.Contains(defined, c.Account) {
			p.failf(p.at("bridges", root), "mqtt[%d]: account %q is not defined", i, c.Account)
		}
	}
}

// MQTTAccount is the MQTT listener's account; empty means the global one.
func (o *Options) MQTTAccount() string {
	if o.MQTT.Account == broker.GlobalAccount {
		return ""
	}
	return o.MQTT.Account
}

// ForwardAccount is the account store-and-forward works in: the first
// leafnode remote's, the one its queues drain through. Empty means the
// global account.
func (o *Options) ForwardAccount() string {
	if len(o.Leaf.Remotes) == 0 || o.Leaf.Remotes[0].Account == broker.GlobalAccount {
		return ""
	}
	return o.Leaf.Remotes[0].Account
}
