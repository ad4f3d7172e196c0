package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors of configuration problems; each is wrapped in a *Error
// that says where it happened.
var (
	ErrUnknownField = errors.New("unknown field")
	ErrWrongType    = errors.New("wrong type")
	ErrBadValue     = errors.New("bad value")
)

// maxSecondsDuration bounds durations given as a bare number of seconds. The conf
// syntax reads an unquoted 2m as the integer 2,000,000 (2 mega), so a huge number
// of seconds is nearly always a duration that should have been quoted.
const maxSecondsDuration = 24 * time.Hour

// Error is one problem in a configuration file, printed as
// "FILE:LINE: KEY: message".
type Error struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Key != "":
		return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Key, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.Key != "":
		return fmt.Sprintf("%s: %s: %v", e.File, e.Key, e.Err)
	default:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// token is what the conf package wraps every value in when parsing with checks.
type token interface {
	Value() any
	Line() int
	SourceFile() string
	IsUsedVariable() bool
}

// node is one configuration value together with where it came from. Values that
// the conf package did not wrap (elements of a $VARIABLE taken from the
// environment) inherit the position of their parent.
type node struct {
	file string
	line int
	path string // dotted key path for messages: authorization.users[0].user
	key  string // last element of path, as written
	// usedVar marks a key that was only defined to be referenced as $key.
	usedVar bool
	val     any
}

// child unwraps raw, the value of key below n.
func (n node) child(key string, raw any) node {
	c := node{file: n.file, line: n.line, path: key, key: key, val: raw}
	if n.path != "" {
		c.path = n.path + "." + key
	}
	if tk, ok := raw.(token); ok {
		c.val = tk.Value()
		c.line = tk.Line()
		c.usedVar = tk.IsUsedVariable()
		if f := tk.SourceFile(); f != "" {
			c.file = f
		}
	}
	return c
}

// elem unwraps raw, element i of the array n.
func (n node) elem(i int, raw any) node {
	c := n.child("", raw)
	c.path = fmt.Sprintf("%s[%d]", n.path, i)
	return c
}

// parser collects the options and every problem found while filling them.
type parser struct {
	opts *Options
	errs []error
	// seen holds the top-level keys found, for checks that span keys.
	seen map[string]node
	// userAt holds where each user (name or nkey) was defined, in the
	// authorization block or an account.
	userAt map[string]node
}

// fail records a problem at n.
func (p *parser) fail(n node, err error) {
	p.errs = append(p.errs, &Error{File: n.file, Line: n.line, Key: n.path, Err: err})
}

// failf records a bad value at n.
func (p *parser) failf(n node, format string, args ...any) {
	p.fail(n, fmt.Errorf("%w: %s", ErrBadValue, fmt.Sprintf(format, args...)))
}

// wrongType records that n does not hold the kind of value wanted.
func (p *parser) wrongType(n node, want string) {
	p.fail(n, fmt.Errorf("%w: expected %s, got %s", ErrWrongType, want, kindOf(n.val)))
}

// kindOf names a conf value's type the way a config author thinks of it.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case time.Time:
		return "datetime"
	case []any:
		return "array"
	case map[string]any:
		return "block"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// fieldTable maps the lower-case keys of a block to their handlers. Adding a key
// (or a whole new top-level block) is one more entry.
type fieldTable map[string]func(node)

// fields runs the handler of every key of the block n, in file order. Keys are
// case-insensitive, as in nats-server. Unknown keys are errors unless they were
// only defined to be used as a $variable.
func (p *parser) fields(n node, table fieldTable) {
	m, ok := n.val.(map[string]any)
	if !ok {
		p.wrongType(n, "block")
		return
	}
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
		return strings.Compare(a.path, b.path)
	})
	for _, kid := range kids {
		if h, ok := table[strings.ToLower(kid.key)]; ok {
			h(kid)
			continue
		}
		if !kid.usedVar {
			p.fail(kid, ErrUnknownField)
		}
	}
}

func (p *parser) str(n node) (string, bool) {
	s, ok := n.val.(string)
	if !ok {
		p.wrongType(n, "string")
	}
	return s, ok
}

func (p *parser) boolean(n node) (bool, bool) {
	b, ok := n.val.(bool)
	if !ok {
		p.wrongType(n, "boolean")
	}
	return b, ok
}

func (p *parser) integer(n node) (int64, bool) {
	i, ok := n.val.(int64)
	if !ok {
		p.wrongType(n, "integer")
	}
	return i, ok
}

// intRange reads an integer in [lo, hi].
func (p *parser) intRange(n node, lo, hi int64) (int64, bool) {
	i, ok := p.integer(n)
	if !ok {
		return 0, false
	}
	if i < lo || i > hi {
		p.failf(n, "%d is out of range [%d, %d]", i, lo, hi)
		return 0, false
	}
	return i, true
}

