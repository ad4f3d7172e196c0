package wsconn

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeHubConn is the server end of a test connection, after the upgrade
// request was read.
type fakeHubConn struct {
	nc  net.Conn
	br  *bufio.Reader
	req []string // request line and header lines
	key string
}

// fakeHub listens on 127.0.0.1, reads the upgrade request of the first
// connection by hand and passes it to serve. It returns the ws:// URL.
func fakeHub(t testing.TB, serve func(h *fakeHubConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		h := &fakeHubConn{nc: nc, br: bufio.NewReader(nc)}
		for {
			line, err := h.br.ReadString('\n')
			if err != nil {
				t.Errorf("fake hub: read request: %v", err)
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			h.req = append(h.req, line)
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Key") {
				h.key = strings.TrimSpace(v)
			}
		}
		serve(h)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return "ws://" + ln.Addr().String()
}

// accept writes a 101 response with the right accept key and extra header
// lines (each ending in CRLF).
func (h *fakeHubConn) accept(extra string) {
	fmt.Fprintf(h.nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
		acceptKey(h.key), extra)
}

const deflateAccept = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"

// clientFrame is a frame read from the client, unmasked.
type clientFrame struct {
	b0      byte
	masked  bool
	key     [4]byte
	payload []byte
}

// readClientFrame reads and unmasks one frame sent by the client.
func readClientFrame(r io.Reader) (clientFrame, error) {
	var f clientFrame
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return f, err
	}
	f.b0 = h[0]
	f.masked = h[1]&0x80 != 0
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 64<<20 {
		return f, fmt.Errorf("client frame of %d bytes", n)
	}
	if f.masked {
		if _, err := io.ReadFull(r, f.key[:]); err != nil {
			return f, err
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		return f, err
	}
	for i := range f.payload {
		f.payload[i] ^= f.key[i&3]
	}
	return f, nil
}

// frame encodes a server frame with first byte b0 (FIN, RSV and opcode)
// and an unmasked payload.
func frame(b0 byte, payload []byte) []byte {
	out := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, byte(n))
	case n <= 0xFFFF:
		out = append(out, 126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	return append(out, payload...)
}

// maskedFrame encodes a frame with the mask bit set, as a server must not.
func maskedFrame(b0 byte, payload []byte) []byte {
	key := [4]byte{1, 2, 3, 4}
	out := []byte{b0, 0x80 | byte(len(payload))}
	out = append(out, key[:]...)
	for i, b := range payload {
		out = append(out, b^key[i&3])
	}
	return out
}

// closePayload encodes a close status code and reason.
func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// deflated compresses s as one permessage-deflate message (sync flush,
// trailing 00 00 ff ff removed).
func deflated(s string) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write([]byte(s))
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// deflatedFinal compresses s ending with a final block, as some senders do.
func deflatedFinal(s string) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return buf.Bytes()
}

// inflate decompresses one permessage-deflate message.
func inflate(p []byte) ([]byte, error) {
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail[:])))
	return io.ReadAll(r)
}

// cat joins frames into one server byte stream.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// readAll reads c with a small buffer until an error and returns the data
// and that error.
func readAll(c net.Conn) ([]byte, error) {
	var out []byte
	buf := make([]byte, 7)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

// memConn is an in-memory net.Conn: Read serves src, Write counts bytes.
type memConn struct {
	src     io.Reader
	written int
}

func (m *memConn) Read(p []byte) (int, error)       { return m.src.Read(p) }
func (m *memConn) Write(p []byte) (int, error)      { m.written += len(p); return len(p), nil }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }
