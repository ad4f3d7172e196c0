//go:build leafbox_omit_otaobjstore

package main

import (
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/internal/feature"
)

// objStoreSource fails: this build cannot fetch bundles from an object store.
func objStoreSource(*broker.LocalClient, string, string) (ota.Source, error) {
	return nil, feature.OTAObjStore.Err()
}
