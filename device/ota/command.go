package ota

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nkeys"
)

// Command asks a device to install a bundle. It travels signed, inside a
// SignedCommand, on $LB.<device-id>.ota.install.
type Command struct {
	// Device is the target device id; a command for another device is refused.
	Device string `json:"device"`
	// Issued (unix nanoseconds) must grow from one command to the next, so
	// a recorded command cannot be replayed.
	Issued int64 `json:"issued"`
	// Exactly one source: URL (http, https), or Bucket and Object (a
	// JetStream object store reachable through the leafnode uplink).
	URL    string `json:"url,omitempty"`
	Bucket string `json:"bucket,omitempty"`
	Object string `json:"object,omitempty"`
	Force  bool   `json:"force,omitempty"`
	Reboot bool   `json:"reboot,omitempty"`
}

// SignedCommand is the message: the command's JSON bytes, the signer's
// public key and its ed25519 signature over those bytes.
type SignedCommand struct {
	Command []byte `json:"command"`
	Key     string `json:"key"`
	Sig     []byte `json:"sig"`
}

// SignCommand encodes c signed by kp. Issued is set to now when zero.
func SignCommand(c Command, kp nkeys.KeyPair) ([]byte, error) {
	if c.Issued == 0 {
		c.Issued = time.Now().UnixNano()
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("ota: sign command: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("ota: sign command: %w", err)
	}
	sig, err := kp.Sign(b)
	if err != nil {
		return nil, fmt.Errorf("ota: sign command: %w", err)
	}
	return json.Marshal(SignedCommand{Command: b, Key: pub, Sig: sig})
}

// VerifyCommand checks a signed command: trusted key, valid signature, this
// device, newer than the last accepted one. It does not record it.
func (m *Manager) VerifyCommand(data []byte) (Command, error) {
	var sc SignedCommand
	if err := jsonStrict(data, &sc); err != nil {
		return Command{}, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	if !slices.Contains(m.cfg.TrustedKeys, sc.Key) {
		return Command{}, fmt.Errorf("%w: %q", ErrUnknownKey, sc.Key)
	}
	kp, err := nkeys.FromPublicKey(sc.Key)
	if err != nil {
		return Command{}, fmt.Errorf("%w: %v", ErrUnknownKey, err)
	}
	if err := kp.Verify(sc.Command, sc.Sig); err != nil {
		return Command{}, fmt.Errorf("%w: install command", ErrBadSignature)
	}
	var c Command
	if err := jsonStrict(sc.Command, &c); err != nil {
		return Command{}, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	if c.Device != m.deps.DeviceID {
		return Command{}, fmt.Errorf("%w: for device %q, this is %q", ErrBadCommand, c.Device, m.deps.DeviceID)
	}
	if (c.URL == "") == (c.Bucket == "" || c.Object == "") {
		return Command{}, fmt.Errorf("%w: give either url or bucket and object", ErrBadCommand)
	}
	m.mu.Lock()
	last := m.state.LastCommand
	m.mu.Unlock()
	if c.Issued <= last {
		return Command{}, fmt.Errorf("%w: issued %d, last %d", ErrReplayed, c.Issued, last)
	}
	return c, nil
}

// HandleCommand verifies a signed install command before anything is
// downloaded, records it against replay, and starts the install in the
// background (progress goes to the status subject). It returns once the
// command is accepted or refused.
func (m *Manager) HandleCommand(ctx context.Context, data []byte) error {
	c, err := m.VerifyCommand(data)
	if err != nil {
		m.log.Warn("ota install command refused", "err", err)
		return err
	}
	if m.deps.Resolve == nil {
		return fmt.Errorf("%w: no sources configured", ErrBadCommand)
	}
	src, err := m.deps.Resolve(c)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	m.mu.Lock()
	if c.Issued <= m.state.LastCommand {
		m.mu.Unlock()
		return ErrReplayed
	}
	m.state.LastCommand = c.Issued
	err = m.saveLocked(nil)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	m.commands.Go(func() {
		_, _ = m.Install(ctx, src, InstallOptions{Force: c.Force, Reboot: c.Reboot})
	})
	return nil
}

// Wait blocks until every install started by HandleCommand has ended.
// Cancel the context given to HandleCommand to make them end sooner.
func (m *Manager) Wait() { m.commands.Wait() }
