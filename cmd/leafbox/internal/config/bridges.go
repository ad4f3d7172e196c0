package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/internal/feature"
)

// bridges parses bridges { serial = [...], gpio = [...], modbus = [...], retry_min, retry_max }
// into options.Bridges.
func (p *parser) bridges(n node) {
	c := &p.opts.Bridges
	// at holds the node of each bridge kept in c, to place what
	// c.Validate finds across them.
	at := map[string][]node{}
	p.fields(n, fieldTable{
		"serial": p.need(feature.Serial, func(n node) { c.Serial, at["serial"] = p.serialBridges(n) }),
		"gpio":   p.need(feature.GPIO, func(n node) { c.GPIO, at["gpio"] = p.gpioBridges(n) }),
		"modbus": p.need(feature.Modbus, func(n node) { c.Modbus, at["modbus"] = p.modbusBridges(n) }),
		// MQTT client bridges run with the MQTT listener: they go to Options.MQTT.
		"mqtt":      p.need(feature.MQTTBridge, func(n node) { p.opts.MQTT.Bridges = p.mqttBridges(n) }),
		"retry_min": p.setDuration(&c.Backoff.Min),
		"retry_max": p.setDuration(&c.Backoff.Max),
	})
	if err := c.Backoff.Validate(); err != nil {
		p.fail(n, err)
	}
	// Each bridge was checked as it was read; names must also differ.
	for _, err := range joined(c.Validate()) {
		var ie *bridge.ItemError
		var dup *bridge.DuplicateNameError
		if errors.As(err, &ie) && errors.As(ie.Err, &dup) {
			p.fail(at[ie.Kind][ie.Index], fmt.Errorf("%w: %w", ErrBadValue, dup))
		}
	}
}

// joined splits an errors.Join result into its errors.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// blocks returns the elements of an array of blocks (a single block is
// taken as an array of one).
func (p *parser) blocks(n node, what string) []node {
	var raws []any
	switch v := n.val.(type) {
	case []any:
		raws = v
	case map[string]any:
		raws = []any{n.val}
	default:
		p.wrongType(n, "array of "+what+" blocks")
		return nil
	}
	out := make([]node, 0, len(raws))
	for i, raw := range raws {
		e := n.elem(i, raw)
		if _, single := n.val.(map[string]any); single {
			e = n
		}
		if _, ok := e.val.(map[string]any); !ok {
			p.wrongType(e, what+" block")
			continue
		}
		out = append(out, e)
	}
	return out
}

// serialBridges reads the serial bridges, and the node of each one kept.
func (p *parser) serialBridges(n node) ([]bridge.SerialConfig, []node) {
	var out []bridge.SerialConfig
	var at []node
	for _, e := range p.blocks(n, "serial") {
		var c bridge.SerialConfig
		f := &c.Framing
		errs := len(p.errs)
		p.fields(e, fieldTable{
			"name":            p.setString(&c.Name),
			"account":         p.setString(&c.Account),
			"port":            p.setString(&c.Port),
			"baud":            p.setInt(&c.Baud, 1, 20_000_000),
			"data_bits":       p.setInt(&c.DataBits, 5, 8),
			"parity":          p.setEnum((*string)(&c.Parity), "none", "odd", "even", "mark", "space"),
			"stop_bits":       func(n node) { p.stopBits(n, &c.StopBits) },
			"rs485":           func(n node) { c.RS485 = p.rs485(n) },
			"framing":         p.setEnum((*string)(&f.Mode), "line", "fixed", "length_prefixed", "cobs", "raw"),
			"delimiter":       func(n node) { p.delimiter(n, &f.Delimiter) },
			"trim":            func(n node) { p.invertBool(n, &f.NoTrim) },
			"size":            p.setInt(&f.Size, 1, bridge.MaxFrameLimit),
			"prefix_bytes":    p.setInt(&f.PrefixBytes, 1, 4),
			"endian":          func(n node) { p.endian(n, &f.LittleEndian) },
			"idle_gap":        p.setDuration(&f.IdleGap),
			"max_frame":       p.setInt(&f.MaxFrame, 1, bridge.MaxFrameLimit),
			"subject":         p.setString(&c.Subject),
			"command_subject": p.setString(&c.CommandSubject),
			"request_timeout": p.setDuration(&c.RequestTimeout),
		})
		if len(p.errs) > errs {
			continue // checks across keys would repeat what is reported
		}
		if c.Port == "" {
			p.failf(e, "port is required")
			continue
		}
		if err := c.Validate(); err != nil {
			p.fail(e, err)
			continue
		}
		out, at = append(out, c), append(at, e)
	}
	return out, at
}

// gpioBridges reads the GPIO bridges, and the node of each one kept.
func (p *parser) gpioBridges(n node) ([]bridge.GPIOConfig, []node) {
	var out []bridge.GPIOConfig
	var at []node
	for _, e := range p.blocks(n, "gpio") {
		var c bridge.GPIOConfig
		errs := len(p.errs)
		p.fields(e, fieldTable{
			"name":            p.setString(&c.Name),
			"account":         p.setString(&c.Account),
			"chip":            p.setString(&c.Chip),
			"line":            func(n node) { p.gpioLine(n, &c.Line) },
			"direction":       p.setEnum((*string)(&c.Direction), "in", "out"),
			"pull":            p.setEnum((*string)(&c.Pull), "up", "down", "none"),
			"active_low":      p.setBool(&c.ActiveLow),
			"edge":            p.setEnum((*string)(&c.Edge), "rising", "falling", "both", "none"),
			"debounce":        p.setDuration(&c.Debounce),
			"subject":         p.setString(&c.Subject),
			"command_subject": p.setString(&c.CommandSubject),
			"initial":         func(n node) { p.level(n, &c.Initial) },
			"safe_level":      func(n node) { p.level(n, &c.SafeLevel) },
		})
		if len(p.errs) > errs {
			continue // checks across keys would repeat what is reported
		}
		if c.Line == "" {
			p.failf(e, "line is required")
			continue
		}
		if err := c.Validate(); err != nil {
			p.fail(e, err)
			continue
		}
		out, at = append(out, c), append(at, e)
	}
	return out, at
}

// setEnum stores one of the allowed words, case-insensitively.
func (p *parser) setEnum(dst *string, allowed ...string) func(node) {
	return func(n node) {
		s, ok := p.str(n)
		if !ok {
			return
		}
		for _, a := range allowed {
			if strings.EqualFold(s, a) {
				*dst = a
				return
			}
		}
		p.failf(n, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

// invertBool stores the negation of a boolean (trim: false sets NoTrim).
func (p *parser) invertBool(n node, dst *bool) {
	if b, ok := p.boolean(n); ok {
		*dst = !b
	}
}

func (p *parser) stopBits(n node, dst *bridge.StopBits) {
	switch v := n.val.(type) {
	case int64:
		switch v {
		case 1:
			*dst = bridge.StopBits1
			return
		case 2:
			*dst = bridge.StopBits2
			return
		}
	case float64:
		switch v {
		case 1:
			*dst = bridge.StopBits1
			return
		case 1.5:
			*dst = bridge.StopBits1Half
			return
		case 2:
			*dst = bridge.StopBits2
			return
		}
	default:
		p.wrongType(n, "1, 1.5 or 2")
		return
	}
	p.failf(n, "stop bits must be 1, 1.5 or 2, not %v", n.val)
}

func (p *parser) endian(n node, little *bool) {
	s, ok := p.str(n)
	if !ok {
		return
	}
	switch strings.ToLower(s) {
	case "big":
		*little = false
	case "little":
		*little = true
	default:
		p.failf(n, "endian must be big or little, not %q", s)
	}
}

// delimiter reads a line delimiter: a non-empty string, with the config
// syntax's escapes ("\r\n", "\x03").
func (p *parser) delimiter(n node, dst *[]byte) {
	s, ok := p.str(n)
	if !ok {
		return
	}
	if s == "" || len(s) > 16 {
		p.failf(n, "delimiter must be 1 to 16 bytes, got %d", len(s))
		return
	}
	*dst = []byte(s)
}

// gpioLine reads a line offset (an integer) or a line name.
func (p *parser) gpioLine(n node, dst *string) {
	switch v := n.val.(type) {
	case int64:
		if v < 0 || v > math.MaxInt32 {
			p.failf(n, "line %d is out of range", v)
			return
		}
		*dst = strconv.FormatInt(v, 10)
	case string:
		if v == "" {
			p.failf(n, "empty line name")
			return
		}
		*dst = v
	default:
		p.wrongType(n, "line number or name")
	}
}

// level reads an output level: low/high, off/on, 0/1 or a boolean.
func (p *parser) level(n node, dst *bridge.Level) {
	switch v := n.val.(type) {
	case bool:
		*dst = bridge.LevelLow
		if v {
			*dst = bridge.LevelHigh
		}
		return
	case int64:
		switch v {
		case 0:
			*dst = bridge.LevelLow
			return
		case 1:
			*dst = bridge.LevelHigh
			return
		}
	case string:
		switch strings.ToLower(v) {
		case "low", "off", "0":
			*dst = bridge.LevelLow
			return
		case "high", "on", "1":
			*dst = bridge.LevelHigh
			return
		}
	default:
		p.wrongType(n, "level (low, high, 0, 1, true or false)")
		return
	}
	p.failf(n, "%v is not a level (low, high, 0, 1, true or false)", n.val)
}

// rs485 reads rs485 { ... } (or rs485: true for the defaults: RTS high
// while sending). false leaves RS-485 mode off.
func (p *parser) rs485(n node) *bridge.RS485 {
	if b, ok := n.val.(bool); ok {
		if !b {
			return nil
		}
		return &bridge.RS485{RTSOnSend: true}
	}
	r := &bridge.RS485{RTSOnSend: true}
	p.fields(n, fieldTable{
		"rts_on_send":       p.setBool(&r.RTSOnSend),
		"rts_after_send":    p.setBool(&r.RTSAfterSend),
		"delay_before_send": p.setDuration(&r.DelayBeforeSend),
		"delay_after_send":  p.setDuration(&r.DelayAfterSend),
		"rx_during_tx":      p.setBool(&r.RxDuringTx),
		"terminate_bus":     p.setBool(&r.TerminateBus),
	})
	return r
}
