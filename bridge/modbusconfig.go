package bridge

import (
	"fmt"
	"math"
	"net"
	"time"
)

// Defaults and limits of Modbus bridges.
const (
	DefaultModbusInterval = time.Second
	DefaultModbusTimeout  = time.Second
	DefaultModbusSubject  = "modbus.{name}.{device}"
	DefaultModbusPointSub = "modbus.{name}.{device}.{point}"
	DefaultModbusCommand  = "modbus.{name}.{device}.set"
	DefaultModbusRetryMax = 30 * time.Second
	// MaxModbusRegisters and MaxModbusBits are the most registers and
	// coils or discrete inputs one read may ask for (Modbus application
	// protocol 1.1b3, 6.1 to 6.4).
	MaxModbusRegisters = 125
	MaxModbusBits      = 2000
	// MaxModbusStringRegisters bounds a string point.
	MaxModbusStringRegisters = 120
)

// ModbusTable is one of the four Modbus data tables.
type ModbusTable string

// Tables; the zero value is TableHolding.
const (
	TableCoil     ModbusTable = "coil"
	TableDiscrete ModbusTable = "discrete"
	TableHolding  ModbusTable = "holding"
	TableInput    ModbusTable = "input"
)

// Bits reports whether the table holds single bits (coils, discrete inputs).
func (t ModbusTable) Bits() bool { return t == TableCoil || t == TableDiscrete }

// ModbusType is the data type of a point.
type ModbusType string

// Point types; the zero value is uint16 for registers and bool for bits.
const (
	TypeBool    ModbusType = "bool"
	TypeInt16   ModbusType = "int16"
	TypeUint16  ModbusType = "uint16"
	TypeInt32   ModbusType = "int32"
	TypeUint32  ModbusType = "uint32"
	TypeInt64   ModbusType = "int64"
	TypeUint64  ModbusType = "uint64"
	TypeFloat32 ModbusType = "float32"
	TypeFloat64 ModbusType = "float64"
	// TypeString is Length registers of text, two bytes a register,
	// ended early by a NUL.
	TypeString ModbusType = "string"
	// TypeBit is bit Bit (0 = least significant) of one register.
	TypeBit ModbusType = "bit"
)

// Registers is how many 16-bit registers a value of the type takes; for
// strings it is length.
func (t ModbusType) Registers(length int) int {
	switch t {
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	case TypeInt64, TypeUint64, TypeFloat64:
		return 4
	case TypeString:
		return length
	}
	return 1
}

// PublishMode says when a poll group is published.
type PublishMode string

// Publish modes; the zero value is PublishChange.
const (
	// PublishChange: when a value moved by more than the deadband, or a
	// point's quality changed.
	PublishChange PublishMode = "change"
	// PublishPoll: after every poll.
	PublishPoll PublishMode = "poll"
	// PublishBoth: on change, and at least every Heartbeat without one.
	PublishBoth PublishMode = "both"
)

// ModbusPoint is one value of a device's register map.
type ModbusPoint struct {
	Name    string
	Table   ModbusTable
	Address int // 0-based protocol address, 0 to 65535
	Type    ModbusType
	// Length is the register count of a string point.
	Length int
	// Bit is the bit of a TypeBit point, 0 to 15.
	Bit int
	// LittleEndianBytes puts the low byte first in each register;
	// LittleEndianWords puts the least significant register first (the
	// "word-swapped" order of many meters).
	LittleEndianBytes, LittleEndianWords bool
	// Scale and Offset map the raw number to the value: raw*Scale+Offset
	// (Scale zero means 1).
	Scale, Offset float64
	Unit          string
	// Group names the poll group; empty is the device's default group.
	Group string
	// Writable lets the command subject write the point (coils and
	// holding registers only).
	Writable bool
	// Deadband overrides the group's deadband for this point.
	Deadband *float64
	// Min and Max bound written values when set (after scaling).
	Min, Max *float64
}

// WithDefaults fills zero fields.
func (p ModbusPoint) WithDefaults() ModbusPoint {
	if p.Table == "" {
		p.Table = TableHolding
	}
	if p.Type == "" {
		p.Type = TypeUint16
		if p.Table.Bits() {
			p.Type = TypeBool
		}
	}
	if p.Scale == 0 {
		p.Scale = 1
	}
	return p
}

// Registers is the number of registers (or bits) the point spans.
func (p ModbusPoint) Registers() int {
	if p.Table.Bits() {
		return 1
	}
	return p.Type.Registers(p.Length)
}

