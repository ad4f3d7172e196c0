//go:build !linux

package serial

import (
	"errors"

	"github.com/leafbox/leafbox/bridge"
)

// ErrNoRS485 means the port's driver has no RS-485 mode.
var ErrNoRS485 = errors.New("serial: driver has no RS-485 mode")

// SetRS485 has no RS-485 mode to set outside Linux.
func SetRS485(path string, r *bridge.RS485) error { return ErrNoRS485 }
