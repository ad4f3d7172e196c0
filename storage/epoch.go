package storage

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// keyEpoch is the meta key of the store's epoch (8 bytes, big endian).
var keyEpoch = []byte("epoch")

// Epoch identifies this incarnation of the store's sequences: a random
// 64-bit number made when the file is created (or, for a file written by a
// version without epochs, at its first open), kept in the file and written
// in base 36 (at most 13 characters of [0-9a-z]). Sequences restart at 1 in
// a new file, so a record is named uniquely, across wipes and damage
// recovery, by its queue, its sequence and the epoch.
func (s *Store) Epoch() string {
	s.epochMu.Lock()
	defer s.epochMu.Unlock()
	return s.epoch
}

// RenewEpoch replaces the epoch by a new random one, kept in the file, and
// returns it. The forwarder calls it when the hub shows that ids of the
// current epoch were already used by someone else.
func (s *Store) RenewEpoch() (string, error) {
	v := newEpoch()
	if err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyEpoch, v[:])
	}); err != nil {
		return "", fmt.Errorf("storage: renew epoch: %w", err)
	}
	e := formatEpoch(v[:])
	s.epochMu.Lock()
	s.epoch = e
	s.epochMu.Unlock()
	return e, nil
}

// loadEpoch reads the epoch from the meta bucket, making one if there is
// none; it runs in initLayout's transaction.
func (s *Store) loadEpoch(meta *bolt.Bucket) error {
	v := meta.Get(keyEpoch)
	switch {
	case v == nil:
		e := newEpoch()
		if err := meta.Put(keyEpoch, e[:]); err != nil {
			return err
		}
		v = e[:]
	case len(v) != 8:
		return damaged("epoch of %d bytes", len(v))
	}
	s.epochMu.Lock()
	s.epoch = formatEpoch(v)
	s.epochMu.Unlock()
	return nil
}

func newEpoch() [8]byte {
	var b [8]byte
	// crypto/rand.Read does not fail (it panics if the OS cannot supply
	// randomness, which nothing here could survive anyway).
	_, _ = rand.Read(b[:])
	return b
}

func formatEpoch(v []byte) string {
	return strconv.FormatUint(binary.BigEndian.Uint64(v), 36)
}
