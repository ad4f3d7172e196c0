//go:build !leafbox_omit_s2

package buildtags

// omitS2 is set by the build tag leafbox_omit_s2.
const omitS2 = false
