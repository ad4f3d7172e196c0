//go:build leafbox_omit_serial

package main

import (
	"fmt"
	"log/slog"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/internal/feature"
)

// newSerialBridge fails: this build has no serial bridge.
func newSerialBridge(cfg bridge.SerialConfig, _ bridge.Conn, _ *slog.Logger) (bridge.Bridge, error) {
	return nil, fmt.Errorf("serial bridge %s: %w", cfg.Name, feature.Serial.Err())
}
