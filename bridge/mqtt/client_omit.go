//go:build leafbox_omit_mqttbridge

package mqtt

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/internal/feature"
)

// Bridge stands in for the MQTT client bridge in a build with the tag
// leafbox_omit_mqttbridge, which leaves out paho (and with it net/http).
type Bridge struct{}

// NewBridge fails: this build has no MQTT client bridge.
func NewBridge(cfg BridgeConfig, _ bridge.Conn, _ *slog.Logger) (*Bridge, error) {
	return nil, fmt.Errorf("mqtt bridge %s: %w", cfg.Name, feature.MQTTBridge.Err())
}

// Run fails: this build has no MQTT client bridge.
func (*Bridge) Run(context.Context) error { return feature.MQTTBridge.Err() }
