// Package buildtags says which optional parts (package feature) this build
// has: one constant per leafbox_omit_<tag> build tag.
package buildtags

import "github.com/leafbox/leafbox/internal/feature"

// Has reports whether this build has the part.
func Has(f feature.Feature) bool {
	switch f {
	case feature.MQTTBridge:
		return !omitMQTTBridge
	case feature.MQTT:
		return !omitMQTT
	case feature.Serial:
		return !omitSerial
	case feature.GPIO:
		return !omitGPIO
	case feature.Modbus:
		return !omitModbus
	case feature.OTAHTTP:
		return !omitOTAHTTP
	case feature.OTAObjStore:
		return !omitOTAObjStore
	case feature.Websocket:
		return !omitWebsocket
	case feature.S2:
		return !omitS2
	case feature.Zstd:
		return !omitZstd
	}
	return false
}

// Check returns nil when this build has f, and f.Err() when it has not.
func Check(f feature.Feature) error {
	if Has(f) {
		return nil
	}
	return f.Err()
}
