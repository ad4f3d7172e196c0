//go:build !leafbox_omit_gpio

package buildtags

// omitGPIO is set by the build tag leafbox_omit_gpio.
const omitGPIO = false
