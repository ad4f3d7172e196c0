package serial

import "bytes"

// COBS (consistent overhead byte stuffing, Cheshire and Baker 1999) removes
// every zero byte from a frame so that 0x00 can end it. Each block is a
// code byte n followed by n-1 data bytes; a code below 0xFF stands for an
// implied zero after its block, except after the last block.

// cobsMaxEncoded is the longest encoding of a max-byte payload.
func cobsMaxEncoded(max int) int { return max + max/254 + 1 }

// appendCOBS appends the encoding of p and the 0x00 frame delimiter.
func appendCOBS(dst, p []byte) []byte {
	codeAt := len(dst)
	dst = append(dst, 0)
	code := byte(1)
	for _, c := range p {
		if c != 0 {
			dst = append(dst, c)
			code++
		}
		if c == 0 || code == 0xFF {
			dst[codeAt] = code
			codeAt = len(dst)
			dst = append(dst, 0)
			code = 1
		}
	}
	dst[codeAt] = code
	return append(dst, 0)
}

// cobsDecode decodes src in place and returns the payload, or false when
// src is not a valid encoding.
func cobsDecode(src []byte) ([]byte, bool) {
	out := src[:0]
	for i := 0; i < len(src); {
		code := int(src[i])
		if code == 0 {
			return nil, false
		}
		end := i + code
		if end > len(src) {
			return nil, false
		}
		// The write position never passes the read position, so copying
		// within src is safe (copy is a memmove).
		out = append(out, src[i+1:end]...)
		i = end
		if code < 0xFF && i < len(src) {
			out = append(out, 0)
		}
	}
	return out, true
}

// cobsDecoder collects an encoded frame up to its 0x00 and decodes it.
type cobsDecoder struct {
	max  int
	buf  []byte
	over int
}

func (d *cobsDecoder) Decode(p []byte, s Sink) {
	for len(p) > 0 {
		i := indexZero(p)
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		n := min(cap(d.buf)-len(d.buf), len(chunk))
		d.buf = append(d.buf, chunk[:n]...)
		d.over += len(chunk) - n
		if i < 0 {
			return
		}
		p = p[i+1:]
		d.end(s)
	}
}

func indexZero(p []byte) int { return bytes.IndexByte(p, 0) }

// end handles a complete encoded frame.
func (d *cobsDecoder) end(s Sink) {
	enc, over := d.buf, d.over
	d.buf, d.over = d.buf[:0], 0
	switch {
	case over > 0:
		s.Drop(DropOversize, len(enc)+over)
	case len(enc) == 0:
		// Back-to-back delimiters: senders may put one before each frame.
	default:
		frame, ok := cobsDecode(enc)
		switch {
		case !ok:
			s.Drop(DropMalformed, len(enc))
		case len(frame) > d.max:
			s.Drop(DropOversize, len(frame))
		default:
			s.Frame(frame)
		}
	}
}

func (d *cobsDecoder) Idle(s Sink) {
	if len(d.buf) > 0 || d.over > 0 {
		s.Drop(DropMalformed, len(d.buf)+d.over)
		d.buf, d.over = d.buf[:0], 0
	}
}
