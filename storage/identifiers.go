package storage

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ErrEmptyKey is returned for an empty key or name.
var ErrEmptyKey = errors.New("storage: empty key")

// Identifiers keeps the identifiers the gateway makes for itself once and
// must keep across restarts: the forwarder's gateway id, the first part of
// every Nats-Msg-Id it sends up. A key/value area: each Put is its own
// fsynced transaction.
type Identifiers struct{ s *Store }

// Identifiers returns the store's identifier area.
func (s *Store) Identifiers() Identifiers { return Identifiers{s} }

// Get returns a copy of the value of key; ok is false when it is absent.
func (d Identifiers) Get(key string) (val []byte, ok bool, err error) {
	err = d.s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketIdentity).Get([]byte(key)); v != nil {
			val, ok = append([]byte{}, v...), true
		}
		return nil
	})
	return val, ok, err
}

// Put sets key to val.
func (d Identifiers) Put(key string, val []byte) error {
	if key == "" {
		return ErrEmptyKey
	}
	if err := d.s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIdentity).Put([]byte(key), val)
	}); err != nil {
		return fmt.Errorf("put identifier %s: %w", key, err)
	}
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (d Identifiers) Delete(key string) error {
	if err := d.s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIdentity).Delete([]byte(key))
	}); err != nil {
		return fmt.Errorf("delete identifier %s: %w", key, err)
	}
	return nil
}
