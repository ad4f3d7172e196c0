package auth

import (
	"errors"
	"fmt"
)

// ErrPermission reports an invalid permission entry.
var ErrPermission = errors.New("auth: invalid permission")

// literalMapMin is the number of literal entries from which a rule set
// looks them up in a map instead of scanning: below it a scan of short
// strings is faster than hashing the subject.
const literalMapMin = 8

// Checker answers permission questions for one user. It is immutable after
// NewChecker and safe for concurrent use. A nil *Checker allows everything.
type Checker struct {
	pubAllow, pubDeny ruleSet
	subAllow, subDeny ruleSet
	// denySubjects are the subjects of all subscribe deny entries (with or
	// without queue), for NeedsDeliverCheck.
	denySubjects []string
}

// queueRule is a subscribe entry qualified with a queue group.
type queueRule struct {
	subject     string
	queue       string
	queueIsWild bool
}

// ruleSet is one allow or deny list.
type ruleSet struct {
	set      bool                // the list has entries
	literals map[string]struct{} // literal plain entries, when there are many
	plain    []rule              // plain entries matched one by one
	queued   []queueRule
}

// NewChecker compiles p. A nil p yields a nil *Checker, which allows everything.
func NewChecker(p *Permissions) (*Checker, error) {
	if p == nil {
		return nil, nil
	}
	if errs := permissionProblems(p); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Checker{}
	if p.Publish != nil {
		c.pubAllow = newRuleSet(p.Publish.Allow)
		c.pubDeny = newRuleSet(p.Publish.Deny)
	}
	if p.Subscribe != nil {
		c.subAllow = newRuleSet(p.Subscribe.Allow)
		c.subDeny = newRuleSet(p.Subscribe.Deny)
		for _, e := range p.Subscribe.Deny {
			s, _, _ := splitSubjectQueue(e)
			c.denySubjects = append(c.denySubjects, s)
		}
	}
	return c, nil
}

// newRuleSet compiles validated entries.
func newRuleSet(entries []string) ruleSet {
	rs := ruleSet{set: len(entries) > 0}
	var literals []rule
	for _, e := range entries {
		s, q, _ := splitSubjectQueue(e)
		switch {
		case q != "":
			rs.queued = append(rs.queued, queueRule{subject: s, queue: q, queueIsWild: hasWildcard(q)})
		case hasWildcard(s):
			rs.plain = append(rs.plain, newRule(s))
		default:
			literals = append(literals, newRule(s))
		}
	}
	if len(literals) >= literalMapMin {
		rs.literals = make(map[string]struct{}, len(literals))
		for _, r := range literals {
			rs.literals[r.pattern] = struct{}{}
		}
	} else {
		// Literals first: they fail fast on the first differing byte.
		rs.plain = append(literals, rs.plain...)
	}
	return rs
}

// matchPlain reports whether an entry without queue matches subj.
func (rs *ruleSet) matchPlain(subj []byte) bool {
	if rs.literals != nil {
		if _, ok := rs.literals[string(subj)]; ok {
			return true
		}
	}
	for i := range rs.plain {
		if rs.plain[i].match(subj) {
			return true
		}
	}
	return false
}

// matchQueue looks at the queue entries whose subject matches subj: found
// says there was at least one, ok that one of them names queue.
func (rs *ruleSet) matchQueue(subj, queue []byte) (ok, found bool) {
	for i := range rs.queued {
		r := &rs.queued[i]
		if !matchSubject(r.subject, subj) {
			continue
		}
		found = true
		// A queue entry's name may itself hold wildcards ("v1.*"); it is
		// first compared literally since "*" is a legal queue name too.
		if r.queue == string(queue) || (r.queueIsWild && subsetMatch(queue, r.queue)) {
			return true, true
		}
	}
	return false, found
}

// CanPublish reports whether the user may publish to subject (a literal
// subject). It does not allocate.
func (c *Checker) CanPublish(subject []byte) bool {
	if c == nil {
		return true
	}
	if c.pubAllow.set && !c.pubAllow.matchPlain(subject) {
		return false
	}
	return !c.pubDeny.set || !c.pubDeny.matchPlain(subject)
}

// CanSubscribe reports whether the user may subscribe to subject, with
// queue group queue (empty for none). subject may hold wildcards. A
// wildcard subscription that only overlaps a deny entry is allowed; use
// NeedsDeliverCheck and DeliverAllowed to filter what it receives. It does
// not allocate.
func (c *Checker) CanSubscribe(subject, queue []byte) bool {
	if c == nil {
		return true
	}
	allowed := true
	if c.subAllow.set {
		allowed = c.subAllow.matchPlain(subject)
		// Entries naming a queue decide for queue subscriptions, overriding
		// the plain entries (nats-server does the same).
		if len(queue) > 0 {
			if ok, found := c.subAllow.matchQueue(subject, queue); found {
				allowed = ok
			}
		}
	}
	if allowed && c.subDeny.set {
		allowed = !c.subDeny.matchPlain(subject)
		if allowed && len(queue) > 0 {
			if ok, found := c.subDeny.matchQueue(subject, queue); found {
				allowed = !ok
			}
		}
	}
	return allowed
}

// NeedsDeliverCheck reports whether messages delivered to an (allowed)
// subscription on subject must be filtered with DeliverAllowed: true when
// subject has wildcards and overlaps a subscribe deny entry. A literal
// subscription never needs it, because CanSubscribe already applied the
// very same deny test to the only subject it can receive. Call it once per
// subscription, not per message (it may allocate).
func (c *Checker) NeedsDeliverCheck(subject []byte) bool {
	if c == nil || len(c.denySubjects) == 0 || !hasWildcard(subject) {
		return false
	}
	s := string(subject)
	for _, d := range c.denySubjects {
		if collide(d, s) {
			return true
		}
	}
	return false
}

// DeliverAllowed reports whether a message on the literal subject may be
// delivered to a subscription of this user with queue group queue (empty
// for none): false when a subscribe deny entry matches it. nats-server
// applies this filter to wildcard subscriptions that overlap a deny entry.
// It does not allocate.
func (c *Checker) DeliverAllowed(subject, queue []byte) bool {
	if c == nil || !c.subDeny.set {
		return true
	}
	if c.subDeny.matchPlain(subject) {
		return false
	}
	if len(queue) > 0 {
		if ok, _ := c.subDeny.matchQueue(subject, queue); ok {
			return false
		}
	}
	return true
}

// permissionProblems checks every entry of p and returns one error
// (wrapping ErrPermission) per bad entry.
func permissionProblems(p *Permissions) []error {
	var errs []error
	check := func(field string, entries []string, queueOK bool) {
		for i, e := range entries {
			var ok bool
			if queueOK {
				_, _, ok = splitSubjectQueue(e)
			} else {
				ok = validSubject(e)
			}
			if !ok {
				errs = append(errs, fmt.Errorf("%w: %s[%d] %q is not a valid subject", ErrPermission, field, i, e))
			}
		}
	}
	if p.Publish != nil {
		check("publish.allow", p.Publish.Allow, false)
		check("publish.deny", p.Publish.Deny, false)
	}
	if p.Subscribe != nil {
		check("subscribe.allow", p.Subscribe.Allow, true)
		check("subscribe.deny", p.Subscribe.Deny, true)
	}
	return errs
}
