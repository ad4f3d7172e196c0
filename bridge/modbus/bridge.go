package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/leafbox/leafbox/bridge"
	lbserial "github.com/leafbox/leafbox/bridge/serial"
)

// commandQueue bounds the write commands waiting for the line.
const commandQueue = 16

// Bridge is one Modbus line (a serial port or a TCP address) and the
// devices polled on it, one request at a time.
type Bridge struct {
	cfg   bridge.ModbusConfig
	conn  bridge.Conn
	log   *slog.Logger
	devs  []*device
	stats bridge.Stats
	// open opens the line; replaced in tests.
	open func() (transport, error)
	// now is the clock of timestamps.
	now func() time.Time
}

// device is one unit on the line. Its fields other than mu and st belong
// to the line goroutine.
type device struct {
	cfg     bridge.ModbusDevice
	points  []bridge.ModbusPoint // defaults applied
	byName  map[string]int
	groups  []*group
	command string // empty: no writable points

	failures int
	down     bool
	retryAt  time.Time

	mu sync.Mutex
	st bridge.DeviceStatus
}

// group is one poll group of a device.
type group struct {
	dev   *device
	cfg   bridge.ModbusGroup
	idx   []int // points
	reads []span
	next  time.Time
	// cur is this poll's values and qualities; ref the last published
	// ones (the deadband reference), per point of idx.
	cur, ref   []sample
	changed    []bool
	pos        map[int]int // point index → slot in idx, cur and ref
	published  bool
	lastPub    time.Time
	subject    []byte   // group message subject
	pointSubjs [][]byte // per point subjects
	buf        []byte
}

// sample is one point's value and quality.
type sample struct {
	v value
	q string // "good" or the fault
}

// New checks cfg and builds the bridge; the line is opened by Run.
func New(cfg bridge.ModbusConfig, conn bridge.Conn, log *slog.Logger) (*Bridge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("modbus bridge %s: %w", cfg.Name, err)
	}
	cfg = cfg.WithDefaults()
	b := &Bridge{cfg: cfg, conn: conn, now: time.Now,
		log: log.With("bridge", cfg.Name, "device", b2dev(cfg))}
	b.open = b.openLine
	now := time.Now()
	for _, dc := range cfg.Devices {
		d, err := newDevice(cfg.Name, dc)
		if err != nil {
			return nil, fmt.Errorf("modbus bridge %s: %w", cfg.Name, err)
		}
		d.st.Since = now
		b.devs = append(b.devs, d)
	}
	return b, nil
}

func b2dev(c bridge.ModbusConfig) string {
	if c.TCP() {
		return c.Address
	}
	return c.Port
}

func newDevice(line string, dc bridge.ModbusDevice) (*device, error) {
	d := &device{byName: map[string]int{}}
	d.cfg = dc.WithDefaults()
	d.st = bridge.DeviceStatus{Name: dc.Name, Unit: dc.Unit, State: bridge.StateStarting}
	vars := dc.Vars(line)
	if dc.Writable() {
		cmd, err := bridge.ExpandSubject(d.cfg.CommandSubject, vars)
		if err != nil {
			return nil, err
		}
		d.command = cmd
	}
	byGroup := map[string]*group{}
	for i, pc := range dc.Points {
		p := pc.WithDefaults()
		d.points = append(d.points, p)
		d.byName[p.Name] = i
		g := byGroup[p.Group]
		if g == nil {
			g = &group{dev: d, cfg: dc.Group(p.Group)}
			byGroup[p.Group] = g
			d.groups = append(d.groups, g)
			v := bridge.Vars{"name": vars["name"], "device": vars["device"], "unit": vars["unit"], "group": g.cfg.Name, "point": ""}
			if !dc.PerPoint {
				s, err := bridge.ExpandSubject(d.cfg.Subject, v)
				if err != nil {
					return nil, err
				}
				g.subject = []byte(s)
			}
		}
		g.idx = append(g.idx, i)
		if dc.PerPoint {
			v := bridge.Vars{"name": vars["name"], "device": vars["device"], "unit": vars["unit"], "group": g.cfg.Name, "point": p.Name}
			s, err := bridge.ExpandSubject(d.cfg.PointSubject, v)
			if err != nil {
				return nil, err
			}
			g.pointSubjs = append(g.pointSubjs, []byte(s))
		}
	}
	for _, g := range d.groups {
		g.reads = plan(d.points, g.idx, d.cfg.MaxGap, d.cfg.MaxRegisters)
		g.cur = make([]sample, len(g.idx))
		g.ref = make([]sample, len(g.idx))
		g.changed = make([]bool, len(g.idx))
		g.pos = make(map[int]int, len(g.idx))
		for k, i := range g.idx {
			g.pos[i] = k
		}
	}
	return d, nil
}

