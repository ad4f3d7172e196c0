package config

import (
	"math"

	"github.com/leafbox/leafbox/bridge"
)

// modbusBridges reads bridges { modbus = [...] }: one block per line, a
// serial port (RTU) or a TCP address, each with its devices and their
// register maps. It returns the lines kept and the node of each.
func (p *parser) modbusBridges(n node) ([]bridge.ModbusConfig, []node) {
	var out []bridge.ModbusConfig
	var at []node
	for _, e := range p.blocks(n, "modbus") {
		var c bridge.ModbusConfig
		errs := len(p.errs)
		p.fields(e, fieldTable{
			"name":      p.setString(&c.Name),
			"port":      p.setString(&c.Port),
			"address":   p.setString(&c.Address),
			"account":   p.setString(&c.Account),
			"baud":      p.setInt(&c.Baud, 1, 20_000_000),
			"data_bits": p.setInt(&c.DataBits, 5, 8),
			"parity":    p.setEnum((*string)(&c.Parity), "none", "odd", "even", "mark", "space"),
			"stop_bits": func(n node) { p.stopBits(n, &c.StopBits) },
			"rs485":     func(n node) { c.RS485 = p.rs485(n) },
			"frame_gap": p.setDuration(&c.FrameGap),
			"timeout":   p.setDuration(&c.Timeout),
			"devices": func(n node) {
				for _, d := range p.blocks(n, "device") {
					c.Devices = append(c.Devices, p.modbusDevice(d))
				}
			},
		})
		if len(p.errs) > errs {
			continue // checks across keys would repeat what is reported
		}
		if err := c.Validate(); err != nil {
			p.fail(e, err)
			continue
		}
		out, at = append(out, c), append(at, e)
	}
	return out, at
}

func (p *parser) modbusDevice(n node) bridge.ModbusDevice {
	var d bridge.ModbusDevice
	p.fields(n, fieldTable{
		"name":            p.setString(&d.Name),
		"unit":            p.setInt(&d.Unit, 0, 255),
		"interval":        p.setDuration(&d.Interval),
		"publish":         p.setEnum((*string)(&d.Publish), "change", "poll", "both"),
		"deadband":        p.setFloat(&d.Deadband, 0),
		"heartbeat":       p.setDuration(&d.Heartbeat),
		"max_gap":         p.setInt(&d.MaxGap, 0, bridge.MaxModbusRegisters),
		"max_registers":   p.setInt(&d.MaxRegisters, 1, bridge.MaxModbusRegisters),
		"per_point":       p.setBool(&d.PerPoint),
		"subject":         p.setString(&d.Subject),
		"point_subject":   p.setString(&d.PointSubject),
		"command_subject": p.setString(&d.CommandSubject),
		"retry_min":       p.setDuration(&d.RetryMin),
		"retry_max":       p.setDuration(&d.RetryMax),
		"groups": func(n node) {
			for _, g := range p.blocks(n, "group") {
				d.Groups = append(d.Groups, p.modbusGroup(g))
			}
		},
		"points": func(n node) {
			for _, pt := range p.blocks(n, "point") {
				d.Points = append(d.Points, p.modbusPoint(pt))
			}
		},
	})
	return d
}

func (p *parser) modbusGroup(n node) bridge.ModbusGroup {
	var g bridge.ModbusGroup
	p.fields(n, fieldTable{
		"name":      p.setString(&g.Name),
		"interval":  p.setDuration(&g.Interval),
		"publish":   p.setEnum((*string)(&g.Publish), "change", "poll", "both"),
		"deadband":  p.setFloatPtr(&g.Deadband, 0),
		"heartbeat": p.setDuration(&g.Heartbeat),
	})
	return g
}

func (p *parser) modbusPoint(n node) bridge.ModbusPoint {
	var pt bridge.ModbusPoint
	p.fields(n, fieldTable{
		"name":       p.setString(&pt.Name),
		"table":      p.setEnum((*string)(&pt.Table), "coil", "discrete", "holding", "input"),
		"address":    p.setInt(&pt.Address, 0, 65535),
		"type":       p.setEnum((*string)(&pt.Type), "bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string", "bit"),
		"length":     p.setInt(&pt.Length, 1, bridge.MaxModbusStringRegisters),
		"bit":        p.setInt(&pt.Bit, 0, 15),
		"byte_order": func(n node) { p.endian(n, &pt.LittleEndianBytes) },
		"word_order": func(n node) { p.endian(n, &pt.LittleEndianWords) },
		"scale": func(n node) {
			if f, ok := p.float(n, math.Inf(-1)); ok && f == 0 {
				p.failf(n, "scale must not be 0")
			} else if ok {
				pt.Scale = f
			}
		},
		"offset":   p.setFloat(&pt.Offset, math.Inf(-1)),
		"unit":     p.setString(&pt.Unit),
		"group":    p.setString(&pt.Group),
		"writable": p.setBool(&pt.Writable),
		"deadband": p.setFloatPtr(&pt.Deadband, 0),
		"min":      p.setFloatPtr(&pt.Min, math.Inf(-1)),
		"max":      p.setFloatPtr(&pt.Max, math.Inf(-1)),
	})
	return pt
}

// float reads a finite number (an integer is taken as one) not below lo.
func (p *parser) float(n node, lo float64) (float64, bool) {
	var f float64
	switch v := n.val.(type) {
	case int64:
		f = float64(v)
	case float64:
		f = v
	default:
		p.wrongType(n, "number")
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < lo {
		p.failf(n, "%v is out of range", f)
		return 0, false
	}
	return f, true
}

func (p *parser) setFloat(dst *float64, lo float64) func(node) {
	return func(n node) {
		if f, ok := p.float(n, lo); ok {
			*dst = f
		}
	}
}

func (p *parser) setFloatPtr(dst **float64, lo float64) func(node) {
	return func(n node) {
		if f, ok := p.float(n, lo); ok {
			*dst = &f
		}
	}
}
