//go:build !leafbox_omit_modbus

package main

import (
	"log/slog"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/modbus"
)

// newModbusBridge makes a Modbus bridge; the tag leafbox_omit_modbus
// leaves the Modbus bridge out (bridge_modbus_omit.go).
func newModbusBridge(cfg bridge.ModbusConfig, conn bridge.Conn, log *slog.Logger) (bridge.Bridge, error) {
	b, err := modbus.New(cfg, conn, log)
	if err != nil {
		return nil, err
	}
	return b, nil
}
