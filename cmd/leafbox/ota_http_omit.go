//go:build leafbox_omit_otahttp

package main

import (
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/internal/feature"
)

// httpSource fails: this build cannot fetch bundles over HTTP.
func httpSource(string) (ota.Source, error) { return nil, feature.OTAHTTP.Err() }
