//go:build leafbox_omit_gpio

package main

import (
	"fmt"
	"log/slog"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/internal/feature"
)

// gpioOpener stands in for gpio.Opener in a build without the GPIO bridge.
type gpioOpener struct{}

func defaultGPIOOpener() gpioOpener { return gpioOpener{} }

// newGPIOBridge fails: this build has no GPIO bridge.
func newGPIOBridge(cfg bridge.GPIOConfig, _ gpioOpener, _ bridge.Conn, _ *slog.Logger) (bridge.Bridge, error) {
	return nil, fmt.Errorf("gpio bridge %s: %w", cfg.Name, feature.GPIO.Err())
}
