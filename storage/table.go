package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrCorruptEntry is returned when a table entry does not decode.
var ErrCorruptEntry = errors.New("storage: corrupt table entry")

// Table is a named area of keyed entries for state that is not a queue
// (MQTT sessions and retained messages, for one). Each key holds a value
// and a version: both belong to the table's owner, which uses the version
// to tell its encodings apart across releases. The store does not
// interpret either, except that version 0 marks entries carried over from
// a file written before tables existed (see upgradeLegacy).
//
// Every Put, Delete and Update is its own bbolt transaction, committed
// and fsynced before it returns, like the other small areas; the queues'
// group commit is not involved. Entries are kept in key order.
type Table struct {
	s      *Store
	bucket []byte
}

// tablePrefix starts the bucket name of every table.
const tablePrefix = "table/"

// Table returns the table called name. It exists once something is put in
// it; until then it reads as empty.
func (s *Store) Table(name string) Table {
	return Table{s: s, bucket: []byte(tablePrefix + name)}
}

// Get returns a copy of the value of key and its version; ok is false when
// the key is absent.
func (t Table) Get(key []byte) (version uint64, value []byte, ok bool, err error) {
	err = t.s.view(func(tx *bolt.Tx) error {
		version, value, ok, err = TableTx{b: tx.Bucket(t.bucket)}.Get(key)
		value = bytes.Clone(value)
		return err
	})
	if err != nil {
		return 0, nil, false, fmt.Errorf("get %s %q: %w", t.bucket, key, err)
	}
	return version, value, ok, nil
}

// ForEach calls fn for every entry whose key starts with prefix (all of
// them for an empty prefix), in key order. key and value are valid only
// during the call. An error from fn stops the walk and is returned.
func (t Table) ForEach(prefix []byte, fn func(key []byte, version uint64, value []byte) error) error {
	return t.s.view(func(tx *bolt.Tx) error {
		return TableTx{b: tx.Bucket(t.bucket)}.ForEach(prefix, fn)
	})
}

// Put sets key to value with version.
func (t Table) Put(key []byte, version uint64, value []byte) error {
	if err := t.Update(func(tx TableTx) error { return tx.Put(key, version, value) }); err != nil {
		return fmt.Errorf("put %s %q: %w", t.bucket, key, err)
	}
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (t Table) Delete(key []byte) error {
	if err := t.Update(func(tx TableTx) error { return tx.Delete(key) }); err != nil {
		return fmt.Errorf("delete %s %q: %w", t.bucket, key, err)
	}
	return nil
}

// Update runs fn in one write transaction: all its changes are committed
// together, or none when fn (or the commit) fails.
func (t Table) Update(fn func(tx TableTx) error) error {
	return t.s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(t.bucket)
		if err != nil {
			return err
		}
		return fn(TableTx{b: b, write: true})
	})
}

// TableTx reads and changes a table inside one transaction (see
// Table.Update). It is valid only during the function it is given to.
type TableTx struct {
	b     *bolt.Bucket // nil: the table does not exist yet
	write bool
}

// Get returns the value of key and its version; value is valid only during
// the transaction.
func (tx TableTx) Get(key []byte) (version uint64, value []byte, ok bool, err error) {
	if tx.b == nil {
		return 0, nil, false, nil
	}
	v := tx.b.Get(key)
	if v == nil {
		return 0, nil, false, nil
	}
	version, value, err = decodeEntry(v)
	return version, value, err == nil, err
}

// ForEach is Table.ForEach inside the transaction. fn must not change the
// table.
func (tx TableTx) ForEach(prefix []byte, fn func(key []byte, version uint64, value []byte) error) error {
	if tx.b == nil {
		return nil
	}
	c := tx.b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		version, value, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		if err := fn(k, version, value); err != nil {
			return err
		}
	}
	return nil
}

// Put sets key to value with version.
func (tx TableTx) Put(key []byte, version uint64, value []byte) error {
	if !tx.write {
		return berrors.ErrTxNotWritable
	}
	if len(key) == 0 {
		return ErrEmptyKey
	}
	// bbolt holds on to both slices until the commit.
	v := make([]byte, 0, binary.MaxVarintLen64+len(value))
	v = binary.AppendUvarint(v, version)
	return tx.b.Put(bytes.Clone(key), append(v, value...))
}

// Delete removes key; deleting an absent key is not an error.
func (tx TableTx) Delete(key []byte) error {
	if !tx.write {
		return berrors.ErrTxNotWritable
	}
	return tx.b.Delete(key)
}

// decodeEntry splits a stored entry into its version and value. A nested
// bucket (nil) is not an entry.
func decodeEntry(v []byte) (version uint64, value []byte, err error) {
	if v == nil {
		return 0, nil, ErrCorruptEntry
	}
	version, w := binary.Uvarint(v)
	if w <= 0 {
		return 0, nil, ErrCorruptEntry
	}
	return version, v[w:], nil
}
