package bridge

import (
	"fmt"
	"time"
)

// Defaults of serial bridges.
const (
	DefaultBaud           = 9600
	DefaultDataBits       = 8
	DefaultMaxFrame       = 4096
	DefaultRequestTimeout = time.Second
	DefaultIdleGap        = 20 * time.Millisecond
	DefaultPrefixBytes    = 2
	DefaultSerialSubject  = "serial.{name}"
	// MaxFrameLimit caps max_frame: a frame is one message, and the
	// broker's max_payload is at most 64MB.
	MaxFrameLimit = 1 << 24
)

// Parity of a serial port.
type Parity string

// Parities.
const (
	ParityNone  Parity = "none" // the zero value means none too
	ParityOdd   Parity = "odd"
	ParityEven  Parity = "even"
	ParityMark  Parity = "mark"
	ParitySpace Parity = "space"
)

// StopBits of a serial port.
type StopBits int

// Stop bits; the zero value is one stop bit.
const (
	StopBits1 StopBits = iota
	StopBits1Half
	StopBits2
)

// FramingMode says how inbound bytes are cut into frames, and how commands
// are framed on the way out.
type FramingMode string

// Framing modes; the zero value is FramingLine.
const (
	// FramingLine: frames end with Delimiter (default "\n").
	FramingLine FramingMode = "line"
	// FramingFixed: every frame is Size bytes.
	FramingFixed FramingMode = "fixed"
	// FramingLengthPrefixed: a PrefixBytes big- or little-endian length,
	// then that many bytes.
	FramingLengthPrefixed FramingMode = "length_prefixed"
	// FramingCOBS: consistent overhead byte stuffing, frames end with 0x00.
	FramingCOBS FramingMode = "cobs"
	// FramingRaw: a frame is what arrives until the line is idle for IdleGap.
	FramingRaw FramingMode = "raw"
)

// Framing configures the framer of a serial bridge.
type Framing struct {
	Mode FramingMode
	// Delimiter ends a line (FramingLine); empty means "\n".
	Delimiter []byte
	// NoTrim keeps the delimiter and trailing CR/LF bytes on inbound lines;
	// by default they are trimmed.
	NoTrim bool
	// Size is the frame size of FramingFixed.
	Size int
	// PrefixBytes is the length prefix size of FramingLengthPrefixed: 1, 2
	// or 4 (zero means 2). LittleEndian selects the byte order (default big).
	PrefixBytes  int
	LittleEndian bool
	// IdleGap ends a frame of FramingRaw (zero: DefaultIdleGap).
	IdleGap time.Duration
	// MaxFrame bounds a frame's payload (zero: DefaultMaxFrame). Longer
	// frames are dropped and counted as oversize.
	MaxFrame int
}

// WithDefaults fills zero fields.
func (f Framing) WithDefaults() Framing {
	if f.Mode == "" {
		f.Mode = FramingLine
	}
	if len(f.Delimiter) == 0 && f.Mode == FramingLine {
		f.Delimiter = []byte("\n")
	}
	if f.PrefixBytes == 0 && f.Mode == FramingLengthPrefixed {
		f.PrefixBytes = DefaultPrefixBytes
	}
	if f.IdleGap <= 0 && f.Mode == FramingRaw {
		f.IdleGap = DefaultIdleGap
	}
	if f.MaxFrame <= 0 {
		f.MaxFrame = DefaultMaxFrame
		if f.Mode == FramingFixed && f.Size > f.MaxFrame {
			f.MaxFrame = f.Size
		}
	}
	return f
}

// Validate checks the framing options.
func (f Framing) Validate() error {
	f = f.WithDefaults()
	if f.MaxFrame > MaxFrameLimit {
		return fmt.Errorf("%w: max_frame %d is above %d", ErrConfig, f.MaxFrame, MaxFrameLimit)
	}
	switch f.Mode {
	case FramingLine:
		if len(f.Delimiter) > 16 {
			return fmt.Errorf("%w: delimiter is longer than 16 bytes", ErrConfig)
		}
	case FramingFixed:
		if f.Size <= 0 {
			return fmt.Errorf("%w: framing fixed needs a positive size", ErrConfig)
		}
		if f.Size > f.MaxFrame {
			return fmt.Errorf("%w: size %d is above max_frame %d", ErrConfig, f.Size, f.MaxFrame)
		}
	case FramingLengthPrefixed:
		switch f.PrefixBytes {
		case 1, 2, 4:
		default:
			return fmt.Errorf("%w: prefix_bytes must be 1, 2 or 4, not %d", ErrConfig, f.PrefixBytes)
		}
	case FramingCOBS, FramingRaw:
	default:
		return fmt.Errorf("%w: unknown framing %q (line, fixed, length_prefixed, cobs or raw)", ErrConfig, f.Mode)
	}
	return nil
}

