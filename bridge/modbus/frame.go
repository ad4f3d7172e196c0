package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Function codes the bridge sends (Modbus application protocol 1.1b3, 6).
const (
	fcReadCoils          = 0x01
	fcReadDiscrete       = 0x02
	fcReadHolding        = 0x03
	fcReadInput          = 0x04
	fcWriteCoil          = 0x05
	fcWriteRegister      = 0x06
	fcWriteCoils         = 0x0F
	fcWriteRegisters     = 0x10
	maxPDU               = 253
	maxRTUFrame          = 256
	mbapLen              = 7
	maxWriteRegisters    = 123
	maxWriteCoils        = 1968
	exceptionFunctionBit = 0x80
)

// Errors of the Modbus codec and transports. Each is one fault class in
// the per-device counters.
var (
	// ErrTimeout: no (complete) response within the request timeout.
	ErrTimeout = errors.New("modbus: timeout")
	// ErrCRC: an RTU frame whose CRC does not match.
	ErrCRC = errors.New("modbus: bad CRC")
	// ErrMalformed: a response that is not the answer to the request
	// (wrong unit, function, length, transaction).
	ErrMalformed = errors.New("modbus: malformed response")
)

// ExceptionError is a Modbus exception response.
type ExceptionError struct {
	Function byte
	Code     byte
}

var exceptionNames = map[byte]string{
	1: "illegal function", 2: "illegal data address", 3: "illegal data value",
	4: "server device failure", 5: "acknowledge", 6: "server device busy",
	8: "memory parity error", 10: "gateway path unavailable", 11: "gateway target failed to respond",
}

func (e *ExceptionError) Error() string {
	name := exceptionNames[e.Code]
	if name == "" {
		name = "unknown"
	}
	return fmt.Sprintf("modbus exception %d (%s) to function %d", e.Code, name, e.Function)
}

// request is one PDU to send and what its answer must look like.
type request struct {
	fc   byte
	addr uint16
	qty  uint16 // registers or bits read or written
	data []byte // values of a write: 2 bytes for FC 5/6, packed for 15/16
}

// appendPDU appends the request PDU.
func (r *request) appendPDU(b []byte) []byte {
	b = append(b, r.fc)
	b = binary.BigEndian.AppendUint16(b, r.addr)
	switch r.fc {
	case fcWriteCoil, fcWriteRegister:
		return append(b, r.data[:2]...)
	case fcWriteCoils, fcWriteRegisters:
		b = binary.BigEndian.AppendUint16(b, r.qty)
		b = append(b, byte(len(r.data)))
		return append(b, r.data...)
	}
	return binary.BigEndian.AppendUint16(b, r.qty)
}

// respLen is the PDU length of a normal response, or -1 when unknown.
func (r *request) respLen() int {
	switch r.fc {
	case fcReadCoils, fcReadDiscrete:
		return 2 + (int(r.qty)+7)/8
	case fcReadHolding, fcReadInput:
		return 2 + 2*int(r.qty)
	}
	return 5
}

// checkPDU checks a response PDU against the request and returns the data
// of a read (the bytes after the byte count), or nil for a write.
func (r *request) checkPDU(pdu []byte) ([]byte, error) {
	if len(pdu) < 2 {
		return nil, fmt.Errorf("%w: %d byte PDU", ErrMalformed, len(pdu))
	}
	if pdu[0] == r.fc|exceptionFunctionBit {
		if len(pdu) != 2 {
			return nil, fmt.Errorf("%w: exception PDU of %d bytes", ErrMalformed, len(pdu))
		}
		return nil, &ExceptionError{Function: r.fc, Code: pdu[1]}
	}
	if pdu[0] != r.fc {
		return nil, fmt.Errorf("%w: function %d in answer to %d", ErrMalformed, pdu[0], r.fc)
	}
	if want := r.respLen(); len(pdu) != want {
		return nil, fmt.Errorf("%w: function %d: %d byte PDU, want %d", ErrMalformed, r.fc, len(pdu), want)
	}
	switch r.fc {
	case fcReadCoils, fcReadDiscrete, fcReadHolding, fcReadInput:
		if int(pdu[1]) != len(pdu)-2 {
			return nil, fmt.Errorf("%w: byte count %d of %d data bytes", ErrMalformed, pdu[1], len(pdu)-2)
		}
		return pdu[2:], nil
	case fcWriteCoil, fcWriteRegister:
		if binary.BigEndian.Uint16(pdu[1:]) != r.addr || pdu[3] != r.data[0] || pdu[4] != r.data[1] {
			return nil, fmt.Errorf("%w: write echo differs from the request", ErrMalformed)
		}
	default:
		if binary.BigEndian.Uint16(pdu[1:]) != r.addr || binary.BigEndian.Uint16(pdu[3:]) != r.qty {
			return nil, fmt.Errorf("%w: write answer names other registers", ErrMalformed)
		}
	}
	return nil, nil
}

