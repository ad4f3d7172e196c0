//go:build leafbox_omit_modbus

package main

import (
	"fmt"
	"log/slog"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/internal/feature"
)

// newModbusBridge fails: this build has no Modbus bridge.
func newModbusBridge(cfg bridge.ModbusConfig, _ bridge.Conn, _ *slog.Logger) (bridge.Bridge, error) {
	return nil, fmt.Errorf("modbus bridge %s: %w", cfg.Name, feature.Modbus.Err())
}
