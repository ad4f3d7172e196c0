package gpio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadCommand means an output command is not a level.
var ErrBadCommand = errors.New("gpio: bad command")

// appendEvent appends {"name":..,"level":0|1,"edge":..,"time":..}; edge is
// left out when empty.
func appendEvent(dst []byte, name string, level bool, edge string, at time.Time) []byte {
	dst = append(dst, `{"name":`...)
	dst = strconv.AppendQuote(dst, name)
	dst = append(dst, `,"level":`...)
	dst = strconv.AppendInt(dst, int64(levelInt(level)), 10)
	if edge != "" {
		dst = append(dst, `,"edge":"`...)
		dst = append(dst, edge...)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"time":"`...)
	dst = at.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}

// ParseLevel reads an output command: 1/0, on/off, high/low, true/false,
// toggle (relative to current), or JSON: a number, boolean or string of
// those, or an object {"level": ...}.
func ParseLevel(p []byte, current bool) (bool, error) {
	p = bytes.TrimSpace(p)
	if len(p) > 0 && (p[0] == '{' || p[0] == '"') {
		var v any
		if err := json.Unmarshal(p, &v); err != nil {
			return false, fmt.Errorf("%w: %v", ErrBadCommand, err)
		}
		if obj, ok := v.(map[string]any); ok {
			lv, ok := obj["level"]
			if !ok {
				return false, fmt.Errorf(`%w: JSON command without "level"`, ErrBadCommand)
			}
			v = lv
		}
		switch x := v.(type) {
		case bool:
			return x, nil
		case float64:
			p = []byte(strconv.FormatFloat(x, 'f', -1, 64))
		case string:
			p = []byte(x)
		default:
			return false, fmt.Errorf("%w: level %v", ErrBadCommand, v)
		}
	}
	switch strings.ToLower(string(p)) {
	case "1", "on", "high", "true":
		return true, nil
	case "0", "off", "low", "false":
		return false, nil
	case "toggle":
		return !current, nil
	}
	return false, fmt.Errorf("%w: %q is not 1, 0, on, off, high, low, true, false or toggle", ErrBadCommand, truncate(p, 32))
}

func truncate(p []byte, n int) []byte {
	if len(p) > n {
		return p[:n]
	}
	return p
}
