//go:build leafbox_omit_mqtt

package buildtags

// omitMQTT is set by the build tag leafbox_omit_mqtt.
const omitMQTT = true
