//go:build !leafbox_omit_serial

package main

import (
	"log/slog"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/serial"
)

// newSerialBridge makes a serial bridge; the tag leafbox_omit_serial
// leaves the serial bridge out (bridge_serial_omit.go).
func newSerialBridge(cfg bridge.SerialConfig, conn bridge.Conn, log *slog.Logger) (bridge.Bridge, error) {
	b, err := serial.New(cfg, conn, log)
	if err != nil {
		return nil, err
	}
	return b, nil
}