// Validate checks the point.
func (p ModbusPoint) Validate() error {
	d := p.WithDefaults()
	if p.Name == "" {
		return fmt.Errorf("%w: point name is required", ErrConfig)
	}
	switch d.Table {
	case TableCoil, TableDiscrete, TableHolding, TableInput:
	default:
		return fmt.Errorf("%w: point %s: unknown table %q (coil, discrete, holding or input)", ErrConfig, p.Name, d.Table)
	}
	switch d.Type {
	case TypeBool:
		if !d.Table.Bits() {
			return fmt.Errorf("%w: point %s: bool is for coils and discrete inputs; use bit for a bit of a register", ErrConfig, p.Name)
		}
	case TypeInt16, TypeUint16, TypeInt32, TypeUint32, TypeInt64, TypeUint64, TypeFloat32, TypeFloat64, TypeString, TypeBit:
		if d.Table.Bits() {
			return fmt.Errorf("%w: point %s: %s table holds bits, type must be bool", ErrConfig, p.Name, d.Table)
		}
	default:
		return fmt.Errorf("%w: point %s: unknown type %q", ErrConfig, p.Name, d.Type)
	}
	if d.Type == TypeString && (d.Length < 1 || d.Length > MaxModbusStringRegisters) {
		return fmt.Errorf("%w: point %s: string needs length 1 to %d registers", ErrConfig, p.Name, MaxModbusStringRegisters)
	}
	if d.Type == TypeBit && (d.Bit < 0 || d.Bit > 15) {
		return fmt.Errorf("%w: point %s: bit must be 0 to 15", ErrConfig, p.Name)
	}
	if d.Address < 0 || d.Address+d.Registers() > 65536 {
		return fmt.Errorf("%w: point %s: address %d (+%d) is outside 0 to 65535", ErrConfig, p.Name, d.Address, d.Registers())
	}
	if math.IsNaN(d.Scale) || math.IsInf(d.Scale, 0) || math.IsNaN(d.Offset) || math.IsInf(d.Offset, 0) {
		return fmt.Errorf("%w: point %s: scale and offset must be finite", ErrConfig, p.Name)
	}
	if d.Writable {
		if d.Table != TableCoil && d.Table != TableHolding {
			return fmt.Errorf("%w: point %s: only coils and holding registers are writable", ErrConfig, p.Name)
		}
		if d.Type == TypeBit {
			return fmt.Errorf("%w: point %s: a bit of a register is not writable (it would need a read-modify-write)", ErrConfig, p.Name)
		}
	}
	if d.Deadband != nil && *d.Deadband < 0 {
		return fmt.Errorf("%w: point %s: negative deadband", ErrConfig, p.Name)
	}
	if d.Min != nil && d.Max != nil && *d.Min > *d.Max {
		return fmt.Errorf("%w: point %s: min is above max", ErrConfig, p.Name)
	}
	return nil
}

// ModbusGroup is a set of points polled and published together.
type ModbusGroup struct {
	Name     string
	Interval time.Duration // zero: the device's
	Publish  PublishMode   // empty: the device's
	Deadband *float64      // nil: the device's
	// Heartbeat is the longest silence of PublishBoth (zero: ten polls).
	Heartbeat time.Duration
}

// ModbusDevice is one unit id on a line.
type ModbusDevice struct {
	// Name keys subjects, /bridgez and metrics; unique on the bridge.
	Name string
	Unit int // 0 to 247 on RTU (0 is broadcast and never polled), 0 to 255 on TCP
	// Interval is the poll period of the default group (zero:
	// DefaultModbusInterval).
	Interval time.Duration
	Publish  PublishMode
	// Deadband is the default: a value is changed when it moved by more.
	Deadband  float64
	Heartbeat time.Duration
	// MaxGap is how many unmapped registers (or bits) a read may span to
	// join two points into one request.
	MaxGap int
	// MaxRegisters caps one read (zero: MaxModbusRegisters).
	MaxRegisters int
	// PerPoint publishes each point on its own subject (PointSubject)
	// instead of one message per group on Subject.
	PerPoint bool
	// Subject, PointSubject and CommandSubject are templates with {name}
	// (the bridge), {device}, {unit}, {group} and {point} as they apply.
	Subject, PointSubject, CommandSubject string
	// RetryMin and RetryMax pace polls of a device that stopped answering
	// (zero: the interval, DefaultModbusRetryMax).
	RetryMin, RetryMax time.Duration
	Groups             []ModbusGroup
	Points             []ModbusPoint
}

