// Package device holds the configuration of the device services: the
// device identity, the hardware watchdog and OTA updates. The services
// themselves live in device/identity, device/watchdog and device/ota;
// cmd/leafbox wires them.
package device

import (
	"fmt"

	"github.com/leafbox/leafbox/device/identity"
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/watchdog"
)

// Config configures device services (device { ... }). The zero value means
// no device services.
type Config struct {
	// Enabled is set when the configuration has a device block.
	Enabled  bool
	Identity identity.Config
	// Watchdog and OTA are nil when their blocks are absent.
	Watchdog *watchdog.Config
	OTA      *ota.Config
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	if err := c.Identity.Validate(); err != nil {
		return fmt.Errorf("device: identity: %w", err)
	}
	if c.Watchdog != nil {
		if err := c.Watchdog.Validate(); err != nil {
			return fmt.Errorf("device: %w", err)
		}
	}
	if c.OTA != nil {
		if err := c.OTA.Validate(); err != nil {
			return fmt.Errorf("device: %w", err)
		}
	}
	return nil
}
