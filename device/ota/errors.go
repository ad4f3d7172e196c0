package ota

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors. Every refusal of a bundle wraps one of them, so callers
// (and the status published to the cloud) can tell the cases apart.
var (
	ErrNotBundle      = errors.New("ota: not an OTA bundle")
	ErrBadManifest    = errors.New("ota: bad manifest")
	ErrUnsigned       = errors.New("ota: bundle is not signed")
	ErrUnknownKey     = errors.New("ota: bundle signed by an untrusted key")
	ErrBadSignature   = errors.New("ota: bad signature")
	ErrTruncated      = errors.New("ota: bundle is truncated")
	ErrTrailingData   = errors.New("ota: unexpected data after the last image")
	ErrImageHash      = errors.New("ota: image does not match its manifest hash")
	ErrImageSize      = errors.New("ota: image does not match its manifest size")
	ErrBoardMismatch  = errors.New("ota: bundle is for another board")
	ErrDowngrade      = errors.New("ota: bundle is older than the running version")
	ErrTooOld         = errors.New("ota: running version is below the bundle's minimum version")
	ErrReadback       = errors.New("ota: slot read-back does not match the image")
	ErrActiveSlot     = errors.New("ota: refusing to write the active slot")
	ErrNoSlot         = errors.New("ota: slot has no target for image")
	ErrBusy           = errors.New("ota: an update is already in progress")
	ErrTrialPending   = errors.New("ota: a trial boot is pending; reboot or confirm first")
	ErrBadCommand     = errors.New("ota: bad install command")
	ErrReplayed       = errors.New("ota: install command is not newer than the last one")
	ErrConfig         = errors.New("ota: bad configuration")
	ErrNotTrial       = errors.New("ota: not running a trial boot")
	ErrUnhealthy      = errors.New("ota: health checks did not pass in time")
	ErrBadBootState   = errors.New("ota: bad boot state")
	ErrUBootEnv       = errors.New("ota: bad U-Boot environment")
	ErrAlreadyCurrent = errors.New("ota: bundle version is already installed and running")
	ErrStatusSig      = errors.New("ota: bad status message signature")
	ErrNoSpace        = errors.New("ota: no room on the data partition to stage the bundle")
)

// jsonStrict decodes exactly one JSON value, refusing unknown fields.
func jsonStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}
