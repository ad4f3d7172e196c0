package wsconn

import (
	"bufio"
	"compress/flate"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	readBufferSize  = 32 << 10
	writeChunkSize  = 32 << 10 // payload bytes masked per write call
	compressChunk   = 32 << 10 // uncompressed bytes per compressed message
	compressMinSize = 64       // smaller writes go out uncompressed
	closeTimeout    = time.Second
)

// Conn is a client websocket connection carrying a byte stream in binary
// messages. Read must be called from one goroutine at a time; Write, Close
// and the deadline methods may be called concurrently with Read and with
// each other.
type Conn struct {
	nc       net.Conn
	br       *bufio.Reader
	compress bool
	maxFrame int64

	// Read side, owned by the reading goroutine.
	rerr       error // sticky: the stream cannot continue
	frameRem   int64 // unread payload bytes of the current data frame
	frameFin   bool  // the current data frame is its message's last
	expectCont bool  // the next data frame must be a continuation
	inflating  bool  // the current message is compressed
	inflated   int64 // bytes inflated from the current message
	fr         io.ReadCloser
	src        inflateSource
	ctl        [maxControlPayload]byte

	// Write side, guarded by wmu.
	wmu       sync.Mutex
	werr      error // sticky: a frame was cut short, or close was sent
	wbuf      []byte
	rng       *rand.ChaCha8
	fw        *flate.Writer
	zbuf      appendBuffer
	closeOnce sync.Once
}

// newConn wraps an upgraded connection; br holds any bytes read past the
// handshake response.
func newConn(nc net.Conn, br *bufio.Reader, compress bool, maxFrame int64) (*Conn, error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("seed mask keys: %w", err)
	}
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	c := &Conn{
		nc:       nc,
		br:       br,
		compress: compress,
		maxFrame: maxFrame,
		wbuf:     make([]byte, maxHeaderSize+writeChunkSize),
		rng:      rand.NewChaCha8(seed),
	}
	c.src.c = c
	return c, nil
}

// Compression reports whether permessage-deflate was negotiated.
func (c *Conn) Compression() bool { return c.compress }

// Read reads stream bytes from the payload of binary or text messages,
// answering pings and skipping pongs on the way. A close frame from the
// server is answered and Read returns io.EOF. A frame that breaks the
// protocol fails the connection (close 1002, 1007 or 1009) and Read returns
// an error wrapping ErrProtocol or ErrMessageTooBig. A read deadline that
// expires between frames or inside an uncompressed frame can be retried;
// inside a compressed message it is final.
func (c *Conn) Read(p []byte) (int, error) {
	if c.rerr != nil {
		return 0, c.rerr
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.inflating {
			n, err := c.readInflated(p)
			if n > 0 || err != nil {
				return n, err
			}
			continue
		}
		if c.frameRem > 0 {
			if int64(len(p)) > c.frameRem {
				p = p[:c.frameRem]
			}
			n, err := c.br.Read(p)
			c.frameRem -= int64(n)
			if err != nil {
				return n, c.readFailed(err, true)
			}
			return n, nil
		}
		compressed, err := c.nextDataFrame()
		if err != nil {
			return 0, err
		}
		if compressed {
			c.startInflate()
		}
	}
}

// nextDataFrame reads frame headers, handling control frames in between,
// until a data frame starts; it returns whether the frame starts a
// compressed message. Headers are peeked before they are consumed, so a
// deadline leaves the stream intact.
func (c *Conn) nextDataFrame() (compressed bool, err error) {
	for {
		hdr, err := c.br.Peek(2)
		if err != nil {
			return false, c.readFailed(err, len(hdr) > 0 || c.expectCont)
		}
		b0, b1 := hdr[0], hdr[1]
		op, fin, rsv1 := b0&0x0F, b0&finBit != 0, b0&rsv1Bit != 0
		n7 := int64(b1 & 0x7F)
		switch {
		case b0&(rsv2Bit|rsv3Bit) != 0:
			return false, c.fail(closeProtocolError, "RSV2 or RSV3 set")
		case rsv1 && !c.compress:
			return false, c.fail(closeProtocolError, "RSV1 set without permessage-deflate")
		case b1&maskBit != 0:
			return false, c.fail(closeProtocolError, "masked frame from server")
		}
		if op >= opClose {
			switch {
			case op != opClose && op != opPing && op != opPong:
				return false, c.fail(closeProtocolError, fmt.Sprintf("unknown opcode %#x", op))
			case !fin:
				return false, c.fail(closeProtocolError, "fragmented control frame")
			case rsv1:
				return false, c.fail(closeProtocolError, "RSV1 set on a control frame")
			case n7 > maxControlPayload:
				return false, c.fail(closeProtocolError, "control frame payload over 125 bytes")
			}
			frame, err := c.br.Peek(2 + int(n7))
			if err != nil {
				return false, c.readFailed(err, true)
			}
			n := copy(c.ctl[:], frame[2:])
			c.br.Discard(len(frame))
			if err := c.handleControl(op, c.ctl[:n]); err != nil {
				return false, err
			}
			continue
		}
		switch op {
		case opText, opBinary:
			if c.expectCont {
				return false, c.fail(closeProtocolError, "new message before the previous one ended")
			}
		case opContinuation:
			if !c.expectCont {
				return false, c.fail(closeProtocolError, "continuation frame outside a message")
			}
			if rsv1 {
				return false, c.fail(closeProtocolError, "RSV1 set on a continuation frame")
			}
		default:
			return false, c.fail(closeProtocolError, fmt.Sprintf("unknown opcode %#x", op))
		}
		hlen := 2
		switch n7 {
		case 126:
			hlen = 4
		case 127:
			hlen = 10
		}
		if hlen > 2 {
			if hdr, err = c.br.Peek(hlen); err != nil {
				return false, c.readFailed(err, true)
			}
		}
		size := n7
		switch hlen {
		case 4:
			size = int64(binary.BigEndian.Uint16(hdr[2:]))
		case 10:
			u := binary.BigEndian.Uint64(hdr[2:])
			if u>>63 != 0 {
				return false, c.fail(closeProtocolError, "payload length has the top bit set")
			}
			size = int64(u)
		}
		if size > c.maxFrame {
			return false, c.fail(closeMessageTooBig, fmt.Sprintf("frame of %d bytes exceeds %d", size, c.maxFrame))
		}
		c.br.Discard(hlen)
		c.frameRem, c.frameFin, c.expectCont = size, fin, !fin
		return rsv1, nil
	}
}

