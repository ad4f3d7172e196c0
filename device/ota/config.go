package ota

import (
	"fmt"
	"time"

	"github.com/nats-io/nkeys"
)

// Boot control backends.
const (
	BootTryboot = "tryboot"
	BootUBoot   = "uboot"
	BootFile    = "file"
)

// Defaults of the confirm-when-healthy logic.
const (
	DefaultConfirmAfter   = time.Minute
	DefaultConfirmTimeout = 10 * time.Minute
	DefaultHealthInterval = 5 * time.Second
)

// SlotPaths are the targets of one slot's images: files or block devices.
type SlotPaths struct {
	Rootfs string
	Boot   string // only for boards whose boot files live per slot
}

// Config configures OTA updates (device { ota { ... } }).
type Config struct {
	// TrustedKeys are the operator public nkeys whose signatures are accepted.
	TrustedKeys []string
	// Board is this device's compatible string; bundles must name it.
	Board string
	// BootControl is "tryboot", "uboot" or "file".
	BootControl string
	Tryboot     TrybootConfig
	UBoot       UBootConfig
	// BootFile is the state file of the "file" backend.
	BootFile string
	// A and B are the slots.
	A, B SlotPaths
	// StateDir holds the update state and history (on the data partition).
	StateDir string
	// Version is the running software version.
	Version string
	// ConfirmAfter is how long health checks must pass in a row before a
	// trial boot is committed; ConfirmTimeout is how long that may take
	// before the trial is rolled back; HealthInterval is the check period.
	ConfirmAfter, ConfirmTimeout, HealthInterval time.Duration
	// NoCommands disables install commands over NATS.
	NoCommands bool
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if len(c.TrustedKeys) == 0 {
		return fmt.Errorf("%w: trusted_keys is empty: no bundle could ever be installed", ErrConfig)
	}
	for _, k := range c.TrustedKeys {
		if !nkeys.IsValidPublicOperatorKey(k) && !nkeys.IsValidPublicAccountKey(k) && !nkeys.IsValidPublicUserKey(k) {
			return fmt.Errorf("%w: trusted key %q is not a public nkey", ErrConfig, k)
		}
	}
	if c.Board == "" {
		return fmt.Errorf("%w: board is required", ErrConfig)
	}
	if c.A.Rootfs == "" || c.B.Rootfs == "" {
		return fmt.Errorf("%w: slots a and b need a rootfs", ErrConfig)
	}
	if c.A.Rootfs == c.B.Rootfs || (c.A.Boot != "" && c.A.Boot == c.B.Boot) {
		return fmt.Errorf("%w: slots a and b share a target", ErrConfig)
	}
	if (c.A.Boot == "") != (c.B.Boot == "") {
		return fmt.Errorf("%w: either both slots or neither have a boot target", ErrConfig)
	}
	if c.StateDir == "" {
		return fmt.Errorf("%w: state_dir is required", ErrConfig)
	}
	switch c.BootControl {
	case BootTryboot, BootUBoot:
	case BootFile:
		if c.BootFile == "" {
			return fmt.Errorf("%w: boot_control file needs boot_file", ErrConfig)
		}
	default:
		return fmt.Errorf("%w: boot_control %q is not tryboot, uboot or file", ErrConfig, c.BootControl)
	}
	if c.ConfirmAfter < 0 || c.ConfirmTimeout < 0 || c.HealthInterval < 0 {
		return fmt.Errorf("%w: negative duration", ErrConfig)
	}
	return nil
}

// withDefaults fills zero durations.
func (c Config) withDefaults() Config {
	if c.ConfirmAfter == 0 {
		c.ConfirmAfter = DefaultConfirmAfter
	}
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = DefaultConfirmTimeout
	}
	if c.ConfirmTimeout < c.ConfirmAfter {
		c.ConfirmTimeout = c.ConfirmAfter
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	return c
}

// NewBootControl builds the configured backend.
func (c *Config) NewBootControl() (BootControl, error) {
	switch c.BootControl {
	case BootTryboot:
		return NewTryboot(c.Tryboot)
	case BootUBoot:
		return NewUBoot(c.UBoot)
	case BootFile:
		return &FileBoot{Path: c.BootFile}, nil
	}
	return nil, fmt.Errorf("%w: boot_control %q", ErrConfig, c.BootControl)
}

// slot returns the paths of s.
func (c *Config) slot(s Slot) SlotPaths {
	if s == SlotB {
		return c.B
	}
	return c.A
}
