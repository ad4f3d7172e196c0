//go:build leafbox_omit_otaobjstore

package buildtags

// omitOTAObjStore is set by the build tag leafbox_omit_otaobjstore.
const omitOTAObjStore = true