// WithDefaults fills zero fields (not those of groups and points).
func (d ModbusDevice) WithDefaults() ModbusDevice {
	if d.Interval <= 0 {
		d.Interval = DefaultModbusInterval
	}
	if d.Publish == "" {
		d.Publish = PublishChange
	}
	if d.Heartbeat <= 0 {
		d.Heartbeat = 10 * d.Interval
	}
	if d.MaxRegisters <= 0 {
		d.MaxRegisters = MaxModbusRegisters
	}
	if d.Subject == "" {
		d.Subject = DefaultModbusSubject
	}
	if d.PointSubject == "" {
		d.PointSubject = DefaultModbusPointSub
	}
	if d.CommandSubject == "" {
		d.CommandSubject = DefaultModbusCommand
	}
	if d.RetryMin <= 0 {
		d.RetryMin = d.Interval
	}
	if d.RetryMax <= 0 {
		d.RetryMax = max(DefaultModbusRetryMax, d.RetryMin)
	}
	return d
}

// Group returns the effective settings of the named group ("" is the
// default group): every field set, Deadband not nil.
func (d ModbusDevice) Group(name string) ModbusGroup {
	heartbeatSet := d.Heartbeat > 0
	d = d.WithDefaults()
	db := d.Deadband
	g := ModbusGroup{Name: name, Interval: d.Interval, Publish: d.Publish, Deadband: &db, Heartbeat: d.Heartbeat}
	for _, c := range d.Groups {
		if c.Name != name {
			continue
		}
		if c.Interval > 0 {
			g.Interval = c.Interval
			if !heartbeatSet {
				g.Heartbeat = 10 * c.Interval
			}
		}
		if c.Publish != "" {
			g.Publish = c.Publish
		}
		if c.Deadband != nil {
			db = *c.Deadband
		}
		if c.Heartbeat > 0 {
			g.Heartbeat = c.Heartbeat
		}
	}
	if g.Name == "" {
		g.Name = "default"
	}
	return g
}

// Vars are the subject template values of the device.
func (d ModbusDevice) Vars(bridgeName string) Vars {
	return Vars{"name": bridgeName, "device": d.Name, "unit": fmt.Sprint(d.Unit)}
}

// Writable reports whether the device has a writable point.
func (d ModbusDevice) Writable() bool {
	for _, p := range d.Points {
		if p.Writable {
			return true
		}
	}
	return false
}

func validPublish(m PublishMode) bool {
	switch m {
	case "", PublishChange, PublishPoll, PublishBoth:
		return true
	}
	return false
}

// validate checks the device on a line (tcp allows unit ids above 247).
func (d ModbusDevice) validate(bridgeName string, tcp bool) error {
	w := d.WithDefaults()
	if d.Name == "" {
		return fmt.Errorf("%w: device name is required", ErrConfig)
	}
	maxUnit := 247
	if tcp {
		maxUnit = 255
	}
	if d.Unit < 0 || d.Unit > maxUnit || (!tcp && d.Unit == 0) {
		return fmt.Errorf("%w: device %s: unit %d is out of range (1 to 247 on RTU, 0 to 255 on TCP)", ErrConfig, d.Name, d.Unit)
	}
	if !validPublish(d.Publish) {
		return fmt.Errorf("%w: device %s: publish must be change, poll or both, not %q", ErrConfig, d.Name, d.Publish)
	}
	if d.Deadband < 0 || d.MaxGap < 0 || d.MaxGap > MaxModbusRegisters {
		return fmt.Errorf("%w: device %s: deadband and max_gap must not be negative, max_gap at most %d", ErrConfig, d.Name, MaxModbusRegisters)
	}
	if w.MaxRegisters > MaxModbusRegisters {
		return fmt.Errorf("%w: device %s: max_registers is at most %d", ErrConfig, d.Name, MaxModbusRegisters)
	}
	if w.RetryMin > w.RetryMax {
		return fmt.Errorf("%w: device %s: retry_min is above retry_max", ErrConfig, d.Name)
	}
	if len(d.Points) == 0 {
		return fmt.Errorf("%w: device %s: no points", ErrConfig, d.Name)
	}
	groups := map[string]bool{"": true}
	for _, g := range d.Groups {
		if g.Name == "" || groups[g.Name] {
			return fmt.Errorf("%w: device %s: group names must be set and unique (%q)", ErrConfig, d.Name, g.Name)
		}
		if g.Deadband != nil && *g.Deadband < 0 {
			return fmt.Errorf("%w: device %s: group %s: negative deadband", ErrConfig, d.Name, g.Name)
		}
		if !validPublish(g.Publish) {
			return fmt.Errorf("%w: device %s: group %s: publish must be change, poll or both", ErrConfig, d.Name, g.Name)
		}
		groups[g.Name] = true
	}
	vars := d.Vars(bridgeName)
	cmd := ""
	if d.Writable() {
		var err error
		if cmd, err = ExpandSubject(w.CommandSubject, vars); err != nil {
			return fmt.Errorf("device %s: command_subject: %w", d.Name, err)
		}
	}
	names := map[string]bool{}
	for _, p := range d.Points {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("device %s: %w", d.Name, err)
		}
		if names[p.Name] {
			return fmt.Errorf("%w: device %s: duplicate point %q", ErrConfig, d.Name, p.Name)
		}
		names[p.Name] = true
		if p.WithDefaults().Registers() > w.MaxRegisters {
			return fmt.Errorf("%w: device %s: point %s spans more than max_registers", ErrConfig, d.Name, p.Name)
		}
		if !groups[p.Group] {
			return fmt.Errorf("%w: device %s: point %s: unknown group %q", ErrConfig, d.Name, p.Name, p.Group)
		}
		v := Vars{"name": bridgeName, "device": d.Name, "unit": vars["unit"], "point": p.Name, "group": d.Group(p.Group).Name}
		tmpl := w.Subject
		if d.PerPoint {
			tmpl = w.PointSubject
		}
		subj, err := ExpandSubject(tmpl, v)
		if err != nil {
			return fmt.Errorf("device %s: subject: %w", d.Name, err)
		}
		if subj == cmd {
			return fmt.Errorf("%w: device %s: command subject %s is also a publish subject", ErrConfig, d.Name, cmd)
		}
	}
	return nil
}

