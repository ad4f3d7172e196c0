package modbus

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/leafbox/leafbox/bridge"
)

// CodeDeviceError is the reply code of a write the device refused with
// an exception or answered wrongly (a bad gateway, in HTTP's terms).
const CodeDeviceError = 502

// command is a write request copied off the publisher's goroutine.
type command struct {
	dev   *device
	data  []byte
	reply []byte // nil: no answer wanted
}

// Request is the body of a write command. Values names points; or
// Table, Address and Registers (holding) or Coils (coil) write raw data,
// which must lie within writable points of the map.
type Request struct {
	Values    map[string]any `json:"values,omitempty"`
	Table     string         `json:"table,omitempty"`
	Address   *int           `json:"address,omitempty"`
	Registers []uint16       `json:"registers,omitempty"`
	Coils     []bool         `json:"coils,omitempty"`
}

// onCommand runs on the publisher's goroutine: it copies the message and
// queues it for the line, never blocking.
func (b *Bridge) onCommand(d *device, cmds chan<- command, done <-chan struct{}) func(bridge.Msg) {
	return func(m bridge.Msg) {
		c := command{dev: d, data: bytes.Clone(m.Data)}
		if len(m.Reply) > 0 {
			c.reply = bytes.Clone(m.Reply)
		}
		select {
		case <-done:
			b.reject(c, bridge.CodeUnavailable, "line "+b2dev(b.cfg)+" is closed")
			return
		default:
		}
		select {
		case cmds <- c:
		default:
			b.reject(c, bridge.CodeUnavailable, "line "+b2dev(b.cfg)+" is busy: too many queued commands")
		}
	}
}

// reject counts a refused or failed command and answers it.
func (b *Bridge) reject(c command, code int, text string) {
	b.stats.Errors.Add(1)
	c.dev.mu.Lock()
	c.dev.st.WriteErrors++
	c.dev.mu.Unlock()
	if c.reply == nil {
		return
	}
	body := append([]byte(`{"ok":false,"error":`), appendJSONString(nil, text)...)
	body = append(body, '}')
	if err := b.conn.Publish(bridge.Msg{Subject: c.reply, Header: bridge.ErrorHeader(code, text), Data: body}); err != nil {
		b.log.Warn("cannot send an error reply", "err", err)
	}
}

// failPending answers the commands still queued when the session ends.
func (b *Bridge) failPending(cmds chan command) {
	for {
		select {
		case c := <-cmds:
			b.reject(c, bridge.CodeUnavailable, "line "+b2dev(b.cfg)+" closed")
		default:
			return
		}
	}
}

// write is one checked request to send.
type write struct {
	what string // point name or raw range, for the reply
	req  request
}

// serve checks and sends one command. Only a failed line is returned.
func (b *Bridge) serve(t transport, c command) error {
	b.stats.Requests.Add(1)
	ws, err := c.dev.plan(c.data)
	if err != nil {
		b.reject(c, bridge.CodeBadRequest, err.Error())
		return nil
	}
	var done []string
	for i := range ws {
		_, err := b.request(t, c.dev, &ws[i].req)
		if errors.Is(err, errFatal) {
			b.reject(c, bridge.CodeUnavailable, err.Error())
			return err
		}
		if err != nil {
			code := CodeDeviceError
			if errors.Is(err, ErrTimeout) {
				code = bridge.CodeTimeout
			}
			text := fmt.Sprintf("write %s: %v", ws[i].what, err)
			if len(done) > 0 {
				text += fmt.Sprintf(" (already written: %v)", done)
			}
			b.reject(c, code, text)
			return nil
		}
		done = append(done, ws[i].what)
		c.dev.mu.Lock()
		c.dev.st.Writes++
		c.dev.mu.Unlock()
	}
	if c.reply != nil {
		body := []byte(`{"ok":true,"written":[`)
		for i, w := range done {
			if i > 0 {
				body = append(body, ',')
			}
			body = appendJSONString(body, w)
		}
		body = append(body, "]}"...)
		if err := b.conn.Publish(bridge.Msg{Subject: c.reply, Data: body}); err != nil {
			b.stats.Errors.Add(1)
		}
	}
	return nil
}

