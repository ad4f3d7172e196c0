//go:build leafbox_omit_otahttp

package buildtags

// omitOTAHTTP is set by the build tag leafbox_omit_otahttp.
const omitOTAHTTP = true