// Info describes the bridge.
func (b *Bridge) Info() bridge.Info {
	return bridge.Info{Name: b.cfg.Name, Kind: "modbus", Device: b2dev(b.cfg)}
}

// Counters reports the bridge's counters: in is answers from the
// devices, out is requests to them.
func (b *Bridge) Counters() bridge.Counters { return b.stats.Snapshot() }

// Devices reports every device of the line.
func (b *Bridge) Devices() []bridge.DeviceStatus {
	out := make([]bridge.DeviceStatus, len(b.devs))
	for i, d := range b.devs {
		d.mu.Lock()
		out[i] = d.st
		d.mu.Unlock()
	}
	return out
}

// CommandSubjects are the write subjects, by device name.
func (b *Bridge) CommandSubjects() map[string]string {
	m := map[string]string{}
	for _, d := range b.devs {
		if d.command != "" {
			m[d.cfg.Name] = d.command
		}
	}
	return m
}

// openLine opens the serial port or prepares the TCP connection (dialled
// at the first request, so a TCP device that is off does not fail the
// line).
func (b *Bridge) openLine() (transport, error) {
	c := b.cfg
	if c.TCP() {
		return &tcp{addr: c.Address, timeout: c.Timeout}, nil
	}
	sc := c.SerialConfig()
	// A /dev/serial/by-id name works without udev too, as for the
	// serial bridge.
	dev, err := lbserial.ResolvePort(c.Port)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.Port, err)
	}
	if sc.RS485 != nil {
		if err := lbserial.SetRS485(dev, sc.RS485); err != nil {
			b.log.Warn("rs485 mode not set; assuming the adapter switches direction itself", "err", err)
		}
	}
	port, err := serial.Open(dev, lbserial.Mode(sc.WithDefaults()))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.Port, err)
	}
	return &rtu{port: port, name: c.Port, gap: c.FrameGap, timeout: c.Timeout}, nil
}

// Run opens the line and polls its devices until ctx ends or the line
// fails. Commands are served between polls on the same goroutine, so
// requests on the line never overlap.
func (b *Bridge) Run(ctx context.Context, up func()) error {
	t, err := b.open()
	if err != nil {
		return err
	}
	defer t.close()
	cmds := make(chan command, commandQueue)
	done := make(chan struct{})
	var subs []bridge.Subscription
	defer func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
		close(done)
		b.failPending(cmds)
	}()
	for _, d := range b.devs {
		if d.command == "" {
			continue
		}
		s, err := b.conn.Subscribe(d.command, "", b.onCommand(d, cmds, done))
		if err != nil {
			return fmt.Errorf("subscribe to %s: %w", d.command, err)
		}
		subs = append(subs, s)
	}
	start := time.Now()
	for _, d := range b.devs {
		d.down, d.failures = false, 0
		for _, g := range d.groups {
			g.next = start
		}
	}
	up()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		g, at := b.nextDue()
		timer.Reset(time.Until(at))
		select {
		case <-ctx.Done():
			return nil
		case c := <-cmds:
			if err := b.serve(t, c); err != nil {
				return err
			}
		case <-timer.C:
			if err := b.poll(t, g); err != nil {
				return err
			}
		}
	}
}

// nextDue finds the group to poll next: the earliest, a down device's
// groups not before its retry time.
func (b *Bridge) nextDue() (*group, time.Time) {
	var best *group
	var at time.Time
	for _, d := range b.devs {
		for _, g := range d.groups {
			t := g.next
			if d.down && t.Before(d.retryAt) {
				t = d.retryAt
			}
			if best == nil || t.Before(at) {
				best, at = g, t
			}
		}
	}
	return best, at
}

