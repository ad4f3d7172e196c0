package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ErrCorruptSession is returned when stored session data does not decode.
var ErrCorruptSession = errors.New("storage: corrupt session")

// Subscription is one MQTT subscription of a persistent session.
type Subscription struct {
	Filter string
	QoS    byte
}

// InflightState is where a QoS 1 or 2 message is in its handshake.
type InflightState byte

// In-flight states of the MQTT 3.1.1 QoS 1/2 flows, for both directions.
const (
	// Outgoing (server → client): PUBLISH sent, waiting for PUBACK/PUBREC.
	OutPublishSent InflightState = 1
	// Outgoing QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP.
	OutPubrelSent InflightState = 2
	// Incoming QoS 2: PUBLISH received and PUBREC sent, waiting for PUBREL.
	InPubrecSent InflightState = 3
)

// Inflight is one unfinished QoS 1/2 message of a session, keyed by packet id.
type Inflight struct {
	PacketID uint16
	State    InflightState
	QoS      byte
	Retain   bool
	Topic    string
	Payload  []byte
}

// Sessions keeps MQTT persistent sessions (clean session = 0): each client
// id has its subscriptions and its in-flight messages, in a bucket of its
// own inside the sessions bucket.
type Sessions struct{ s *Store }

// Sessions returns the store's MQTT session area.
func (s *Store) Sessions() Sessions { return Sessions{s} }

var (
	keySubs     = []byte("subs")
	keyInflight = []byte("inflight")
)

// session opens (or creates) the bucket of a client.
func session(tx *bolt.Tx, clientID string, create bool) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketSessions)
	if !create {
		return b.Bucket([]byte(clientID)), nil
	}
	return b.CreateBucketIfNotExists([]byte(clientID))
}

// SetSubscriptions replaces the subscriptions of clientID, creating the
// session if needed.
func (ss Sessions) SetSubscriptions(clientID string, subs []Subscription) error {
	if clientID == "" {
		return ErrEmptyKey
	}
	var v []byte
	for _, s := range subs {
		v = binary.AppendUvarint(v, uint64(len(s.Filter)))
		v = append(v, s.Filter...)
		v = append(v, s.QoS)
	}
	err := ss.s.update(func(tx *bolt.Tx) error {
		b, err := session(tx, clientID, true)
		if err != nil {
			return err
		}
		return b.Put(keySubs, v)
	})
	if err != nil {
		return fmt.Errorf("save session %s: %w", clientID, err)
	}
	return nil
}

// Subscriptions returns the subscriptions of clientID; ok is false when
// the client has no session.
func (ss Sessions) Subscriptions(clientID string) (subs []Subscription, ok bool, err error) {
	err = ss.s.view(func(tx *bolt.Tx) error {
		b, _ := session(tx, clientID, false)
		if b == nil {
			return nil
		}
		ok = true
		subs, err = decodeSubs(b.Get(keySubs))
		return err
	})
	return subs, ok, err
}

func decodeSubs(v []byte) ([]Subscription, error) {
	var subs []Subscription
	for len(v) > 0 {
		f, rest, ok := field(v)
		if !ok || len(rest) < 1 {
			return nil, ErrCorruptSession
		}
		subs = append(subs, Subscription{Filter: string(f), QoS: rest[0]})
		v = rest[1:]
	}
	return subs, nil
}

// Delete removes the session of clientID with its in-flight messages.
func (ss Sessions) Delete(clientID string) error {
	err := ss.s.update(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketSessions).DeleteBucket([]byte(clientID))
		if errors.Is(err, bolt.ErrBucketNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session %s: %w", clientID, err)
	}
	return nil
}

// ClientIDs returns the client ids that have a session.
func (ss Sessions) ClientIDs() ([]string, error) {
	var ids []string
	err := ss.s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			if v == nil {
				ids = append(ids, string(k))
			}
			return nil
		})
	})
	return ids, err
}

// PutInflight records (or updates) an in-flight message of clientID.
func (ss Sessions) PutInflight(clientID string, m Inflight) error {
	if clientID == "" {
		return ErrEmptyKey
	}
	v := []byte{byte(m.State), m.QoS, 0}
	if m.Retain {
		v[2] = 1
	}
	v = binary.AppendUvarint(v, uint64(len(m.Topic)))
	v = append(v, m.Topic...)
	v = append(v, m.Payload...)
	err := ss.s.update(func(tx *bolt.Tx) error {
		b, err := session(tx, clientID, true)
		if err != nil {
			return err
		}
		ib, err := b.CreateBucketIfNotExists(keyInflight)
		if err != nil {
			return err
		}
		return ib.Put(packetIDKey(m.PacketID), v)
	})
	if err != nil {
		return fmt.Errorf("save in-flight %s/%d: %w", clientID, m.PacketID, err)
	}
	return nil
}

// DeleteInflight forgets the in-flight message packetID of clientID (its
// handshake finished).
func (ss Sessions) DeleteInflight(clientID string, packetID uint16) error {
	err := ss.s.update(func(tx *bolt.Tx) error {
		b, _ := session(tx, clientID, false)
		if b == nil {
			return nil
		}
		if ib := b.Bucket(keyInflight); ib != nil {
			return ib.Delete(packetIDKey(packetID))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete in-flight %s/%d: %w", clientID, packetID, err)
	}
	return nil
}

// Inflight returns the in-flight messages of clientID in packet id order.
func (ss Sessions) Inflight(clientID string) ([]Inflight, error) {
	var out []Inflight
	err := ss.s.view(func(tx *bolt.Tx) error {
		b, _ := session(tx, clientID, false)
		if b == nil {
			return nil
		}
		ib := b.Bucket(keyInflight)
		if ib == nil {
			return nil
		}
		return ib.ForEach(func(k, v []byte) error {
			if len(k) != 2 || len(v) < 3 {
				return ErrCorruptSession
			}
			topic, rest, ok := field(v[3:])
			if !ok {
				return ErrCorruptSession
			}
			out = append(out, Inflight{
				PacketID: binary.BigEndian.Uint16(k),
				State:    InflightState(v[0]),
				QoS:      v[1],
				Retain:   v[2] == 1,
				Topic:    string(topic),
				Payload:  append([]byte{}, rest...),
			})
			return nil
		})
	})
	return out, err
}

// packetIDKey is the bbolt key of an MQTT packet id.
func packetIDKey(id uint16) []byte { return binary.BigEndian.AppendUint16(nil, id) }
