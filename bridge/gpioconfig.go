package bridge

import (
	"fmt"
	"strconv"
	"time"
)

// DefaultGPIOSubject is the subject template of a GPIO bridge.
const DefaultGPIOSubject = "gpio.{name}"

// Direction of a GPIO line.
type Direction string

// Directions; the zero value is DirIn.
const (
	DirIn  Direction = "in"
	DirOut Direction = "out"
)

// Pull is a GPIO input's bias.
type Pull string

// Biases; the zero value leaves the line's bias as it is.
const (
	PullAsIs Pull = ""
	PullNone Pull = "none"
	PullUp   Pull = "up"
	PullDown Pull = "down"
)

// Edge selects the input changes that are published.
type Edge string

// Edges; the zero value is EdgeBoth.
const (
	EdgeBoth    Edge = "both"
	EdgeRising  Edge = "rising"
	EdgeFalling Edge = "falling"
	EdgeNone    Edge = "none" // no events, the level only on request
)

// Level is an optional logical level.
type Level string

// Levels; the zero value is "not set".
const (
	LevelUnset Level = ""
	LevelLow   Level = "low"
	LevelHigh  Level = "high"
)

// GPIOConfig configures one GPIO line bridge.
type GPIOConfig struct {
	// Name is the bridge's name; empty means "<chip>_<line>" (or the line
	// name alone for the default chip).
	Name string
	// Account is the broker account the bridge publishes and subscribes
	// in; empty means the global account.
	Account string
	// Chip is a chip's name (gpiochip0), label or /dev path; empty means
	// the first chip (on a Raspberry Pi, the one of the pin header).
	Chip string
	// Line is the line offset on the chip ("17") or its name ("GPIO17").
	Line      string
	Direction Direction
	Pull      Pull
	// ActiveLow inverts the logical level: high means the line is low.
	ActiveLow bool
	Edge      Edge
	// Debounce publishes an input change only once the level has been
	// stable for this long.
	Debounce time.Duration
	// Subject: inputs publish changes here; outputs take commands here
	// unless CommandSubject is set, in which case they publish each new
	// level here. A template with {name}, {chip}, {line} and {port}.
	Subject string
	// CommandSubject: inputs answer requests for the current level here;
	// outputs take commands here. Empty: inputs use Subject + ".get",
	// outputs use Subject.
	CommandSubject string
	// Initial is an output's level at start (unset: low); SafeLevel is
	// its level on shutdown (unset: left as it is).
	Initial, SafeLevel Level
}

// WithDefaults fills zero fields.
func (c GPIOConfig) WithDefaults() GPIOConfig {
	if c.Name == "" {
		c.Name = c.Line
		if c.Chip != "" {
			c.Name = Token(c.Chip) + "_" + c.Line
		}
	}
	if c.Direction == "" {
		c.Direction = DirIn
	}
	if c.Edge == "" {
		c.Edge = EdgeBoth
	}
	if c.Subject == "" {
		c.Subject = DefaultGPIOSubject
	}
	return c
}

// LineNumber reports whether Line is an offset, and which.
func (c GPIOConfig) LineNumber() (int, bool) {
	n, err := strconv.Atoi(c.Line)
	return n, err == nil && n >= 0
}

// Vars are the subject template values of the bridge.
func (c GPIOConfig) Vars() Vars {
	c = c.WithDefaults()
	port := c.Line
	if c.Chip != "" {
		port = Token(c.Chip) + "_" + c.Line
	}
	return Vars{"name": c.Name, "chip": c.Chip, "line": c.Line, "port": port}
}

// Subjects expands the event and command subjects (see Subject and
// CommandSubject). For an output without CommandSubject, event is empty.
func (c GPIOConfig) Subjects() (event, command string, err error) {
	c = c.WithDefaults()
	vars := c.Vars()
	subj, err := ExpandSubject(c.Subject, vars)
	if err != nil {
		return "", "", fmt.Errorf("subject: %w", err)
	}
	if c.CommandSubject != "" {
		cmd, err := ExpandSubject(c.CommandSubject, vars)
		if err != nil {
			return "", "", fmt.Errorf("command_subject: %w", err)
		}
		if cmd == subj {
			return "", "", fmt.Errorf("%w: command_subject must differ from subject", ErrConfig)
		}
		return subj, cmd, nil
	}
	if c.Direction == DirOut {
		return "", subj, nil
	}
	return subj, subj + ".get", nil
}

// Validate checks the configuration.
func (c GPIOConfig) Validate() error {
	d := c.WithDefaults()
	if c.Line == "" {
		return fmt.Errorf("%w: line is required", ErrConfig)
	}
	if n, err := strconv.Atoi(c.Line); err == nil && n < 0 {
		return fmt.Errorf("%w: line %d is negative", ErrConfig, n)
	}
	switch d.Direction {
	case DirIn, DirOut:
	default:
		return fmt.Errorf("%w: direction must be in or out, not %q", ErrConfig, d.Direction)
	}
	switch d.Pull {
	case PullAsIs, PullNone, PullUp, PullDown:
	default:
		return fmt.Errorf("%w: pull must be up, down or none, not %q", ErrConfig, d.Pull)
	}
	switch d.Edge {
	case EdgeBoth, EdgeRising, EdgeFalling, EdgeNone:
	default:
		return fmt.Errorf("%w: edge must be rising, falling, both or none, not %q", ErrConfig, d.Edge)
	}
	for _, l := range []Level{d.Initial, d.SafeLevel} {
		switch l {
		case LevelUnset, LevelLow, LevelHigh:
		default:
			return fmt.Errorf("%w: level must be low or high, not %q", ErrConfig, l)
		}
	}
	if d.Debounce < 0 {
		return fmt.Errorf("%w: debounce must not be negative", ErrConfig)
	}
	if d.Direction == DirOut && (d.Debounce > 0 || d.Pull != PullAsIs) {
		return fmt.Errorf("%w: debounce and pull apply to inputs only", ErrConfig)
	}
	if d.Direction == DirIn && (d.Initial != LevelUnset || d.SafeLevel != LevelUnset) {
		return fmt.Errorf("%w: initial and safe_level apply to outputs only", ErrConfig)
	}
	_, _, err := d.Subjects()
	return err
}