// crc16 is the Modbus RTU CRC (polynomial 0xA001 reflected, init 0xFFFF).
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// appendRTU appends an RTU frame: unit, PDU, CRC (low byte first).
func appendRTU(b []byte, unit byte, r *request) []byte {
	start := len(b)
	b = append(b, unit)
	b = r.appendPDU(b)
	return binary.LittleEndian.AppendUint16(b, crc16(b[start:]))
}

// rtuNeed says how many bytes the RTU response to r needs in all, given
// the bytes received so far (at least 2 are needed to tell).
func rtuNeed(r *request, got []byte) int {
	if len(got) < 2 {
		return 5
	}
	if got[1] == r.fc|exceptionFunctionBit {
		return 5
	}
	if got[1] != r.fc {
		return len(got) // not an answer: stop reading, the check reports it
	}
	return 1 + r.respLen() + 2
}

// parseRTU checks an RTU response frame and returns the read data.
func parseRTU(r *request, unit byte, frame []byte) ([]byte, error) {
	if len(frame) < 4 {
		return nil, fmt.Errorf("%w: %d byte frame", ErrMalformed, len(frame))
	}
	n := len(frame) - 2
	if crc16(frame[:n]) != binary.LittleEndian.Uint16(frame[n:]) {
		return nil, ErrCRC
	}
	if frame[0] != unit {
		return nil, fmt.Errorf("%w: unit %d answered for %d", ErrMalformed, frame[0], unit)
	}
	return r.checkPDU(frame[1:n])
}

// appendMBAP appends a Modbus TCP frame: the MBAP header (transaction,
// protocol 0, length, unit) and the PDU.
func appendMBAP(b []byte, tid uint16, unit byte, r *request) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, tid)
	b = append(b, 0, 0, 0, 0, unit)
	b = r.appendPDU(b)
	binary.BigEndian.PutUint16(b[start+4:], uint16(len(b)-start-6))
	return b
}

// mbapLength returns the length of the rest of a TCP frame (unit + PDU)
// from its header.
func mbapLength(hdr []byte) (int, error) {
	if binary.BigEndian.Uint16(hdr[2:]) != 0 {
		return 0, fmt.Errorf("%w: protocol id %d", ErrMalformed, binary.BigEndian.Uint16(hdr[2:]))
	}
	n := int(binary.BigEndian.Uint16(hdr[4:]))
	if n < 2 || n > maxPDU+1 {
		return 0, fmt.Errorf("%w: MBAP length %d", ErrMalformed, n)
	}
	return n, nil
}

// parseMBAP checks a whole TCP response frame and returns the read data.
func parseMBAP(r *request, tid uint16, unit byte, frame []byte) ([]byte, error) {
	if len(frame) < mbapLen+1 {
		return nil, fmt.Errorf("%w: %d byte frame", ErrMalformed, len(frame))
	}
	n, err := mbapLength(frame)
	if err != nil {
		return nil, err
	}
	if n != len(frame)-6 {
		return nil, fmt.Errorf("%w: MBAP length %d of a %d byte frame", ErrMalformed, n, len(frame))
	}
	if binary.BigEndian.Uint16(frame) != tid {
		return nil, fmt.Errorf("%w: transaction %d, want %d", ErrMalformed, binary.BigEndian.Uint16(frame), tid)
	}
	if frame[6] != unit {
		return nil, fmt.Errorf("%w: unit %d answered for %d", ErrMalformed, frame[6], unit)
	}
	return r.checkPDU(frame[mbapLen:])
}
