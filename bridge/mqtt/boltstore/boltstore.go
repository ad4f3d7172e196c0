// Package boltstore keeps the MQTT listener's retained messages and
// persistent sessions in leafbox's store file: it implements mqtt.Store on
// two tables of package storage, and owns their encoding.
//
// Table mqtt-retained maps a topic to its QoS byte and payload. Table
// mqtt-sessions holds, for each client id, entries whose keys are paths
// (each part a uvarint length and its bytes):
//
//	[id]                     the session exists (empty value)
//	[id, "subs"]             its subscriptions: per filter, uvarint length, filter, QoS byte
//	[id, "inflight", pid]    an unfinished QoS 1/2 message, pid big-endian:
//	                         state, QoS, retain (0/1), uvarint length, topic, payload
//
// This package writes entries of version 1. Entries of version 0 are
// those package storage moved from the buckets in which it kept this state
// itself before tables existed: it kept the same bytes under the same
// paths (plus an empty [id, "inflight"] entry, ignored here), so they read
// as version 1. The numbers of mqtt.InflightState are stored as they are.
//
// The listener passes topics and client ids of sessions in another account
// than its own as the account name, a NUL and the topic or client id;
// this package stores them as given (see package mqtt).
//
// Each change is one fsynced transaction of the store (see package
// storage), done before the listener relies on it.
package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/storage"
)

// ErrCorrupt is returned when a stored session or retained message does not
// decode.
var ErrCorrupt = errors.New("boltstore: corrupt entry")

// Table names; the same as the buckets of the legacy areas, so that what
// storage moves lands here.
const (
	tableRetained = "mqtt-retained"
	tableSessions = "mqtt-sessions"
)

// version is the encoding this package writes; legacyVersion entries
// (moved by storage) have the same encoding.
const (
	version       = 1
	legacyVersion = 0
)

var (
	partSubs     = appendPart(nil, []byte("subs"))
	partInflight = appendPart(nil, []byte("inflight"))
)

// Store is an mqtt.Store in a storage.Store; safe for concurrent use.
type Store struct {
	retained storage.Table
	sessions storage.Table
}

var _ mqtt.Store = (*Store)(nil)

// New returns the MQTT state kept in s.
func New(s *storage.Store) *Store {
	return &Store{retained: s.Table(tableRetained), sessions: s.Table(tableSessions)}
}

// SetRetained implements mqtt.Store.
func (s *Store) SetRetained(m mqtt.Retained) error {
	if m.Topic == "" {
		return fmt.Errorf("set retained: %w", storage.ErrEmptyKey)
	}
	var err error
	if len(m.Payload) == 0 {
		err = s.retained.Delete([]byte(m.Topic))
	} else {
		v := make([]byte, 0, 1+len(m.Payload))
		v = append(v, m.QoS)
		err = s.retained.Put([]byte(m.Topic), version, append(v, m.Payload...))
	}
	if err != nil {
		return fmt.Errorf("set retained %s: %w", m.Topic, err)
	}
	return nil
}

// ForEachRetained implements mqtt.Store, in topic order.
func (s *Store) ForEachRetained(fn func(m mqtt.Retained) error) error {
	return s.retained.ForEach(nil, func(k []byte, ver uint64, v []byte) error {
		if !known(ver) || len(v) < 1 {
			return fmt.Errorf("retained %q: %w", k, ErrCorrupt)
		}
		return fn(mqtt.Retained{Topic: string(k), QoS: v[0], Payload: v[1:]})
	})
}

