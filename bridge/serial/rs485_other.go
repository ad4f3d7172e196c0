//go:build !linux

package serial

import (
	"errors"

	"github.com/leafbox/leafbox/bridge"
)

var errNoRS485 = errors.New("serial: driver has no RS-485 mode")

func setRS485(path string, r *bridge.RS485) error { return errNoRS485 }
