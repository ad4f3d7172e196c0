package mqtt

import "errors"

// Errors of topic checks.
var (
	ErrInvalidTopic  = errors.New("mqtt: invalid topic name")
	ErrInvalidFilter = errors.New("mqtt: invalid topic filter")
)

// Topics map to subjects with the rules of nats-server's MQTT support, so a
// device moved between nats-server and leafbox lands on the same subjects:
//
//	'/' between levels        → '.'         a/b    → a.b
//	'/' at the start, or after
//	an empty level            → "/."        /a     → /.a
//	'/' before an empty level
//	or at the end             → "./"        a//b   → a./.b, a/ → a./
//	'.' inside a level        → "//"        a.b    → a//b
//	'+' and '#'               → '*' and '>' (filters only)
//
// Whitespace and DEL are refused: they would break the NATS wire protocol.

// appendSubject appends the subject of topic (a topic name, or a filter
// when filter is set) to dst. It returns ErrInvalidTopic or
// ErrInvalidFilter for what MQTT or NATS cannot carry. It does not
// allocate when dst has room.
func appendSubject(dst, topic []byte, filter bool) ([]byte, error) {
	bad := ErrInvalidTopic
	if filter {
		bad = ErrInvalidFilter
	}
	if len(topic) == 0 || !validUTF8(topic) { // [MQTT-4.7.3-1]
		return dst, bad
	}
	start := len(dst)
	end := len(topic) - 1
	for i, c := range topic {
		switch c {
		case '/':
			switch {
			case i == 0 || dst[len(dst)-1] == '.':
				dst = append(dst, '/', '.')
			case i == end || topic[i+1] == '/':
				dst = append(dst, '.', '/')
			default:
				dst = append(dst, '.')
			}
		case '.':
			dst = append(dst, '/', '/')
		case '+', '#':
			// A wildcard fills a whole level; '#' is the last one
			// [MQTT-4.7.1-2] [MQTT-4.7.1-3]; topic names have none
			// [MQTT-3.3.2-2].
			if !filter || (i > 0 && topic[i-1] != '/') || (i < end && topic[i+1] != '/') || (c == '#' && i != end) {
				return dst[:start], bad
			}
			if c == '+' {
				dst = append(dst, '*')
			} else {
				dst = append(dst, '>')
			}
		case ' ', '\t', '\n', '\r', '\f', 0x7f:
			return dst[:start], bad
		default:
			dst = append(dst, c)
		}
	}
	if dst[len(dst)-1] == '.' {
		dst = append(dst, '/')
	}
	return dst, nil
}

// topicLen is the length of the topic appendTopic makes of subject.
func topicLen(subject []byte) int {
	n := 0
	for i := 0; i < len(subject); i++ {
		if subject[i] == '/' {
			if i+1 < len(subject) && (subject[i+1] == '.' || subject[i+1] == '/') {
				n++
				i++
			}
			continue
		}
		n++
	}
	return n
}

// appendTopic appends the MQTT topic of a NATS subject to dst, reversing
// appendSubject. It does not allocate when dst has room.
func appendTopic(dst, subject []byte) []byte {
	for i := 0; i < len(subject); i++ {
		switch c := subject[i]; c {
		case '/':
			if i+1 < len(subject) {
				switch subject[i+1] {
				case '.':
					dst = append(dst, '/')
					i++
				case '/':
					dst = append(dst, '.')
					i++
				}
			}
		case '.':
			dst = append(dst, '/')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// matchTopic reports whether topic name t matches filter f with MQTT
// rules, including that a filter starting with a wildcard does not match
// topics starting with '$' [MQTT-4.7.2-1].
func matchTopic(f, t string) bool {
	if len(t) > 0 && t[0] == '$' && len(f) > 0 && (f[0] == '+' || f[0] == '#') {
		return false
	}
	for {
		if f == "#" {
			return true
		}
		fl, frest, fmore := cutLevel(f)
		tl, trest, tmore := cutLevel(t)
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore {
			return !tmore
		}
		if !tmore {
			// "a/#" matches "a" too [MQTT-4.7.1-2].
			return frest == "#"
		}
		f, t = frest, trest
	}
}

func cutLevel(s string) (level, rest string, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
