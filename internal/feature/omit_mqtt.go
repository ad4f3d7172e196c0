//go:build leafbox_omit_mqtt

package feature

// omitMQTT is set by the build tag leafbox_omit_mqtt.
const omitMQTT = true
