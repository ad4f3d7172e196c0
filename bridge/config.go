package bridge

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the serial, GPIO and Modbus bridges
// (bridges { serial = [...], gpio = [...], modbus = [...] }). The zero
// value has no bridges.
type Config struct {
	Serial []SerialConfig
	GPIO   []GPIOConfig
	Modbus []ModbusConfig
	// Backoff paces restarts of failed bridges.
	Backoff Backoff
}

// Empty reports whether no bridge is configured.
func (c Config) Empty() bool { return len(c.Serial) == 0 && len(c.GPIO) == 0 && len(c.Modbus) == 0 }

// ItemError is a problem of one bridge of a Config, found by
// Config.Validate.
type ItemError struct {
	Kind  string // "serial", "gpio" or "modbus"
	Index int    // in Config.Serial, Config.GPIO or Config.Modbus
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("%s[%d]: %v", e.Kind, e.Index, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// DuplicateNameError reports a bridge named like one before it: names
// key /bridgez and the default subjects, so they must differ.
type DuplicateNameError struct{ Name string }

func (e *DuplicateNameError) Error() string {
	return fmt.Sprintf("duplicate bridge name %q (set name to tell them apart)", e.Name)
}

// Is makes a DuplicateNameError an ErrConfig.
func (e *DuplicateNameError) Is(target error) bool { return target == ErrConfig }

// Validate checks every bridge and that names are unique.
func (c Config) Validate() error {
	var errs []error
	seen := make(map[string]bool)
	unique := func(kind string, i int, name string) {
		if seen[name] {
			errs = append(errs, &ItemError{Kind: kind, Index: i, Err: &DuplicateNameError{Name: name}})
		}
		seen[name] = true
	}
	// Two bridges on one serial port or one GPIO line would fight over it.
	claimed := make(map[string]string)
	claim := func(what, device string) {
		if first, ok := claimed[device]; ok {
			errs = append(errs, fmt.Errorf("%s: %w: %s is already used by %s", what, ErrConfig, device, first))
			return
		}
		claimed[device] = what
	}
	for i, s := range c.Serial {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("serial[%d]: %w", i, err))
			continue
		}
		unique("serial", i, s.WithDefaults().Name)
		claim(fmt.Sprintf("serial[%d]", i), "port "+s.Port)
	}
	for i, g := range c.GPIO {
		if err := g.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("gpio[%d]: %w", i, err))
			continue
		}
		unique("gpio", i, g.WithDefaults().Name)
		// The driver hands two openers of one line the same line object.
		claim(fmt.Sprintf("gpio[%d]", i), fmt.Sprintf("line %s of chip %q", g.Line, g.Chip))
	}
	for i, m := range c.Modbus {
		if err := m.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("modbus[%d]: %w", i, err))
			continue
		}
		unique("modbus", i, m.WithDefaults().Name)
		if m.TCP() {
			claim(fmt.Sprintf("modbus[%d]", i), "address "+m.Address)
		} else {
			claim(fmt.Sprintf("modbus[%d]", i), "port "+m.Port)
		}
	}
	if err := c.Backoff.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Default back-off of bridge restarts.
const (
	DefaultBackoffMin = 250 * time.Millisecond
	DefaultBackoffMax = 30 * time.Second
)

// Backoff is the delay between restarts of a failed bridge: Min after the
// first failure, doubling up to Max, back to Min once the bridge was up.
type Backoff struct {
	Min, Max time.Duration // zero: DefaultBackoffMin, DefaultBackoffMax
}

// WithDefaults fills zero fields.
func (b Backoff) WithDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = DefaultBackoffMin
	}
	if b.Max <= 0 {
		b.Max = max(DefaultBackoffMax, b.Min)
	}
	return b
}

// Validate checks that Min is not above Max.
func (b Backoff) Validate() error {
	d := b.WithDefaults()
	if d.Min > d.Max {
		return fmt.Errorf("%w: retry_min %v is above retry_max %v", ErrConfig, d.Min, d.Max)
	}
	return nil
}
