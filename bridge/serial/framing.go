package serial

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/leafbox/leafbox/bridge"
)

// Errors of framing outbound data.
var (
	ErrFrameSize = errors.New("serial: payload does not fit the framing")
)

// DropReason says why a Decoder dropped input.
type DropReason int

// Drop reasons.
const (
	// DropOversize: the frame was longer than max_frame.
	DropOversize DropReason = iota + 1
	// DropMalformed: the frame did not decode (bad COBS, a fixed or length
	// prefixed frame cut short by an idle gap).
	DropMalformed
)

func (r DropReason) String() string {
	switch r {
	case DropOversize:
		return "oversize"
	case DropMalformed:
		return "malformed"
	default:
		return fmt.Sprintf("DropReason(%d)", int(r))
	}
}

// Sink receives what a Decoder finds. The frame slice is valid only during
// the call.
type Sink interface {
	Frame(p []byte)
	Drop(reason DropReason, n int)
}

// Decoder cuts a byte stream into frames. It keeps one buffer of the
// maximum frame size and does not allocate per frame. It is not safe for
// concurrent use.
type Decoder interface {
	// Decode consumes p, which may hold any part of any number of frames.
	Decode(p []byte, s Sink)
	// Idle tells the decoder the line has been quiet for the idle gap: raw
	// framing ends its frame there; the other framings drop a partial
	// frame as malformed, which resynchronises them.
	Idle(s Sink)
}

// Codec frames data in both directions for one framing configuration.
type Codec struct {
	f bridge.Framing
}

// NewCodec checks f and fills its defaults.
func NewCodec(f bridge.Framing) (*Codec, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &Codec{f: f.WithDefaults()}, nil
}

// Framing is the codec's configuration with defaults filled in.
func (c *Codec) Framing() bridge.Framing { return c.f }

// IdleGap is the quiet time after which the reader calls Decoder.Idle; zero
// when the framing does not use one.
func (c *Codec) IdleGap() time.Duration { return c.f.IdleGap }

// NewDecoder returns a fresh decoder.
func (c *Codec) NewDecoder() Decoder {
	f := c.f
	switch f.Mode {
	case bridge.FramingFixed:
		return &fixedDecoder{buf: make([]byte, 0, f.Size)}
	case bridge.FramingLengthPrefixed:
		return &lengthDecoder{prefix: f.PrefixBytes, little: f.LittleEndian, max: f.MaxFrame, buf: make([]byte, 0, f.MaxFrame)}
	case bridge.FramingCOBS:
		return &cobsDecoder{max: f.MaxFrame, buf: make([]byte, 0, cobsMaxEncoded(f.MaxFrame))}
	case bridge.FramingRaw:
		return &rawDecoder{buf: make([]byte, 0, f.MaxFrame)}
	default:
		return newLineDecoder(f.Delimiter, !f.NoTrim, f.MaxFrame)
	}
}

// Append appends payload, framed, to dst.
func (c *Codec) Append(dst, payload []byte) ([]byte, error) {
	f := c.f
	switch f.Mode {
	case bridge.FramingFixed:
		if len(payload) != f.Size {
			return dst, fmt.Errorf("%w: fixed framing needs %d bytes, got %d", ErrFrameSize, f.Size, len(payload))
		}
		return append(dst, payload...), nil
	case bridge.FramingLengthPrefixed:
		return appendLengthPrefixed(dst, payload, f.PrefixBytes, f.LittleEndian)
	case bridge.FramingCOBS:
		return appendCOBS(dst, payload), nil
	case bridge.FramingRaw:
		return append(dst, payload...), nil
	default:
		dst = append(dst, payload...)
		if !hasSuffix(payload, f.Delimiter) {
			dst = append(dst, f.Delimiter...)
		}
		return dst, nil
	}
}

func hasSuffix(p, suffix []byte) bool {
	return len(p) >= len(suffix) && string(p[len(p)-len(suffix):]) == string(suffix)
}

// lineDecoder ends frames at a delimiter, found with a KMP matcher so that
// a delimiter split across reads, or met while an oversize line is being
// skipped, is still seen.
type lineDecoder struct {
	delim []byte
	fail  []int // KMP failure function of delim
	trim  bool
	max   int
	buf   []byte // the line so far, delimiter included; cap max+len(delim)
	m     int    // delimiter bytes matched
	over  int    // bytes that did not fit buf
}

func newLineDecoder(delim []byte, trim bool, max int) *lineDecoder {
	fail := make([]int, len(delim))
	for i, k := 1, 0; i < len(delim); i++ {
		for k > 0 && delim[i] != delim[k] {
			k = fail[k-1]
		}
		if delim[i] == delim[k] {
			k++
		}
		fail[i] = k
	}
	return &lineDecoder{delim: delim, fail: fail, trim: trim, max: max, buf: make([]byte, 0, max+len(delim))}
}