// RS485 configures the kernel's RS-485 mode of a port (TIOCSRS485), where
// the driver has one. Adapters that switch direction in hardware have none;
// the bridge then logs a warning and carries on.
type RS485 struct {
	// RTSOnSend and RTSAfterSend are the RTS levels while sending and after.
	RTSOnSend, RTSAfterSend bool
	// DelayBeforeSend and DelayAfterSend are millisecond-resolution delays
	// around sending.
	DelayBeforeSend, DelayAfterSend time.Duration
	// RxDuringTx keeps the receiver on while sending.
	RxDuringTx bool
	// TerminateBus enables the bus termination resistor if the port has one.
	TerminateBus bool
}

// SerialConfig configures one serial bridge.
type SerialConfig struct {
	// Name is the bridge's name in subjects, logs and /bridgez; empty means
	// the base name of Port.
	Name string
	// Account is the broker account the bridge publishes and subscribes
	// in; empty means the global account.
	Account string
	// Port is the device path, such as /dev/ttyUSB0.
	Port     string
	Baud     int // zero: DefaultBaud
	DataBits int // 5 to 8; zero: 8
	Parity   Parity
	StopBits StopBits
	// RS485, when not nil, enables the kernel's RS-485 mode.
	RS485   *RS485
	Framing Framing
	// Subject receives every inbound frame; a template with {name} and
	// {port} (zero: DefaultSerialSubject).
	Subject string
	// CommandSubject, when set, takes messages to write to the port; a
	// request there is answered with the next inbound frame.
	CommandSubject string
	// RequestTimeout bounds the wait for that frame (zero:
	// DefaultRequestTimeout).
	RequestTimeout time.Duration
}

// WithDefaults fills zero fields.
func (c SerialConfig) WithDefaults() SerialConfig {
	if c.Name == "" {
		c.Name = Token(c.Port)
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
	if c.Subject == "" {
		c.Subject = DefaultSerialSubject
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	c.Framing = c.Framing.WithDefaults()
	return c
}

// Vars are the subject template values of the bridge.
func (c SerialConfig) Vars() Vars {
	c = c.WithDefaults()
	return Vars{"name": c.Name, "port": c.Port}
}

// Validate checks the configuration.
func (c SerialConfig) Validate() error {
	d := c.WithDefaults()
	if c.Port == "" {
		return fmt.Errorf("%w: port is required", ErrConfig)
	}
	if d.Baud < 0 || d.Baud > 20_000_000 {
		return fmt.Errorf("%w: baud %d is out of range", ErrConfig, d.Baud)
	}
	if d.DataBits < 5 || d.DataBits > 8 {
		return fmt.Errorf("%w: data_bits must be 5 to 8, not %d", ErrConfig, d.DataBits)
	}
	switch d.Parity {
	case ParityNone, ParityOdd, ParityEven, ParityMark, ParitySpace:
	default:
		return fmt.Errorf("%w: unknown parity %q (none, odd, even, mark or space)", ErrConfig, d.Parity)
	}
	if d.StopBits < StopBits1 || d.StopBits > StopBits2 {
		return fmt.Errorf("%w: bad stop bits %d", ErrConfig, d.StopBits)
	}
	if r := d.RS485; r != nil && (r.DelayBeforeSend < 0 || r.DelayAfterSend < 0) {
		return fmt.Errorf("%w: rs485 delays must not be negative", ErrConfig)
	}
	if err := d.Framing.Validate(); err != nil {
		return err
	}
	vars := d.Vars()
	if _, err := ExpandSubject(d.Subject, vars); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	if d.CommandSubject != "" {
		cmd, err := ExpandSubject(d.CommandSubject, vars)
		if err != nil {
			return fmt.Errorf("command_subject: %w", err)
		}
		if subj, _ := ExpandSubject(d.Subject, vars); subj == cmd {
			return fmt.Errorf("%w: command_subject must differ from subject", ErrConfig)
		}
	}
	return nil
}