// ModbusConfig configures one Modbus line: a serial port (RTU) or a TCP
// address, and the devices polled on it one at a time.
type ModbusConfig struct {
	// Name is the bridge's name; empty means the base name of Port, or
	// Address.
	Name string
	// Port is the serial device of an RTU line; Address the host:port of a
	// TCP line. Exactly one is set.
	Port    string
	Address string
	// Account is the broker account the bridge publishes and takes
	// commands in; empty means the global account.
	Account string
	// Serial settings of an RTU line.
	Baud     int // zero: DefaultBaud
	DataBits int // zero: 8
	Parity   Parity
	StopBits StopBits
	RS485    *RS485
	// FrameGap is the silence before each request on an RTU line (zero:
	// 3.5 character times, at least 1.75ms above 19200 baud).
	FrameGap time.Duration
	// Timeout bounds each request (zero: DefaultModbusTimeout).
	Timeout time.Duration
	Devices []ModbusDevice
}

// TCP reports whether the line is Modbus TCP.
func (c ModbusConfig) TCP() bool { return c.Address != "" }

// WithDefaults fills zero fields of the line (devices keep theirs).
func (c ModbusConfig) WithDefaults() ModbusConfig {
	if c.Name == "" {
		c.Name = Token(c.Port)
		if c.TCP() {
			c.Name = Token(c.Address)
		}
	}
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if c.DataBits == 0 {
		c.DataBits = DefaultDataBits
	}
	if c.Parity == "" {
		c.Parity = ParityNone
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultModbusTimeout
	}
	if c.FrameGap <= 0 {
		// 3.5 characters of 11 bits; a fixed 1.75ms above 19200 baud
		// (Modbus over serial line 1.02, 2.5.1.1).
		c.FrameGap = time.Duration(float64(time.Second) * 38.5 / float64(c.Baud))
		if c.Baud > 19200 {
			c.FrameGap = 1750 * time.Microsecond
		}
	}
	return c
}

// SerialConfig is the port part of an RTU line, as the serial bridge
// takes it.
func (c ModbusConfig) SerialConfig() SerialConfig {
	c = c.WithDefaults()
	return SerialConfig{Name: c.Name, Port: c.Port, Baud: c.Baud, DataBits: c.DataBits,
		Parity: c.Parity, StopBits: c.StopBits, RS485: c.RS485}
}

// Validate checks the line and its devices.
func (c ModbusConfig) Validate() error {
	if (c.Port == "") == (c.Address == "") {
		return fmt.Errorf("%w: set either port (RTU) or address (TCP)", ErrConfig)
	}
	d := c.WithDefaults()
	if c.TCP() {
		if _, port, err := net.SplitHostPort(c.Address); err != nil || port == "" {
			return fmt.Errorf("%w: address %q is not host:port", ErrConfig, c.Address)
		}
	} else {
		if err := d.SerialConfig().Validate(); err != nil {
			return err
		}
	}
	if len(c.Devices) == 0 {
		return fmt.Errorf("%w: no devices", ErrConfig)
	}
	names := map[string]bool{}
	units := map[int]string{}
	for _, dev := range c.Devices {
		if err := dev.validate(d.Name, c.TCP()); err != nil {
			return err
		}
		if names[dev.Name] {
			return fmt.Errorf("%w: duplicate device %q", ErrConfig, dev.Name)
		}
		names[dev.Name] = true
		if other, ok := units[dev.Unit]; ok {
			return fmt.Errorf("%w: devices %s and %s have the same unit %d", ErrConfig, other, dev.Name, dev.Unit)
		}
		units[dev.Unit] = dev.Name
	}
	return nil
}
