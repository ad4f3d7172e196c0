//go:build leafbox_omit_mqttbridge

package buildtags

// omitMQTTBridge is set by the build tag leafbox_omit_mqttbridge.
const omitMQTTBridge = true
