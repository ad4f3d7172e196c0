//go:build !leafbox_omit_serial

package buildtags

// omitSerial is set by the build tag leafbox_omit_serial.
const omitSerial = false
