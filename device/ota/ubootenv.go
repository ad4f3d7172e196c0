package ota

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
)

// The U-Boot environment format, as U-Boot's saveenv and fw_setenv write it:
//
//	crc32   4 bytes, little-endian, IEEE CRC-32 of the data
//	flags   1 byte, only in a redundant environment: the copy with the
//	        higher flags (counting modulo 256) is the newer one
//	data    "key=value\0key=value\0\0", padded with zero bytes to the size

// ParseUBootEnv decodes one environment copy of len(b) bytes. It returns
// the variables and the flags byte (0 when not redundant).
func ParseUBootEnv(b []byte, redundant bool) (map[string]string, byte, error) {
	hdr := 4
	if redundant {
		hdr = 5
	}
	if len(b) <= hdr {
		return nil, 0, fmt.Errorf("%w: %d bytes is too small", ErrUBootEnv, len(b))
	}
	data := b[hdr:]
	if crc32.ChecksumIEEE(data) != binary.LittleEndian.Uint32(b) {
		return nil, 0, fmt.Errorf("%w: bad CRC", ErrUBootEnv)
	}
	var flags byte
	if redundant {
		flags = b[4]
	}
	vars := make(map[string]string)
	for len(data) > 0 && data[0] != 0 {
		end := bytes.IndexByte(data, 0)
		if end < 0 {
			return nil, 0, fmt.Errorf("%w: unterminated variable", ErrUBootEnv)
		}
		k, v, ok := strings.Cut(string(data[:end]), "=")
		if !ok || k == "" {
			return nil, 0, fmt.Errorf("%w: bad entry %q", ErrUBootEnv, data[:end])
		}
		vars[k] = v
		data = data[end+1:]
	}
	return vars, flags, nil
}

// FormatUBootEnv encodes vars into one environment copy of size bytes,
// keys sorted as U-Boot exports them.
func FormatUBootEnv(vars map[string]string, size int, redundant bool, flags byte) ([]byte, error) {
	hdr := 4
	if redundant {
		hdr = 5
	}
	out := make([]byte, hdr, size)
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := vars[k]
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("%w: bad variable %q", ErrUBootEnv, k)
		}
		out = append(out, k...)
		out = append(out, '=')
		out = append(out, v...)
		out = append(out, 0)
	}
	// The list ends with an empty entry; everything after it is padding.
	if len(out)+1 > size {
		return nil, fmt.Errorf("%w: variables need %d bytes, the environment has %d", ErrUBootEnv, len(out)+1, size)
	}
	out = out[:size]
	if redundant {
		out[4] = flags
	}
	binary.LittleEndian.PutUint32(out, crc32.ChecksumIEEE(out[hdr:]))
	return out, nil
}

// newerCopy picks the current copy of a redundant environment from the
// flags of two valid copies: b is newer only when it is exactly one ahead.
func newerCopy(fa, fb byte) int {
	if fb == fa+1 {
		return 1
	}
	return 0
}
