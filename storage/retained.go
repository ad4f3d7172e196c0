package storage

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// RetainedMessage is an MQTT retained message.
type RetainedMessage struct {
	Topic   string
	QoS     byte
	Payload []byte
}

// Retained keeps MQTT retained messages by topic, as MQTT 3.1.1 wants: one
// per topic, and a retained publish with an empty payload removes it
// [MQTT-3.3.1-10].
type Retained struct{ s *Store }

// Retained returns the store's retained-message area.
func (s *Store) Retained() Retained { return Retained{s} }

// Set stores m as the retained message of m.Topic, or deletes the topic's
// retained message when m.Payload is empty.
func (r Retained) Set(m RetainedMessage) error {
	if m.Topic == "" {
		return ErrEmptyKey
	}
	err := r.s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRetained)
		if len(m.Payload) == 0 {
			return b.Delete([]byte(m.Topic))
		}
		v := make([]byte, 0, 1+len(m.Payload))
		v = append(v, m.QoS)
		return b.Put([]byte(m.Topic), append(v, m.Payload...))
	})
	if err != nil {
		return fmt.Errorf("set retained %s: %w", m.Topic, err)
	}
	return nil
}

// Get returns the retained message of topic; ok is false when none.
func (r Retained) Get(topic string) (m RetainedMessage, ok bool, err error) {
	err = r.s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRetained).Get([]byte(topic))
		if len(v) < 1 {
			return nil
		}
		m, ok = RetainedMessage{Topic: topic, QoS: v[0], Payload: append([]byte{}, v[1:]...)}, true
		return nil
	})
	return m, ok, err
}

// ForEach calls fn for every retained message in topic order; m.Payload is
// valid only during the call. An error from fn stops the walk and is
// returned.
func (r Retained) ForEach(fn func(m RetainedMessage) error) error {
	return r.s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRetained).ForEach(func(k, v []byte) error {
			if len(v) < 1 {
				return nil
			}
			return fn(RetainedMessage{Topic: string(k), QoS: v[0], Payload: v[1:]})
		})
	})
}

// Count is the number of retained messages.
func (r Retained) Count() (int, error) {
	n := 0
	err := r.s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketRetained).Stats().KeyN
		return nil
	})
	return n, err
}
