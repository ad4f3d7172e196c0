package wsconn

import "encoding/binary"

// Frame header bits and opcodes, RFC 6455 section 5.2.
const (
	finBit  = 0x80
	rsv1Bit = 0x40 // "compressed" with permessage-deflate, RFC 7692 section 6
	rsv2Bit = 0x20
	rsv3Bit = 0x10
	maskBit = 0x80

	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	maxControlPayload = 125
	maxHeaderSize     = 14 // 2 + 8 extended length + 4 mask key
)

// Close status codes, RFC 6455 section 7.4.1.
const (
	closeNormal         = 1000
	closeProtocolError  = 1002
	closeNoStatus       = 1005 // never sent on the wire
	closeInvalidPayload = 1007
	closeMessageTooBig  = 1009
)

// validCloseCode reports whether code may appear in a received close frame.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// putHeader writes a masked client frame header for a payload of n bytes
// into dst (at least maxHeaderSize long) and returns the header length.
func putHeader(dst []byte, op byte, rsv1 bool, n int, key [4]byte) int {
	b0 := finBit | op
	if rsv1 {
		b0 |= rsv1Bit
	}
	dst[0] = b0
	var h int
	switch {
	case n <= 125:
		dst[1] = maskBit | byte(n)
		h = 2
	case n <= 0xFFFF:
		dst[1] = maskBit | 126
		binary.BigEndian.PutUint16(dst[2:], uint16(n))
		h = 4
	default:
		dst[1] = maskBit | 127
		binary.BigEndian.PutUint64(dst[2:], uint64(n))
		h = 10
	}
	copy(dst[h:], key[:])
	return h + 4
}

// maskCopy copies src into dst (len(dst) >= len(src)) XORed with the mask
// key, starting at key offset pos, and returns the next key offset.
func maskCopy(dst, src []byte, key [4]byte, pos int) int {
	pos &= 3
	var k [8]byte
	for i := range k {
		k[i] = key[(pos+i)&3]
	}
	kw := binary.LittleEndian.Uint64(k[:])
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^kw)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] ^ key[(pos+i)&3]
	}
	return (pos + len(src)) & 3
}