// SessionIDs implements mqtt.Store, sorted.
func (s *Store) SessionIDs() ([]string, error) {
	var ids []string
	err := s.sessions.ForEach(nil, func(k []byte, _ uint64, _ []byte) error {
		id, rest, ok := part(k)
		if !ok {
			return fmt.Errorf("session key %q: %w", k, ErrCorrupt)
		}
		if len(rest) == 0 {
			ids = append(ids, string(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// SetSubscriptions implements mqtt.Store.
func (s *Store) SetSubscriptions(clientID string, subs []mqtt.Subscription) error {
	if clientID == "" {
		return fmt.Errorf("save session: %w", storage.ErrEmptyKey)
	}
	var v []byte
	for _, sub := range subs {
		v = appendPart(v, []byte(sub.Filter))
		v = append(v, sub.QoS)
	}
	id := sessionKey(clientID)
	err := s.sessions.Update(func(tx storage.TableTx) error {
		if err := tx.Put(id, version, nil); err != nil {
			return err
		}
		return tx.Put(append(id, partSubs...), version, v)
	})
	if err != nil {
		return fmt.Errorf("save session %s: %w", clientID, err)
	}
	return nil
}

// Session implements mqtt.Store: subscriptions and in-flight messages (in
// packet id order) as one transaction saw them.
func (s *Store) Session(clientID string) (subs []mqtt.Subscription, inflight []mqtt.Inflight, ok bool, err error) {
	id := sessionKey(clientID)
	err = s.sessions.ForEach(id, func(k []byte, ver uint64, v []byte) error {
		if !known(ver) {
			return ErrCorrupt
		}
		rest := k[len(id):]
		switch {
		case len(rest) == 0:
			ok = true
		case bytes.Equal(rest, partSubs):
			var err error
			subs, err = decodeSubs(v)
			return err
		case bytes.Equal(rest, partInflight):
			// The legacy in-flight bucket; its messages follow.
		case bytes.HasPrefix(rest, partInflight):
			pid, rest, ok := part(rest[len(partInflight):])
			if !ok || len(pid) != 2 || len(rest) != 0 {
				return ErrCorrupt
			}
			m, err := decodeInflight(binary.BigEndian.Uint16(pid), v)
			if err != nil {
				return err
			}
			inflight = append(inflight, m)
		default:
			return ErrCorrupt
		}
		return nil
	})
	if err != nil {
		return nil, nil, false, fmt.Errorf("load session %s: %w", clientID, err)
	}
	if !ok {
		return nil, nil, false, nil
	}
	return subs, inflight, true, nil
}

// DeleteSession implements mqtt.Store.
func (s *Store) DeleteSession(clientID string) error {
	id := sessionKey(clientID)
	err := s.sessions.Update(func(tx storage.TableTx) error {
		var keys [][]byte
		err := tx.ForEach(id, func(k []byte, _ uint64, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete session %s: %w", clientID, err)
	}
	return nil
}

// PutInflight implements mqtt.Store; it creates the session when there is
// none, as a session without subscriptions.
func (s *Store) PutInflight(clientID string, m mqtt.Inflight) error {
	if clientID == "" {
		return fmt.Errorf("save in-flight: %w", storage.ErrEmptyKey)
	}
	v := []byte{byte(m.State), m.QoS, 0}
	if m.Retain {
		v[2] = 1
	}
	v = appendPart(v, []byte(m.Topic))
	v = append(v, m.Payload...)
	id := sessionKey(clientID)
	err := s.sessions.Update(func(tx storage.TableTx) error {
		if _, _, ok, err := tx.Get(id); err != nil {
			return err
		} else if !ok {
			if err := tx.Put(id, version, nil); err != nil {
				return err
			}
		}
		return tx.Put(inflightKey(id, m.PacketID), version, v)
	})
	if err != nil {
		return fmt.Errorf("save in-flight %s/%d: %w", clientID, m.PacketID, err)
	}
	return nil
}

// DeleteInflight implements mqtt.Store.
func (s *Store) DeleteInflight(clientID string, packetID uint16) error {
	if err := s.sessions.Delete(inflightKey(sessionKey(clientID), packetID)); err != nil {
		return fmt.Errorf("delete in-flight %s/%d: %w", clientID, packetID, err)
	}
	return nil
}

func known(ver uint64) bool { return ver == version || ver == legacyVersion }

// sessionKey is the path [id]: every key of the session starts with it,
// and with no other session's, as its length comes first.
func sessionKey(clientID string) []byte { return appendPart(nil, []byte(clientID)) }

// inflightKey is the path [id, "inflight", packet id].
func inflightKey(id []byte, packetID uint16) []byte {
	k := append(slices.Clip(id), partInflight...)
	return appendPart(k, binary.BigEndian.AppendUint16(nil, packetID))
}

func decodeSubs(v []byte) ([]mqtt.Subscription, error) {
	var subs []mqtt.Subscription
	for len(v) > 0 {
		f, rest, ok := part(v)
		if !ok || len(rest) < 1 {
			return nil, ErrCorrupt
		}
		subs = append(subs, mqtt.Subscription{Filter: string(f), QoS: rest[0]})
		v = rest[1:]
	}
	return subs, nil
}

func decodeInflight(pid uint16, v []byte) (mqtt.Inflight, error) {
	if len(v) < 3 {
		return mqtt.Inflight{}, ErrCorrupt
	}
	topic, rest, ok := part(v[3:])
	if !ok {
		return mqtt.Inflight{}, ErrCorrupt
	}
	return mqtt.Inflight{
		PacketID: pid,
		State:    mqtt.InflightState(v[0]),
		QoS:      v[1],
		Retain:   v[2] == 1,
		Topic:    string(topic),
		Payload:  bytes.Clone(rest),
	}, nil
}

// appendPart appends one part of a path: its length, then its bytes.
func appendPart(dst, p []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(p))), p...)
}

// part splits the first part off a path.
func part(b []byte) (p, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	end := w + int(n)
	return b[w:end:end], b[end:], true
}