// port reads a TCP port; -1 asks for a random one, as in nats-server.
func (p *parser) port(n node) (int, bool) {
	i, ok := p.intRange(n, -1, 65535)
	return int(i), ok
}

// duration reads a positive duration, either a Go duration string ("2m", "10s")
// or, as nats-server accepts for backward compatibility, whole seconds.
func (p *parser) duration(n node) (time.Duration, bool) {
	var d time.Duration
	switch v := n.val.(type) {
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			p.failf(n, "%q is not a duration (like \"2m\" or \"10s\")", v)
			return 0, false
		}
	case int64:
		if v > int64(maxSecondsDuration/time.Second) {
			p.failf(n, "%d seconds is too long; quote durations: an unquoted 2m means 2000000", v)
			return 0, false
		}
		d = time.Duration(v) * time.Second
	default:
		p.wrongType(n, "duration string or seconds")
		return 0, false
	}
	if d <= 0 {
		p.failf(n, "duration must be positive, got %v", d)
		return 0, false
	}
	return d, true
}

// seconds reads a positive timeout given as seconds (integer or float) or as a
// duration string, the forms nats-server takes for authorization and tls timeouts.
func (p *parser) seconds(n node) (time.Duration, bool) {
	var d time.Duration
	switch v := n.val.(type) {
	case float64:
		if math.IsNaN(v) || v > maxSecondsDuration.Seconds() {
			p.failf(n, "%v seconds is out of range", v)
			return 0, false
		}
		d = time.Duration(v * float64(time.Second))
	case int64, string:
		return p.duration(n)
	default:
		p.wrongType(n, "seconds or duration string")
		return 0, false
	}
	if d <= 0 {
		p.failf(n, "duration must be positive, got %v", d)
		return 0, false
	}
	return d, true
}

// hostPort reads a listen address: "host:port", ":port" (all interfaces) or a
// bare port, which keeps the host unchanged (ok reports hostSet false then).
func (p *parser) hostPort(n node) (host string, port int, hostSet, ok bool) {
	switch v := n.val.(type) {
	case int64:
		port, ok = p.port(n)
		return "", port, false, ok
	case string:
		h, ps, err := net.SplitHostPort(v)
		if err != nil {
			p.failf(n, "%q is not host:port", v)
			return "", 0, false, false
		}
		pi, err := strconv.Atoi(ps)
		if err != nil || pi < -1 || pi > 65535 {
			p.failf(n, "bad port %q in %q", ps, v)
			return "", 0, false, false
		}
		if h == "" {
			// An empty host means every interface, as for net.Listen and nats-server.
			h = "0.0.0.0"
		}
		return h, pi, true, true
	default:
		p.wrongType(n, "host:port or port")
		return "", 0, false, false
	}
}

// stringList reads a string or an array of strings.
func (p *parser) stringList(n node) ([]string, bool) {
	switch v := n.val.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		ok := true
		for i, raw := range v {
			s, good := p.str(n.elem(i, raw))
			ok = ok && good
			out = append(out, s)
		}
		return out, ok
	default:
		p.wrongType(n, "string or array of strings")
		return nil, false
	}
}

// Setters: handlers that store a checked value into a field.

func (p *parser) setString(dst *string) func(node) {
	return func(n node) {
		if s, ok := p.str(n); ok {
			*dst = s
		}
	}
}

func (p *parser) setHost(dst *string) func(node) {
	return func(n node) {
		if s, ok := p.str(n); ok {
			if err := checkHost(s); err != nil {
				p.fail(n, err)
				return
			}
			*dst = s
		}
	}
}

func (p *parser) setBool(dst *bool) func(node) {
	return func(n node) {
		if b, ok := p.boolean(n); ok {
			*dst = b
		}
	}
}

func (p *parser) setPort(dst *int) func(node) {
	return func(n node) {
		if v, ok := p.port(n); ok {
			*dst = v
		}
	}
}

func (p *parser) setInt(dst *int, lo, hi int64) func(node) {
	return func(n node) {
		if v, ok := p.intRange(n, lo, hi); ok {
			*dst = int(v)
		}
	}
}

func (p *parser) setInt32(dst *int32, lo, hi int64) func(node) {
	return func(n node) {
		if v, ok := p.intRange(n, lo, hi); ok {
			*dst = int32(v)
		}
	}
}

func (p *parser) setInt64(dst *int64, lo, hi int64) func(node) {
	return func(n node) {
		if v, ok := p.intRange(n, lo, hi); ok {
			*dst = v
		}
	}
}

func (p *parser) setDuration(dst *time.Duration) func(node) {
	return func(n node) {
		if d, ok := p.duration(n); ok {
			*dst = d
		}
	}
}

// setSeconds stores a duration given as seconds or a duration string.
func (p *parser) setSeconds(dst *time.Duration) func(node) {
	return func(n node) {
		if d, ok := p.seconds(n); ok {
			*dst = d
		}
	}
}
