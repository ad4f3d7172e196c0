// Package feature names the optional parts of the daemon and says whether
// this build has them.
//
// Each optional part can be left out of the binary with a build tag
// leafbox_omit_<tag> (for example go build -tags leafbox_omit_mqttbridge).
// The files that import a part's heavy packages carry the tag, and a small
// stub built with the tag returns Err instead, so the part's packages and
// their package initialisation are not linked at all. The default build
// (no tags) has every part.
//
// Package feature/buildtags says which parts this build has (Has); this
// package does not depend on the tags, so the packages whose stubs return
// Err are not recompiled for every combination of tags. The config decoder
// asks buildtags.Has for each optional key, so that a config using a part
// this build has not fails at `leafbox -t` with Err, pointing at the key.
package feature

import (
	"errors"
	"fmt"
)

// Feature is one optional part of the daemon.
type Feature int

// The optional parts. Tag returns the suffix of each one's omit tag.
const (
	MQTTBridge  Feature = iota // MQTT client bridge to external brokers (paho, and with it net/http)
	MQTT                       // MQTT listener for local MQTT clients
	Serial                     // serial bridge
	GPIO                       // GPIO bridge
	Modbus                     // Modbus RTU/TCP bridge
	OTAHTTP                    // OTA bundles fetched over HTTP(S)
	OTAObjStore                // OTA bundles fetched from a JetStream object store
	Websocket                  // ws:// and wss:// leafnode remotes
	S2                         // S2 compression of the leafnode link
	Zstd                       // zstd-compressed OTA bundles
	numFeatures
)

// All returns every optional part, in declaration order.
func All() []Feature {
	all := make([]Feature, numFeatures)
	for i := range all {
		all[i] = Feature(i)
	}
	return all
}

// ErrOmitted matches (errors.Is) every error returned by Err.
var ErrOmitted = errors.New("feature left out of this build")

// omittedError is the error of using a part the build left out.
type omittedError struct{ f Feature }

func (e omittedError) Error() string {
	return fmt.Sprintf("this build has no %s (built with tag %s)", e.f, e.f.OmitTag())
}

func (e omittedError) Is(target error) bool { return target == ErrOmitted }

// String names the part for people.
func (f Feature) String() string {
	switch f {
	case MQTTBridge:
		return "MQTT client bridge"
	case MQTT:
		return "MQTT listener"
	case Serial:
		return "serial bridge"
	case GPIO:
		return "GPIO bridge"
	case Modbus:
		return "Modbus bridge"
	case OTAHTTP:
		return "OTA over HTTP"
	case OTAObjStore:
		return "OTA from an object store"
	case Websocket:
		return "websocket leafnode transport"
	case S2:
		return "S2 leafnode compression"
	case Zstd:
		return "zstd OTA bundles"
	}
	return fmt.Sprintf("feature(%d)", int(f))
}

// Tag is the suffix of the part's build tag: the tag leafbox_omit_<Tag>
// leaves the part out.
func (f Feature) Tag() string {
	switch f {
	case MQTTBridge:
		return "mqttbridge"
	case MQTT:
		return "mqtt"
	case Serial:
		return "serial"
	case GPIO:
		return "gpio"
	case Modbus:
		return "modbus"
	case OTAHTTP:
		return "otahttp"
	case OTAObjStore:
		return "otaobjstore"
	case Websocket:
		return "websocket"
	case S2:
		return "s2"
	case Zstd:
		return "zstd"
	}
	return ""
}

// OmitTag is the build tag that leaves the part out.
func (f Feature) OmitTag() string { return "leafbox_omit_" + f.Tag() }

// Err is the error for using the part in a build without it:
// "this build has no <part> (built with tag leafbox_omit_<tag>)".
func (f Feature) Err() error {
	return omittedError{f}
}
