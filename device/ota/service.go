package ota

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// Subscribe registers h for the messages on subject until unsubscribe is
// called; reply is the message's reply subject ("" without one). The
// daemon passes its in-process broker client.
type Subscribe func(subject string, h func(data []byte, reply string)) (unsubscribe func(), err error)

// CommandReply is the answer to an install command, signed like status
// messages (StatusHeader) so the sender knows this device answered.
type CommandReply struct {
	Accepted bool   `json:"accepted"`
	Error    string `json:"error,omitempty"`
}

// ServeCommands answers signed install commands on
// InstallSubject(DeviceID) until ctx ends: each goes to HandleCommand, and
// when the message has a reply subject the outcome is published there
// with Deps.Publish. It returns once the handlers have ended; installs
// they started run on until Wait.
func (m *Manager) ServeCommands(ctx context.Context, subscribe Subscribe) error {
	subj := InstallSubject(m.deps.DeviceID)
	var (
		mu       sync.Mutex
		stopped  bool
		handlers sync.WaitGroup
	)
	unsubscribe, err := subscribe(subj, func(data []byte, reply string) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		// The broker reuses its buffer once the callback returns.
		data = bytes.Clone(data)
		handlers.Go(func() { m.answer(ctx, data, reply) })
	})
	if err != nil {
		return fmt.Errorf("ota: subscribe %s: %w", subj, err)
	}
	<-ctx.Done()
	unsubscribe()
	// A callback already under way finishes before the wait starts.
	mu.Lock()
	stopped = true
	mu.Unlock()
	handlers.Wait()
	return nil
}

// answer handles one install command and replies with the outcome.
func (m *Manager) answer(ctx context.Context, data []byte, reply string) {
	err := m.HandleCommand(ctx, data)
	if reply == "" || m.deps.Publish == nil {
		return
	}
	r := CommandReply{Accepted: err == nil}
	if err != nil {
		r.Error = err.Error()
	}
	b, _ := json.Marshal(r)
	var hdr []byte
	if m.deps.Sign != nil {
		sig, err := m.deps.Sign(b)
		if err != nil {
			m.log.Warn("ota: install reply not sent: cannot sign it", "err", err)
			return
		}
		hdr = StatusHeader(m.deps.DeviceID, sig)
	}
	m.deps.Publish(reply, hdr, b)
}
