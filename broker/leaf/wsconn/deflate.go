package wsconn

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// deflateTail ends every compressed message for the inflater: the
// 0x00 0x00 0xff 0xff the sender stripped (RFC 7692 section 7.2.2), then an
// empty final stored block so the inflater reports io.EOF exactly at the
// end of the message.
var deflateTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// flushMarker is what a sync flush leaves at the end of deflate output.
var flushMarker = []byte{0x00, 0x00, 0xff, 0xff}

// inflateSource feeds the inflater the payload of the current compressed
// message, across continuation frames and interleaved control frames,
// followed by deflateTail.
type inflateSource struct {
	c    *Conn
	tail int   // bytes of deflateTail already returned
	err  error // the frame or I/O error that stopped this message
}

// next makes the current frame have unread payload, reading continuation
// headers as needed. It returns false at the end of the message.
func (s *inflateSource) next() (bool, error) {
	if s.err != nil {
		return false, s.err
	}
	c := s.c
	for c.frameRem == 0 {
		if c.frameFin {
			return false, nil
		}
		if _, err := c.nextDataFrame(); err != nil {
			s.err = err
			return false, err
		}
	}
	return true, nil
}

// ReadByte implements io.ByteReader, so the inflater reads no further than
// the message.
func (s *inflateSource) ReadByte() (byte, error) {
	more, err := s.next()
	if err != nil {
		return 0, err
	}
	if !more {
		if s.tail == len(deflateTail) {
			return 0, io.EOF
		}
		s.tail++
		return deflateTail[s.tail-1], nil
	}
	b, err := s.c.br.ReadByte()
	if err != nil {
		s.err = s.c.readFailed(err, true)
		return 0, s.err
	}
	s.c.frameRem--
	return b, nil
}

// Read implements io.Reader for the inflater's stored blocks.
func (s *inflateSource) Read(p []byte) (int, error) {
	more, err := s.next()
	if err != nil {
		return 0, err
	}
	if !more {
		if s.tail == len(deflateTail) {
			return 0, io.EOF
		}
		n := copy(p, deflateTail[s.tail:])
		s.tail += n
		return n, nil
	}
	if int64(len(p)) > s.c.frameRem {
		p = p[:s.c.frameRem]
	}
	n, err := s.c.br.Read(p)
	s.c.frameRem -= int64(n)
	if err != nil {
		s.err = s.c.readFailed(err, true)
		return n, s.err
	}
	return n, nil
}

// startInflate begins a compressed message whose first frame header was
// just read. The inflater is reused; each message starts from an empty
// window (no context takeover).
func (c *Conn) startInflate() {
	c.src.tail, c.src.err = 0, nil
	c.inflating, c.inflated = true, 0
	if c.fr == nil {
		c.fr = flate.NewReader(&c.src)
		return
	}
	_ = c.fr.(flate.Resetter).Reset(&c.src, nil)
}

// readInflated reads inflated bytes of the current compressed message.
// It returns 0, nil at the end of the message.
func (c *Conn) readInflated(p []byte) (int, error) {
	// Ask for at most one byte past the limit, so exactly MaxFrameSize
	// bytes are delivered before the message is refused.
	if room := c.maxFrame - c.inflated + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.fr.Read(p)
	c.inflated += int64(n)
	if over := c.inflated - c.maxFrame; over > 0 {
		return n - int(over), c.fail(closeMessageTooBig, fmt.Sprintf("inflated message exceeds %d bytes", c.maxFrame))
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		c.inflating = false
		return n, c.skipMessage()
	case c.src.err != nil:
		// The inflater keeps its error, so even a timeout ends the stream.
		if c.rerr == nil {
			c.rerr = c.src.err
		}
		return n, c.rerr
	default:
		return n, c.fail(closeInvalidPayload, "bad compressed data: "+err.Error())
	}
}

// skipMessage discards what is left of a compressed message after the
// deflate stream ended early (a sender's own final block).
func (c *Conn) skipMessage() error {
	for {
		if c.frameRem > 0 {
			n, err := c.br.Discard(int(min(c.frameRem, int64(c.br.Size()))))
			c.frameRem -= int64(n)
			if err != nil {
				c.rerr = c.readFailed(err, true)
				return c.rerr
			}
			continue
		}
		if c.frameFin {
			return nil
		}
		if _, err := c.nextDataFrame(); err != nil {
			if c.rerr == nil {
				c.rerr = err
			}
			return err
		}
	}
}

// appendBuffer is an io.Writer that appends to a reused slice.
type appendBuffer struct{ b []byte }

func (a *appendBuffer) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// writeCompressed sends p as compressed messages of at most compressChunk
// uncompressed bytes each, which keeps every message well under the
// per-message inflate limit of nats-server (its max_payload). wmu must be held.
func (c *Conn) writeCompressed(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), compressChunk)]
		c.zbuf.b = c.zbuf.b[:0]
		if c.fw == nil {
			fw, err := flate.NewWriter(&c.zbuf, flate.BestSpeed)
			if err != nil {
				return written, fmt.Errorf("wsconn: new deflater: %w", err)
			}
			c.fw = fw
		} else {
			c.fw.Reset(&c.zbuf)
		}
		if _, err := c.fw.Write(chunk); err != nil {
			return written, fmt.Errorf("wsconn: deflate: %w", err)
		}
		if err := c.fw.Flush(); err != nil {
			return written, fmt.Errorf("wsconn: deflate: %w", err)
		}
		out, ok := bytes.CutSuffix(c.zbuf.b, flushMarker)
		if !ok {
			return written, fmt.Errorf("wsconn: deflate output lacks the flush marker")
		}
		if err := c.writeFrame(opBinary, true, out); err != nil {
			return written, err
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}
