// Package ota installs signed A/B updates: a bundle (bundle.go) whose
// manifest is signed by a trusted operator nkey is read once, verified
// whole while staged on the data partition (stage.go), written from the
// staged copy into the inactive slot, read back, and booted once as a trial
// through a boot control backend (Raspberry Pi tryboot, U-Boot with a boot
// counter, or a file for tests). The trial is committed only after the
// health checks have passed for Config.ConfirmAfter in a row; otherwise the
// previous slot is committed and the device reboots into it. The active
// slot is never written.
//
// # Status messages
//
// The Manager publishes its Status as JSON on $LB.<device-id>.ota.status
// (StatusSubject) on every change, and at most once a second while an
// install makes progress. With Deps.Sign set (cmd/leafbox sets it to the
// device identity's key) every message is signed, and carries two NATS
// headers:
//
//	Leafbox-Device:    the device id, a public user nkey ("U...")
//	Leafbox-Signature: ed25519 signature of the payload bytes exactly as
//	                   received, base64url without padding
//
// The payload stays plain JSON, so consumers that do not check signatures
// read it unchanged. Status.Time, the publish time, lets a consumer discard
// a replayed message. A cloud consumer verifies with nkeys alone, against
// the device id it expects (the subject's second token, or its own fleet
// list), never against the header's claim alone:
//
//	id := strings.Split(msg.Subject, ".")[1]
//	kp, err := nkeys.FromPublicKey(id)
//	sig, err := base64.RawURLEncoding.DecodeString(msg.Header.Get("Leafbox-Signature"))
//	err = kp.Verify(msg.Data, sig) // nil: the device sent exactly these bytes
//
// VerifyStatus does the same in Go. The replies to install commands on
// $LB.<device-id>.ota.install are signed the same way.
package ota
