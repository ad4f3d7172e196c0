//go:build !leafbox_omit_zstd

package buildtags

// omitZstd is set by the build tag leafbox_omit_zstd.
const omitZstd = false
