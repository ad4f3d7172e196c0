package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ownBucket reports whether a top-level bucket is one this store uses.
// Every other top-level bucket is a legacy area.
func ownBucket(name []byte) bool {
	switch {
	case bytes.Equal(name, bucketMeta), bytes.Equal(name, bucketQueueMeta), bytes.Equal(name, bucketIdentity):
		return true
	}
	return bytes.HasPrefix(name, []byte(queuePrefix)) || bytes.HasPrefix(name, []byte(tablePrefix))
}

// upgradeLegacy moves every legacy area into the table of the same name
// and removes it. Before tables existed, the store kept typed areas of its
// users in top-level buckets of their own (a file of that time has the
// same format version: an older release that finds an unknown version
// sets the whole file aside, queues included, so the version is not
// raised). The values are moved byte for byte, as entries of version 0;
// their owner knows how to read them. An older release running on the
// file again (after an OTA rollback) writes its legacy areas anew: the
// next upgrade moves those over the table's entries, newest first.
//
// A legacy area without nested buckets keeps its keys. In one with nested
// buckets every key becomes the path to it, each part (bucket names, then
// the key) written as a uvarint length and the bytes, and each nested
// bucket also becomes an entry with an empty value at its own path, so
// that an empty bucket is not lost.
func upgradeLegacy(tx *bolt.Tx) (moved []string, err error) {
	var names [][]byte
	err = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if !ownBucket(name) {
			names = append(names, bytes.Clone(name))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		old := tx.Bucket(name)
		dst, err := tx.CreateBucketIfNotExists([]byte(tablePrefix + string(name)))
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", name, err)
		}
		if err := copyLegacy(dst, old, nil, hasNested(old)); err != nil {
			return nil, fmt.Errorf("move %s: %w", name, err)
		}
		if err := tx.DeleteBucket(name); err != nil {
			return nil, fmt.Errorf("remove %s: %w", name, err)
		}
		moved = append(moved, string(name))
	}
	return moved, nil
}

func hasNested(b *bolt.Bucket) bool {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			return true
		}
	}
	return false
}

// copyLegacy puts the values of b into dst as version 0 entries (see
// upgradeLegacy); path is b's own path, encoded.
func copyLegacy(dst, b *bolt.Bucket, path []byte, paths bool) error {
	return b.ForEach(func(k, v []byte) error {
		key := bytes.Clone(k)
		if paths {
			key = appendPart(bytes.Clone(path), k)
		}
		if v != nil {
			return dst.Put(key, append([]byte{0}, v...)) // uvarint(0), then the value
		}
		if err := dst.Put(key, []byte{0}); err != nil {
			return err
		}
		return copyLegacy(dst, b.Bucket(k), key, true)
	})
}

// appendPart appends one part of a path key: its length, then its bytes.
func appendPart(dst, part []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(part))), part...)
}
