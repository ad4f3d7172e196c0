//go:build !leafbox_omit_otahttp

package main

import (
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/httpget"
)

// httpSource is the OTA source of a bundle URL; the tag
// leafbox_omit_otahttp leaves it out (ota_http_omit.go).
func httpSource(url string) (ota.Source, error) { return httpget.Source{URL: url}, nil }
