package gpio

import (
	"errors"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Errors of opening lines.
var (
	ErrNoChip = errors.New("gpio: no such chip")
	ErrNoLine = errors.New("gpio: no such line")
	ErrBusy   = errors.New("gpio: line busy")
)

// Line is what the bridge needs of one GPIO line: periph's gpio.PinIn and
// gpio.PinOut subset, plus Close to release it.
type Line interface {
	In(pull gpio.Pull, edge gpio.Edge) error
	Read() gpio.Level
	// WaitForEdge waits for an edge event, at most timeout (0: forever).
	WaitForEdge(timeout time.Duration) bool
	Out(l gpio.Level) error
	Close() error
}

// Opener finds a line: chip is a chip's name, label or path ("" for the
// first chip); line is an offset ("17") or a line name ("GPIO17").
type Opener interface {
	Open(chip, line string) (Line, error)
}