// poll reads one group, publishes what the publish mode asks for and
// updates the device's health. Only a failed line is returned.
func (b *Bridge) poll(t transport, g *group) error {
	d := g.dev
	now := time.Now()
	g.next = g.next.Add(g.cfg.Interval)
	if g.next.Before(now) {
		g.next = now.Add(g.cfg.Interval)
	}
	answered, failed := false, false
	var lastErr error
	pos := g.pos
	for si := range g.reads {
		sp := &g.reads[si]
		data, err := b.request(t, d, &sp.req)
		if errors.Is(err, errFatal) {
			return err
		}
		if err != nil {
			lastErr = err
			failed = true
			var ex *ExceptionError
			if errors.As(err, &ex) || errors.Is(err, ErrCRC) || errors.Is(err, ErrMalformed) {
				answered = true // something answered; the unit is there
			}
			q := quality(err)
			for _, i := range sp.points {
				g.cur[pos[i]] = sample{q: q}
			}
			if !answered {
				// A unit that did not answer one read will not answer
				// the next: mark the rest and free the line rather than
				// wait out a timeout for each.
				for _, rest := range g.reads[si+1:] {
					for _, i := range rest.points {
						g.cur[pos[i]] = sample{q: q}
					}
				}
				break
			}
			continue
		}
		answered = true
		var scratch [8]byte
		for _, i := range sp.points {
			p := &d.points[i]
			off := p.Address - int(sp.req.addr)
			var v value
			var derr error
			if p.Table.Bits() {
				v = value{kind: kindBool, b: bit(data, off)}
			} else {
				v, derr = decodeRegisters(p, data[2*off:2*(off+p.Registers())], scratch[:0])
			}
			if derr != nil {
				g.cur[pos[i]] = sample{q: "invalid"}
				continue
			}
			g.cur[pos[i]] = sample{v: v, q: "good"}
		}
	}
	d.mu.Lock()
	d.st.Polls++
	d.mu.Unlock()
	b.health(d, answered, failed, lastErr)
	b.publish(g, now)
	return nil
}

// request sends one request and counts its outcome on the device.
func (b *Bridge) request(t transport, d *device, r *request) ([]byte, error) {
	data, err := t.do(byte(d.cfg.Unit), r)
	out, in := t.wire()
	b.stats.OutMsgs.Add(1)
	b.stats.OutBytes.Add(int64(out))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Requests++
	switch {
	case err == nil:
		b.stats.InMsgs.Add(1)
		b.stats.InBytes.Add(int64(in))
	case isProtocolAnswer(err):
		b.stats.InMsgs.Add(1)
		b.stats.InBytes.Add(int64(in))
		d.st.Exceptions++
	case errors.Is(err, ErrTimeout):
		b.stats.Timeouts.Add(1)
		d.st.Timeouts++
	case errors.Is(err, ErrCRC):
		b.stats.Malformed.Add(1)
		d.st.CRCErrors++
	case errors.Is(err, ErrMalformed):
		b.stats.Malformed.Add(1)
		d.st.Malformed++
	default:
		d.st.IOErrors++
	}
	return data, err
}

// quality is a point's quality flag after a failed read.
func quality(err error) string {
	var ex *ExceptionError
	switch {
	case errors.As(err, &ex):
		return "exception"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrCRC):
		return "crc"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "io"
}

