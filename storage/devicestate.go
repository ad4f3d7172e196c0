package storage

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ErrEmptyKey is returned for an empty key or name.
var ErrEmptyKey = errors.New("storage: empty key")

// DeviceState is a small durable key/value area for device services (OTA
// status, identity facts). Each Put is its own fsynced transaction: use it
// for state that changes rarely.
type DeviceState struct{ s *Store }

// DeviceState returns the store's device key/value area.
func (s *Store) DeviceState() DeviceState { return DeviceState{s} }

// Get returns a copy of the value of key; ok is false when it is absent.
func (d DeviceState) Get(key string) (val []byte, ok bool, err error) {
	err = d.s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketDevice).Get([]byte(key)); v != nil {
			val, ok = append([]byte{}, v...), true
		}
		return nil
	})
	return val, ok, err
}

// Put sets key to val.
func (d DeviceState) Put(key string, val []byte) error {
	if key == "" {
		return ErrEmptyKey
	}
	if err := d.s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDevice).Put([]byte(key), val)
	}); err != nil {
		return fmt.Errorf("put device state %s: %w", key, err)
	}
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (d DeviceState) Delete(key string) error {
	if err := d.s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDevice).Delete([]byte(key))
	}); err != nil {
		return fmt.Errorf("delete device state %s: %w", key, err)
	}
	return nil
}
