package modbus

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"go.bug.st/serial"
)

// transport sends one request to a unit and returns the data of its
// answer. The data is valid until the next call. An error wrapping
// errFatal means the line itself is gone (the session must end); other
// errors concern this request only.
type transport interface {
	do(unit byte, r *request) ([]byte, error)
	// wire reports the bytes of the last request and its answer.
	wire() (out, in int)
	close() error
}

// errFatal marks errors of the line (a serial port that disappeared).
var errFatal = errors.New("modbus: line failed")

// rtu is Modbus RTU over a serial port: one request at a time, each
// preceded by at least gap of silence on the line.
type rtu struct {
	port    serial.Port
	name    string
	gap     time.Duration
	timeout time.Duration
	last    time.Time // end of the last exchange
	out, in []byte
}

func (t *rtu) do(unit byte, r *request) ([]byte, error) {
	if d := t.gap - time.Since(t.last); d > 0 {
		time.Sleep(d)
	}
	defer func() { t.last = time.Now() }()
	// A late answer to an earlier request must not be taken for this one.
	if err := t.port.ResetInputBuffer(); err != nil {
		return nil, fmt.Errorf("%w: flush %s: %w", errFatal, t.name, err)
	}
	t.out = appendRTU(t.out[:0], unit, r)
	t.in = t.in[:0]
	for b := t.out; len(b) > 0; {
		n, err := t.port.Write(b)
		if err != nil {
			return nil, fmt.Errorf("%w: write %s: %w", errFatal, t.name, err)
		}
		b = b[n:]
	}
	deadline := time.Now().Add(t.timeout)
	if cap(t.in) < maxRTUFrame {
		t.in = make([]byte, 0, maxRTUFrame)
	}
	for {
		need := rtuNeed(r, t.in)
		if len(t.in) >= need {
			return parseRTU(r, unit, t.in[:need])
		}
		left := time.Until(deadline)
		if left <= 0 {
			if len(t.in) > 0 {
				return nil, fmt.Errorf("%w: %d of %d bytes", ErrTimeout, len(t.in), need)
			}
			return nil, ErrTimeout
		}
		if err := t.port.SetReadTimeout(left); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errFatal, t.name, err)
		}
		// Read what is there, not just what is needed: one read usually
		// takes the whole answer. Bytes past the answer are line noise
		// and are dropped with the next request's flush.
		n, err := t.port.Read(t.in[len(t.in):cap(t.in)])
		t.in = t.in[:len(t.in)+n]
		if err != nil {
			return nil, fmt.Errorf("%w: read %s: %w", errFatal, t.name, err)
		}
	}
}

func (t *rtu) wire() (int, int) { return len(t.out), len(t.in) }
func (t *rtu) close() error     { return t.port.Close() }

// tcp is Modbus TCP: one connection, reused across requests and units,
// redialled after any error (the stream position is then unknown).
type tcp struct {
	addr    string
	timeout time.Duration
	conn    net.Conn
	tid     uint16
	out, in []byte
}

func (t *tcp) do(unit byte, r *request) ([]byte, error) {
	if t.conn == nil {
		c, err := net.DialTimeout("tcp", t.addr, t.timeout)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", t.addr, err)
		}
		t.conn = c
	}
	data, err := t.exchange(unit, r)
	if err != nil && !isProtocolAnswer(err) {
		t.conn.Close()
		t.conn = nil
	}
	return data, err
}

// isProtocolAnswer: the device answered in frame; the connection is fine.
func isProtocolAnswer(err error) bool {
	var ex *ExceptionError
	return errors.As(err, &ex)
}

func (t *tcp) exchange(unit byte, r *request) ([]byte, error) {
	t.tid++
	if err := t.conn.SetDeadline(time.Now().Add(t.timeout)); err != nil {
		return nil, err
	}
	t.out = appendMBAP(t.out[:0], t.tid, unit, r)
	if _, err := t.conn.Write(t.out); err != nil {
		return nil, netErr("write", t.addr, err)
	}
	if cap(t.in) < mbapLen+maxPDU {
		t.in = make([]byte, mbapLen+maxPDU)
	}
	// Every error but an exception closes the connection, so the next
	// frame on it is the answer to this request.
	t.in = t.in[:mbapLen-1]
	if _, err := io.ReadFull(t.conn, t.in); err != nil {
		return nil, netErr("read", t.addr, err)
	}
	n, err := mbapLength(t.in)
	if err != nil {
		return nil, err
	}
	t.in = t.in[:6+n]
	if _, err := io.ReadFull(t.conn, t.in[6:]); err != nil {
		return nil, netErr("read", t.addr, err)
	}
	return parseMBAP(r, t.tid, unit, t.in)
}

func netErr(op, addr string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ErrTimeout
	}
	return fmt.Errorf("%s %s: %w", op, addr, err)
}

func (t *tcp) wire() (int, int) { return len(t.out), len(t.in) }

func (t *tcp) close() error {
	if t.conn == nil {
		return nil
	}
	err := t.conn.Close()
	t.conn = nil
	return err
}