// health updates a device after a poll: up when it answered anything;
// down with doubling back-off when it answered nothing. State changes
// are logged once, after the device's lock is released.
func (b *Bridge) health(d *device, answered, failed bool, err error) {
	now := time.Now()
	var delay time.Duration
	d.mu.Lock()
	was := d.st.State
	if err != nil {
		d.st.LastError = err.Error()
	}
	if answered {
		if was != bridge.StateUp {
			d.st.Since = now
		}
		d.st.State, d.st.RetryAt = bridge.StateUp, time.Time{}
		d.down, d.failures = false, 0
		if !failed {
			d.st.LastError = ""
		}
	} else {
		delay = d.cfg.RetryMin << min(d.failures, 16)
		if delay > d.cfg.RetryMax || delay <= 0 {
			delay = d.cfg.RetryMax
		}
		d.failures++
		d.down, d.retryAt = true, now.Add(delay)
		if was != bridge.StateDown {
			d.st.Since = now
		}
		d.st.State, d.st.RetryAt = bridge.StateDown, d.retryAt
	}
	d.mu.Unlock()
	switch {
	case answered && was != bridge.StateUp:
		b.log.Info("modbus device up", "unit", d.cfg.Unit, "name", d.cfg.Name)
	case !answered && was != bridge.StateDown:
		b.log.Warn("modbus device not answering, retrying with back-off", "unit", d.cfg.Unit, "name", d.cfg.Name, "err", err, "retry_in", delay)
	}
}

// publish sends the group's values as its publish mode asks.
func (b *Bridge) publish(g *group, now time.Time) {
	d := g.dev
	mode := g.cfg.Publish
	heartbeat := mode == bridge.PublishBoth && now.Sub(g.lastPub) >= g.cfg.Heartbeat
	all := mode == bridge.PublishPoll || heartbeat || !g.published
	any := false
	changed := g.changed
	for k, i := range g.idx {
		changed[k] = false
		db := *g.cfg.Deadband
		if p := d.points[i]; p.Deadband != nil {
			db = *p.Deadband
		}
		c, r := g.cur[k], g.ref[k]
		if c.q != r.q || c.v.changed(r.v, db) {
			changed[k] = true
			any = true
		}
	}
	if !all && !any {
		return
	}
	ts := now.UTC()
	if len(g.pointSubjs) > 0 {
		for k, i := range g.idx {
			if !all && !changed[k] {
				continue
			}
			g.ref[k] = g.cur[k]
			b.send(d, g.pointSubjs[k], g.pointJSON(ts, &d.points[i], g.cur[k]))
		}
	} else {
		for k := range g.idx {
			if all || changed[k] {
				g.ref[k] = g.cur[k]
			}
		}
		b.send(d, g.subject, g.groupJSON(ts))
	}
	g.published, g.lastPub = true, now
}

func (b *Bridge) send(d *device, subject, data []byte) {
	if err := b.conn.Publish(bridge.Msg{Subject: subject, Data: data}); err != nil {
		b.stats.Errors.Add(1)
		return
	}
	d.mu.Lock()
	d.st.Published++
	d.mu.Unlock()
}

// groupJSON is {"ts":...,"device":...,"group":...,"values":{...},"quality":{...}}.
func (g *group) groupJSON(ts time.Time) []byte {
	d := g.dev
	b := append(g.buf[:0], `{"ts":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","device":`...)
	b = appendJSONString(b, d.cfg.Name)
	b = append(b, `,"group":`...)
	b = appendJSONString(b, g.cfg.Name)
	b = append(b, `,"values":{`...)
	for k, i := range g.idx {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, d.points[i].Name)
		b = append(b, ':')
		b = g.cur[k].v.appendJSON(b)
	}
	b = append(b, `},"quality":{`...)
	for k, i := range g.idx {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, d.points[i].Name)
		b = append(b, ':')
		b = appendJSONString(b, g.cur[k].q)
	}
	b = append(b, "}}"...)
	g.buf = b
	return b
}

// pointJSON is {"ts":...,"device":...,"point":...,"value":...,"quality":...,"unit":...}.
func (g *group) pointJSON(ts time.Time, p *bridge.ModbusPoint, s sample) []byte {
	b := append(g.buf[:0], `{"ts":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","device":`...)
	b = appendJSONString(b, g.dev.cfg.Name)
	b = append(b, `,"point":`...)
	b = appendJSONString(b, p.Name)
	b = append(b, `,"value":`...)
	b = s.v.appendJSON(b)
	b = append(b, `,"quality":`...)
	b = appendJSONString(b, s.q)
	if p.Unit != "" {
		b = append(b, `,"unit":`...)
		b = appendJSONString(b, p.Unit)
	}
	b = append(b, '}')
	g.buf = b
	return b
}