// handleControl answers a ping, ignores a pong, and answers a close.
func (c *Conn) handleControl(op byte, payload []byte) error {
	switch op {
	case opPing:
		if err := c.writeControl(opPong, payload); err != nil {
			c.rerr = fmt.Errorf("wsconn: send pong: %w", err)
			return c.rerr
		}
	case opClose:
		code := 0
		switch {
		case len(payload) == 1:
			return c.fail(closeProtocolError, "close frame with a 1-byte payload")
		case len(payload) >= 2:
			code = int(binary.BigEndian.Uint16(payload))
			if !validCloseCode(code) {
				return c.fail(closeProtocolError, fmt.Sprintf("invalid close code %d", code))
			}
			if !utf8.Valid(payload[2:]) {
				return c.fail(closeInvalidPayload, "close reason is not UTF-8")
			}
		}
		c.sendClose(code, "")
		c.rerr = io.EOF
		return io.EOF
	}
	return nil
}

// readFailed classifies an error from the buffered reader. Timeouts leave
// the stream usable; anything else is sticky. partial says a frame was
// under way, so EOF is unexpected.
func (c *Conn) readFailed(err error, partial bool) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	if errors.Is(err, io.EOF) && partial {
		err = io.ErrUnexpectedEOF
	}
	c.rerr = err
	return err
}

// fail sends a close frame with code and reason and makes the matching
// error sticky.
func (c *Conn) fail(code int, reason string) error {
	sentinel := ErrProtocol
	if code == closeMessageTooBig {
		sentinel = ErrMessageTooBig
	}
	c.sendClose(code, reason)
	c.rerr = fmt.Errorf("%w: %s", sentinel, reason)
	return c.rerr
}

// Write sends p as one binary message (or, with compression, one message
// per 32 KiB of p). It is safe to call concurrently with Read and Write.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.compress && len(p) >= compressMinSize {
		return c.writeCompressed(p)
	}
	if err := c.writeFrame(opBinary, false, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeControl sends one control frame.
func (c *Conn) writeControl(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	return c.writeFrame(op, false, payload)
}

// sendClose sends a close frame, best effort and bounded by closeTimeout;
// code 0 sends an empty payload. Later writes fail.
func (c *Conn) sendClose(code int, reason string) {
	// The deadline also unblocks a writer stuck on a dead peer.
	_ = c.nc.SetWriteDeadline(time.Now().Add(closeTimeout))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return
	}
	var payload [maxControlPayload]byte
	n := 0
	if code != 0 {
		binary.BigEndian.PutUint16(payload[:], uint16(code))
		n = 2 + copy(payload[2:], reason)
	}
	if c.writeFrame(opClose, false, payload[:n]) == nil {
		c.werr = fmt.Errorf("wsconn: close frame sent: %w", net.ErrClosed)
	}
}

// writeFrame sends one final frame, masking payload through wbuf in
// chunks so the caller's bytes are never modified. wmu must be held. A
// failed write leaves a partial frame on the wire, so the error is sticky.
func (c *Conn) writeFrame(op byte, rsv1 bool, payload []byte) error {
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], uint32(c.rng.Uint64()))
	off := putHeader(c.wbuf, op, rsv1, len(payload), key)
	pos := 0
	for {
		n := min(len(c.wbuf)-off, len(payload))
		pos = maskCopy(c.wbuf[off:off+n], payload[:n], key, pos)
		payload = payload[n:]
		if _, err := c.nc.Write(c.wbuf[:off+n]); err != nil {
			c.werr = fmt.Errorf("wsconn: write frame: %w", err)
			return c.werr
		}
		if len(payload) == 0 {
			return nil
		}
		off = 0
	}
}

// Close sends a close frame (best effort, bounded by one second) and
// closes the underlying connection.
func (c *Conn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.sendClose(closeNormal, "")
		err = c.nc.Close()
	})
	return err
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the underlying connection.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the underlying connection.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the underlying connection.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }
