//go:build !leafbox_omit_gpio

package main

import (
	"log/slog"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/gpio"
)

// gpioOpener finds GPIO lines: the character devices in the daemon, fakes
// in tests.
type gpioOpener = gpio.Opener

// defaultGPIOOpener opens lines through the GPIO character devices.
func defaultGPIOOpener() gpioOpener { return gpio.CDev{} }

// newGPIOBridge makes a GPIO bridge; the tag leafbox_omit_gpio leaves the
// GPIO bridge out (bridge_gpio_omit.go).
func newGPIOBridge(cfg bridge.GPIOConfig, opener gpioOpener, conn bridge.Conn, log *slog.Logger) (bridge.Bridge, error) {
	b, err := gpio.New(cfg, opener, conn, log)
	if err != nil {
		return nil, err
	}
	return b, nil
}
