package ota

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/nats-io/nkeys"
)

// Headers of a signed status message (see the package documentation).
const (
	// HeaderDevice is the device id (public user nkey) that signed.
	HeaderDevice = "Leafbox-Device"
	// HeaderSignature is the ed25519 signature of the payload, base64url
	// without padding, as nats-server encodes the nonce signature.
	HeaderSignature = "Leafbox-Signature"
)

// StatusHeader returns the NATS header block of a status message signed
// by deviceID with sig.
func StatusHeader(deviceID string, sig []byte) []byte {
	enc := base64.RawURLEncoding
	b := make([]byte, 0, 64+len(deviceID)+enc.EncodedLen(len(sig)))
	b = append(b, "NATS/1.0\r\n"...)
	b = append(b, HeaderDevice+": "...)
	b = append(b, deviceID...)
	b = append(b, "\r\n"+HeaderSignature+": "...)
	b = enc.AppendEncode(b, sig)
	return append(b, "\r\n\r\n"...)
}

// VerifyStatus checks that sig (the Leafbox-Signature header) is deviceID's
// signature of data (the payload, byte for byte). deviceID must be the
// device the consumer expects, the second token of the status subject;
// the Leafbox-Device header alone proves nothing.
func VerifyStatus(deviceID, sig string, data []byte) error {
	if !nkeys.IsValidPublicUserKey(deviceID) {
		return fmt.Errorf("%w: %q is not a device id", ErrStatusSig, deviceID)
	}
	kp, err := nkeys.FromPublicKey(deviceID)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStatusSig, err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(sig, "="))
	if err != nil {
		return fmt.Errorf("%w: signature is not base64url: %v", ErrStatusSig, err)
	}
	if err := kp.Verify(data, raw); err != nil {
		return fmt.Errorf("%w: %v", ErrStatusSig, err)
	}
	return nil
}
