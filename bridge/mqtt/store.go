package mqtt

import (
	"maps"
	"slices"
	"sync"
)

// Store keeps what must survive a daemon restart: retained messages and
// persistent sessions. Package boltstore keeps them in the daemon's store
// file; MemStore serves tests and runs without a store.
type Store interface {
	// SetRetained stores m as its topic's retained message, or removes it
	// when m.Payload is empty.
	SetRetained(m Retained) error
	// ForEachRetained calls fn for each retained message; m is valid only
	// during the call.
	ForEachRetained(fn func(m Retained) error) error
	// SessionIDs lists the client ids with a persistent session.
	SessionIDs() ([]string, error)
	// SetSubscriptions replaces the subscriptions of a session, creating it.
	SetSubscriptions(clientID string, subs []Subscription) error
	// Session loads a session; ok is false when there is none.
	Session(clientID string) (subs []Subscription, inflight []Inflight, ok bool, err error)
	// DeleteSession removes a session with its in-flight messages.
	DeleteSession(clientID string) error
	// PutInflight records or updates an unfinished QoS 1/2 message.
	PutInflight(clientID string, m Inflight) error
	// DeleteInflight forgets a finished QoS 1/2 message.
	DeleteInflight(clientID string, id uint16) error
}

// Retained is a retained message.
type Retained struct {
	Topic   string
	QoS     byte
	Payload []byte
}

// Subscription is one subscription of a session.
type Subscription struct {
	Filter string
	QoS    byte
}

// InflightState is where a QoS 1/2 message is in its handshake.
type InflightState byte

// In-flight states. boltstore writes these numbers to disk: never change
// them.
const (
	// OutPublishSent: delivery sent (or queued), waiting for PUBACK/PUBREC.
	OutPublishSent InflightState = 1
	// OutPubrelSent: PUBREC received, PUBREL sent, waiting for PUBCOMP.
	OutPubrelSent InflightState = 2
	// InPubrecSent: a QoS 2 publish received, waiting for its PUBREL.
	InPubrecSent InflightState = 3
)

// Inflight is an unfinished QoS 1/2 message of a session.
type Inflight struct {
	PacketID uint16
	State    InflightState
	QoS      byte
	Retain   bool
	Topic    string
	Payload  []byte
}

// MemStore is an in-memory Store, safe for concurrent use.
type MemStore struct {
	mu       sync.Mutex
	retained map[string]Retained
	sessions map[string]*memSession
}

type memSession struct {
	subs     []Subscription
	inflight map[uint16]Inflight
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{retained: make(map[string]Retained), sessions: make(map[string]*memSession)}
}

// SetRetained implements Store.
func (s *MemStore) SetRetained(m Retained) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(m.Payload) == 0 {
		delete(s.retained, m.Topic)
		return nil
	}
	m.Payload = slices.Clone(m.Payload)
	s.retained[m.Topic] = m
	return nil
}

// ForEachRetained implements Store.
func (s *MemStore) ForEachRetained(fn func(Retained) error) error {
	s.mu.Lock()
	all := slices.Collect(maps.Values(s.retained))
	s.mu.Unlock()
	for _, m := range all {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// SessionIDs implements Store.
func (s *MemStore) SessionIDs() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.sessions)), nil
}

func (s *MemStore) session(id string) *memSession {
	ms := s.sessions[id]
	if ms == nil {
		ms = &memSession{inflight: make(map[uint16]Inflight)}
		s.sessions[id] = ms
	}
	return ms
}

// SetSubscriptions implements Store.
func (s *MemStore) SetSubscriptions(id string, subs []Subscription) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.session(id).subs = slices.Clone(subs)
	return nil
}

// Session implements Store.
func (s *MemStore) Session(id string) ([]Subscription, []Inflight, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.sessions[id]
	if ms == nil {
		return nil, nil, false, nil
	}
	var in []Inflight
	for _, k := range slices.Sorted(maps.Keys(ms.inflight)) {
		in = append(in, ms.inflight[k])
	}
	return slices.Clone(ms.subs), in, true, nil
}

// DeleteSession implements Store.
func (s *MemStore) DeleteSession(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
	return nil
}

// PutInflight implements Store.
func (s *MemStore) PutInflight(id string, m Inflight) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Payload = slices.Clone(m.Payload)
	s.session(id).inflight[m.PacketID] = m
	return nil
}

// DeleteInflight implements Store.
func (s *MemStore) DeleteInflight(id string, pid uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ms := s.sessions[id]; ms != nil {
		delete(ms.inflight, pid)
	}
	return nil
}
