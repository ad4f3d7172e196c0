//go:build leafbox_omit_modbus

package buildtags

// omitModbus is set by the build tag leafbox_omit_modbus.
const omitModbus = true
