// Package gpiotest has fake GPIO lines for testing the gpio bridge without
// hardware. Lines work inside testing/synctest bubbles: WaitForEdge waits
// on channels and timers only.
package gpiotest

import (
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	bgpio "github.com/leafbox/leafbox/bridge/gpio"
)

// Line is a fake line. As an input, the test drives its level with Set;
// as an output, the bridge's levels are recorded in Outs.
type Line struct {
	mu       sync.Mutex
	level    gpio.Level // physical
	dir      string     // "", "in", "out"
	pull     gpio.Pull
	edge     gpio.Edge
	outs     []gpio.Level
	requests int
	closed   bool
	edges    chan struct{}
	// InErr and OutErr, when set, fail In and Out (a busy line).
	InErr, OutErr error
}

// NewLine returns a line at level low. Create it inside a synctest bubble
// when the bridge runs in one.
func NewLine() *Line { return &Line{edges: make(chan struct{}, 1024)} }

// Set drives the line's physical level, queuing an edge event when the
// level changes and the requested edge detection matches.
func (l *Line) Set(level gpio.Level) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if level == l.level {
		return
	}
	l.level = level
	if l.dir != "in" || l.closed {
		return
	}
	if l.edge == gpio.BothEdges || (l.edge == gpio.RisingEdge && level) || (l.edge == gpio.FallingEdge && !level) {
		select {
		case l.edges <- struct{}{}:
		default: // overflow: the kernel drops events too
		}
	}
}

// In requests the line as an input.
func (l *Line) In(pull gpio.Pull, edge gpio.Edge) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.InErr != nil {
		return l.InErr
	}
	l.dir, l.pull, l.edge, l.closed = "in", pull, edge, false
	l.requests++
	return nil
}

// Read returns the physical level.
func (l *Line) Read() gpio.Level {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.level
}

// WaitForEdge waits for a queued edge; timeout 0 waits forever.
func (l *Line) WaitForEdge(timeout time.Duration) bool {
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-l.edges:
		return true
	case <-expire:
		return false
	}
}

// Out requests the line as an output and sets it.
func (l *Line) Out(level gpio.Level) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.OutErr != nil {
		return l.OutErr
	}
	if l.dir != "out" || l.closed {
		l.requests++
	}
	l.dir, l.closed = "out", false
	l.level = level
	l.outs = append(l.outs, level)
	return nil
}

// Close releases the line.
func (l *Line) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

// Outs returns the levels set as an output, in order.
func (l *Line) Outs() []gpio.Level {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]gpio.Level(nil), l.outs...)
}

// State reports the direction, pull and edge detection last requested, and
// whether the line is released.
func (l *Line) State() (dir string, pull gpio.Pull, edge gpio.Edge, closed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dir, l.pull, l.edge, l.closed
}

// Chip is a fake Opener holding lines by "chip/line" key.
type Chip struct {
	mu    sync.Mutex
	lines map[string]*Line
	// Busy lines fail to open with gpio.ErrBusy.
	busy map[string]bool
}

// NewChip returns an empty chip set.
func NewChip() *Chip { return &Chip{lines: make(map[string]*Line), busy: make(map[string]bool)} }

// Add makes a line openable as (chip, line) and returns it.
func (c *Chip) Add(chip, line string) *Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := NewLine()
	c.lines[chip+"/"+line] = l
	return l
}

// SetBusy makes a line fail to open, as one held by another consumer.
func (c *Chip) SetBusy(chip, line string, busy bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy[chip+"/"+line] = busy
}

// Open implements gpio.Opener.
func (c *Chip) Open(chip, line string) (bgpio.Line, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := chip + "/" + line
	if c.busy[key] {
		return nil, fmt.Errorf("%w: %s", bgpio.ErrBusy, key)
	}
	l, ok := c.lines[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s", bgpio.ErrNoLine, key)
	}
	return l, nil
}

var _ bgpio.Opener = (*Chip)(nil)
