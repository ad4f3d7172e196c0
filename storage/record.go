package storage

import (
	"encoding/binary"
	"errors"
	"time"
)

// ErrCorruptRecord is returned when stored bytes do not decode as a record.
var ErrCorruptRecord = errors.New("storage: corrupt record")

// Record is one message kept in a queue. Its byte slices belong to whoever
// produced the Record: records passed to Append are copied before Append
// returns, and records handed out by a Reader or a callback are valid only
// as long as their documentation says.
type Record struct {
	// Seq is the queue sequence, given by the store on commit.
	Seq     uint64
	Subject []byte
	// Reply is the publisher's reply subject, if any.
	Reply []byte
	// Header is the raw NATS header block ("NATS/1.0\r\n...\r\n\r\n"), if any.
	Header  []byte
	Payload []byte
	// Published is when the message was published; zero means "now" on
	// append. It is kept to the nanosecond.
	Published time.Time
}

// Record encoding, version 1 (all in one bbolt value; the key is the
// 8-byte big-endian sequence):
//
//	flags     1 byte: version<<4 | hasReply<<1 | hasHeader
//	published 8 bytes little endian: Unix nanoseconds (fixed place so the
//	          age of the oldest record is read without decoding the rest)
//	subject   uvarint length + bytes
//	reply     uvarint length + bytes     (only when hasReply)
//	header    uvarint length + bytes     (only when hasHeader)
//	payload   the remaining bytes
const (
	recVersion   = 1
	flagHeader   = 1 << 0
	flagReply    = 1 << 1
	flagsKnown   = flagHeader | flagReply
	recFixedSize = 1 + 8
)

// encodedSize is the size of r's encoding.
func encodedSize(r *Record) int {
	n := recFixedSize + uvarintLen(len(r.Subject)) + len(r.Subject) + len(r.Payload)
	if len(r.Reply) > 0 {
		n += uvarintLen(len(r.Reply)) + len(r.Reply)
	}
	if len(r.Header) > 0 {
		n += uvarintLen(len(r.Header)) + len(r.Header)
	}
	return n
}

// appendRecord appends the encoding of r to dst, with publish time now when
// r.Published is zero.
func appendRecord(dst []byte, r *Record, now int64) []byte {
	flags := byte(recVersion << 4)
	if len(r.Reply) > 0 {
		flags |= flagReply
	}
	if len(r.Header) > 0 {
		flags |= flagHeader
	}
	pub := now
	if !r.Published.IsZero() {
		pub = r.Published.UnixNano()
	}
	dst = append(dst, flags)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(pub))
	dst = binary.AppendUvarint(dst, uint64(len(r.Subject)))
	dst = append(dst, r.Subject...)
	if len(r.Reply) > 0 {
		dst = binary.AppendUvarint(dst, uint64(len(r.Reply)))
		dst = append(dst, r.Reply...)
	}
	if len(r.Header) > 0 {
		dst = binary.AppendUvarint(dst, uint64(len(r.Header)))
		dst = append(dst, r.Header...)
	}
	return append(dst, r.Payload...)
}

// decodeRecord fills r from b. r's slices alias b; nothing is allocated.
// r.Seq is left unchanged (it is the key, not part of the value).
func decodeRecord(b []byte, r *Record) error {
	if len(b) < recFixedSize || b[0]>>4 != recVersion || b[0]&^(recVersion<<4)&^flagsKnown != 0 {
		return ErrCorruptRecord
	}
	flags := b[0]
	r.Published = time.Unix(0, int64(binary.LittleEndian.Uint64(b[1:9])))
	rest := b[recFixedSize:]
	var ok bool
	if r.Subject, rest, ok = field(rest); !ok || len(r.Subject) == 0 {
		return ErrCorruptRecord
	}
	r.Reply, r.Header = nil, nil
	if flags&flagReply != 0 {
		if r.Reply, rest, ok = field(rest); !ok || len(r.Reply) == 0 {
			return ErrCorruptRecord
		}
	}
	if flags&flagHeader != 0 {
		if r.Header, rest, ok = field(rest); !ok || len(r.Header) == 0 {
			return ErrCorruptRecord
		}
	}
	r.Payload = rest
	return nil
}

// publishedAt reads the publish time of an encoded record.
func publishedAt(b []byte) (int64, bool) {
	if len(b) < recFixedSize {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b[1:9])), true
}

// field splits a uvarint-length-prefixed field off b.
func field(b []byte) (f, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	// Only the shortest encoding is valid: one record, one byte form.
	if w <= 0 || n > uint64(len(b)-w) || w != uvarintLen(int(n)) {
		return nil, nil, false
	}
	end := w + int(n)
	return b[w:end:end], b[end:], true
}

func uvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// seqKey is the bbolt key of a sequence: big endian, so keys sort in order.
func seqKey(buf *[8]byte, seq uint64) []byte {
	binary.BigEndian.PutUint64(buf[:], seq)
	return buf[:]
}
