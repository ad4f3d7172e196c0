//go:build leafbox_omit_modbus

package feature

// omitModbus is set by the build tag leafbox_omit_modbus.
const omitModbus = true