// plan parses a command and checks it against the map: every point
// named exists and is writable, every value fits its type and range, a
// raw range lies within writable points. Nothing is sent when any part
// is wrong.
func (d *device) plan(data []byte) ([]write, error) {
	var r Request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("bad command: %v", err)
	}
	raw := r.Address != nil || r.Table != "" || r.Registers != nil || r.Coils != nil
	if raw == (len(r.Values) > 0) {
		return nil, errors.New("bad command: give either values or table, address and registers or coils")
	}
	if raw {
		return d.planRaw(&r)
	}
	names := make([]string, 0, len(r.Values))
	for n := range r.Values {
		names = append(names, n)
	}
	// Map order is random; write in the order of the register map.
	sortByIndex(names, d.byName)
	var ws []write
	for _, name := range names {
		i, ok := d.byName[name]
		if !ok {
			return nil, fmt.Errorf("no point %q", name)
		}
		p := &d.points[i]
		if !p.Writable {
			return nil, fmt.Errorf("point %s is not writable", name)
		}
		v := r.Values[name]
		if p.Table == bridge.TableCoil {
			on, err := coilValue(name, v)
			if err != nil {
				return nil, err
			}
			ws = append(ws, write{what: name, req: coilRequest(p.Address, []bool{on})})
			continue
		}
		regs, err := encodeRegisters(p, v)
		if err != nil {
			return nil, err
		}
		ws = append(ws, write{what: name, req: registerRequest(p.Address, regs)})
	}
	return ws, nil
}

func sortByIndex(names []string, idx map[string]int) {
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && idx[names[j]] < idx[names[j-1]]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
}

func coilValue(name string, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case float64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	}
	return false, fmt.Errorf("%w: coil %s takes true, false, 0 or 1", ErrValue, name)
}

// planRaw checks a raw write: every register or coil must belong to a
// writable point of that table.
func (d *device) planRaw(r *Request) ([]write, error) {
	if r.Address == nil || *r.Address < 0 || *r.Address > 65535 {
		return nil, errors.New("bad command: raw write needs an address 0 to 65535")
	}
	addr := *r.Address
	var table bridge.ModbusTable
	var n int
	switch r.Table {
	case string(bridge.TableHolding):
		table, n = bridge.TableHolding, len(r.Registers)
		if r.Coils != nil || n == 0 || n > maxWriteRegisters {
			return nil, fmt.Errorf("bad command: holding takes 1 to %d registers", maxWriteRegisters)
		}
	case string(bridge.TableCoil):
		table, n = bridge.TableCoil, len(r.Coils)
		if r.Registers != nil || n == 0 || n > maxWriteCoils {
			return nil, fmt.Errorf("bad command: coil takes 1 to %d coils", maxWriteCoils)
		}
	default:
		return nil, errors.New(`bad command: raw writes take table "holding" or "coil"`)
	}
	if addr+n > 65536 {
		return nil, errors.New("bad command: range runs past address 65535")
	}
	for a := addr; a < addr+n; a++ {
		if !d.writableAt(table, a) {
			return nil, fmt.Errorf("%s %d is not within a writable point", table, a)
		}
	}
	what := fmt.Sprintf("%s %d+%d", table, addr, n)
	if table == bridge.TableCoil {
		return []write{{what: what, req: coilRequest(addr, r.Coils)}}, nil
	}
	regs := make([]byte, 0, 2*n)
	for _, v := range r.Registers {
		regs = binary.BigEndian.AppendUint16(regs, v)
	}
	return []write{{what: what, req: registerRequest(addr, regs)}}, nil
}

func (d *device) writableAt(t bridge.ModbusTable, a int) bool {
	for i := range d.points {
		p := &d.points[i]
		if p.Writable && p.Table == t && a >= p.Address && a < p.Address+p.Registers() {
			return true
		}
	}
	return false
}

// coilRequest is FC 5 for one coil, FC 15 for several.
func coilRequest(addr int, on []bool) request {
	if len(on) == 1 {
		v := []byte{0, 0}
		if on[0] {
			v[0] = 0xFF
		}
		return request{fc: fcWriteCoil, addr: uint16(addr), qty: 1, data: v}
	}
	packed := make([]byte, (len(on)+7)/8)
	for i, b := range on {
		if b {
			packed[i/8] |= 1 << (i % 8)
		}
	}
	return request{fc: fcWriteCoils, addr: uint16(addr), qty: uint16(len(on)), data: packed}
}

// registerRequest is FC 6 for one register, FC 16 for several.
func registerRequest(addr int, regs []byte) request {
	if len(regs) == 2 {
		return request{fc: fcWriteRegister, addr: uint16(addr), qty: 1, data: regs}
	}
	return request{fc: fcWriteRegisters, addr: uint16(addr), qty: uint16(len(regs) / 2), data: regs}
}
