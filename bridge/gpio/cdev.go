package gpio

import (
	"fmt"
	"path/filepath"
	"strconv"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/host/v3/gpioioctl"
)

// CDev opens lines of the Linux GPIO character devices (/dev/gpiochipN)
// through periph's gpioioctl driver. Only that driver is linked, not the
// whole periph host registry, which keeps the binary small.
type CDev struct{}

// Open finds the line. The line is requested from the kernel by the
// bridge's In or Out, which fails if another consumer holds it.
func (CDev) Open(chip, line string) (Line, error) {
	// Init runs the registered drivers once per process; later calls
	// return the first result. Chips that appear afterwards are not seen.
	if _, err := driverreg.Init(); err != nil {
		return nil, fmt.Errorf("init periph drivers: %w", err)
	}
	chips := gpioioctl.Chips
	if len(chips) == 0 {
		return nil, fmt.Errorf("%w: no GPIO character devices", ErrNoChip)
	}
	if chip != "" {
		c := findChip(chips, chip)
		if c == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoChip, chip)
		}
		chips = []*gpioioctl.GPIOChip{c}
	}
	if n, err := strconv.Atoi(line); err == nil {
		c := chips[0]
		if n < 0 || n >= c.LineCount() {
			return nil, fmt.Errorf("%w: %s has %d lines, no line %d", ErrNoLine, c.Name(), c.LineCount(), n)
		}
		return cdevLine{c.ByNumber(n)}, nil
	}
	for _, c := range chips {
		if l := c.ByName(line); l != nil {
			return cdevLine{l}, nil
		}
	}
	return nil, fmt.Errorf("%w: no line named %q", ErrNoLine, line)
}

func findChip(chips []*gpioioctl.GPIOChip, want string) *gpioioctl.GPIOChip {
	for _, c := range chips {
		if c.Name() == want || c.Label() == want || c.Path() == want || filepath.Base(c.Path()) == want {
			return c
		}
	}
	return nil
}

// cdevLine adapts gpioioctl's line; its Close returns nothing.
type cdevLine struct {
	*gpioioctl.GPIOLine
}

func (l cdevLine) Close() error {
	l.GPIOLine.Close()
	return nil
}