func (d *lineDecoder) Decode(p []byte, s Sink) {
	for _, c := range p {
		for d.m > 0 && d.delim[d.m] != c {
			d.m = d.fail[d.m-1]
		}
		if d.delim[d.m] == c {
			d.m++
		}
		if len(d.buf) < cap(d.buf) {
			d.buf = append(d.buf, c)
		} else {
			d.over++
		}
		if d.m == len(d.delim) {
			d.m = 0
			d.emit(s)
		}
	}
}

func (d *lineDecoder) emit(s Sink) {
	line := d.buf
	size := len(line) + d.over
	d.buf, d.over = d.buf[:0], 0
	if size-len(d.delim) > d.max {
		s.Drop(DropOversize, size)
		return
	}
	if d.trim {
		line = trimCRLF(line[:len(line)-len(d.delim)])
		if len(line) == 0 {
			return // blank line
		}
	}
	s.Frame(line)
}

func trimCRLF(p []byte) []byte {
	for len(p) > 0 && (p[0] == '\r' || p[0] == '\n') {
		p = p[1:]
	}
	for len(p) > 0 && (p[len(p)-1] == '\r' || p[len(p)-1] == '\n') {
		p = p[:len(p)-1]
	}
	return p
}

func (d *lineDecoder) Idle(Sink) {}

// fixedDecoder emits every cap(buf) bytes.
type fixedDecoder struct {
	buf []byte
}

func (d *fixedDecoder) Decode(p []byte, s Sink) {
	for len(p) > 0 {
		n := min(cap(d.buf)-len(d.buf), len(p))
		d.buf = append(d.buf, p[:n]...)
		p = p[n:]
		if len(d.buf) == cap(d.buf) {
			s.Frame(d.buf)
			d.buf = d.buf[:0]
		}
	}
}

func (d *fixedDecoder) Idle(s Sink) {
	if len(d.buf) > 0 {
		s.Drop(DropMalformed, len(d.buf))
		d.buf = d.buf[:0]
	}
}

// lengthDecoder reads a length prefix, then that many bytes. A length above
// max is skipped byte by byte and dropped as oversize.
type lengthDecoder struct {
	prefix int
	little bool
	max    int
	hdr    [4]byte
	hn     int // header bytes read
	need   int // payload bytes still expected
	skip   bool
	size   int // payload length of the current frame
	buf    []byte
}

func (d *lengthDecoder) Decode(p []byte, s Sink) {
	for len(p) > 0 {
		if d.hn < d.prefix {
			n := copy(d.hdr[d.hn:d.prefix], p)
			d.hn += n
			p = p[n:]
			if d.hn < d.prefix {
				return
			}
			d.size = d.length()
			d.need = d.size
			d.skip = d.size > d.max
			d.buf = d.buf[:0]
		}
		n := min(d.need, len(p))
		if !d.skip {
			d.buf = append(d.buf, p[:n]...)
		}
		d.need -= n
		p = p[n:]
		if d.need == 0 {
			d.hn = 0
			if d.skip {
				s.Drop(DropOversize, d.size)
			} else {
				s.Frame(d.buf)
			}
		}
	}
}

// length decodes the prefix. A 4-byte length above the int range of a
// 32-bit platform cannot be a valid frame; it is clamped and skipped.
func (d *lengthDecoder) length() int {
	h := d.hdr[:d.prefix]
	var v uint64
	switch {
	case d.prefix == 1:
		v = uint64(h[0])
	case d.prefix == 2 && d.little:
		v = uint64(binary.LittleEndian.Uint16(h))
	case d.prefix == 2:
		v = uint64(binary.BigEndian.Uint16(h))
	case d.little:
		v = uint64(binary.LittleEndian.Uint32(h))
	default:
		v = uint64(binary.BigEndian.Uint32(h))
	}
	return int(min(v, 1<<31-1))
}

func (d *lengthDecoder) Idle(s Sink) {
	if d.hn > 0 {
		got := d.size - d.need
		if d.hn < d.prefix {
			got = d.hn
		}
		s.Drop(DropMalformed, got)
		d.hn, d.need = 0, 0
	}
}

func appendLengthPrefixed(dst, payload []byte, prefix int, little bool) ([]byte, error) {
	n := uint64(len(payload))
	if limit := uint64(1)<<(8*prefix) - 1; n > limit {
		return dst, fmt.Errorf("%w: %d bytes do not fit a %d-byte length prefix", ErrFrameSize, n, prefix)
	}
	switch {
	case prefix == 1:
		dst = append(dst, byte(n))
	case prefix == 2 && little:
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
	case prefix == 2:
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	case little:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	default:
		dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	}
	return append(dst, payload...), nil
}

// rawDecoder collects bytes until Idle.
type rawDecoder struct {
	buf  []byte
	over int
}

func (d *rawDecoder) Decode(p []byte, s Sink) {
	n := min(cap(d.buf)-len(d.buf), len(p))
	d.buf = append(d.buf, p[:n]...)
	d.over += len(p) - n
}

func (d *rawDecoder) Idle(s Sink) {
	switch {
	case d.over > 0:
		s.Drop(DropOversize, len(d.buf)+d.over)
	case len(d.buf) > 0:
		s.Frame(d.buf)
	}
	d.buf, d.over = d.buf[:0], 0
}
