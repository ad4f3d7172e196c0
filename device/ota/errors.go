package ota

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// jsonStrict decodes exactly one JSON value, refusing unknown fields and the
// keys checkJSONKeys refuses.
func jsonStrict(b []byte, v any) error {
	if err := checkJSONKeys(b); err != nil {
		return err
	}
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

// checkJSONKeys refuses a document with an object whose keys repeat, or with
// a key that is not lower-case ASCII (letters, digits, '_'), as every field of
// the signed documents is. encoding/json matches keys case-insensitively
// (Unicode folding: "ſ" is "s") and keeps the last of duplicates, where other
// readers keep the first or match exactly; a signed manifest must read the
// same in every tool.
func checkJSONKeys(b []byte) error {
	type object struct {
		keys    map[string]bool
		wantKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var stack []*object // nil entries are arrays
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1] != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := (*object)(nil)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &object{keys: make(map[string]bool), wantKey: true})
			case '[':
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top == nil || !top.wantKey {
				valueDone()
				continue
			}
			if !lowerKey(t) {
				return fmt.Errorf("key %q: keys are lower-case ASCII", t)
			}
			if top.keys[t] {
				return fmt.Errorf("key %q twice", t)
			}
			top.keys[t] = true
			top.wantKey = false
		default:
			valueDone()
		}
	}
}

// lowerKey reports whether k holds only a-z, 0-9 and '_'.
func lowerKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
