package serial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"

	"github.com/leafbox/leafbox/bridge"
)

// commandQueue bounds the commands waiting for the port; more are refused.
const commandQueue = 16

// logEvery rate-limits the logs of dropped frames and failed publishes;
// every one of them is counted in the bridge's counters.
const logEvery = 5 * time.Second

// readBuffer is the size of one read from the port.
const readBuffer = 4096

// Bridge is one serial port bridged onto subjects.
type Bridge struct {
	cfg     bridge.SerialConfig
	conn    bridge.Conn
	log     *slog.Logger
	codec   *Codec
	subject []byte
	command string // empty: read only
	stats   bridge.Stats
	// warnedRS485 makes the "no RS-485 mode" warning once per bridge.
	warnedRS485 atomic.Bool
}

// New checks cfg and builds the bridge; the port is opened by Run.
func New(cfg bridge.SerialConfig, conn bridge.Conn, log *slog.Logger) (*Bridge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("serial bridge %s: %w", cfg.Port, err)
	}
	cfg = cfg.WithDefaults()
	codec, err := NewCodec(cfg.Framing)
	if err != nil {
		return nil, fmt.Errorf("serial bridge %s: %w", cfg.Name, err)
	}
	vars := cfg.Vars()
	subj, err := bridge.ExpandSubject(cfg.Subject, vars)
	if err != nil {
		return nil, fmt.Errorf("serial bridge %s: subject: %w", cfg.Name, err)
	}
	var cmd string
	if cfg.CommandSubject != "" {
		if cmd, err = bridge.ExpandSubject(cfg.CommandSubject, vars); err != nil {
			return nil, fmt.Errorf("serial bridge %s: command_subject: %w", cfg.Name, err)
		}
	}
	return &Bridge{
		cfg: cfg, conn: conn, codec: codec, subject: []byte(subj), command: cmd,
		log: log.With("bridge", cfg.Name, "port", cfg.Port),
	}, nil
}

// Info describes the bridge.
func (b *Bridge) Info() bridge.Info {
	return bridge.Info{Name: b.cfg.Name, Kind: "serial", Device: b.cfg.Port}
}

// Counters reports the bridge's counters.
func (b *Bridge) Counters() bridge.Counters { return b.stats.Snapshot() }

// Subject is the subject inbound frames are published to.
func (b *Bridge) Subject() string { return string(b.subject) }

// CommandSubject is the subject of commands, empty for a read-only bridge.
func (b *Bridge) CommandSubject() string { return b.command }

// Run opens the port and bridges it until ctx ends or the port fails.
func (b *Bridge) Run(ctx context.Context, up func()) error {
	port, err := b.open()
	if err != nil {
		return err
	}
	s := &session{
		b:      b,
		port:   port,
		dec:    b.codec.NewDecoder(),
		cmds:   make(chan command, commandQueue),
		frames: make(chan []byte, 1),
		done:   make(chan struct{}),
	}
	return s.run(ctx, up)
}

// open configures RS-485 mode if asked, then opens the port (a
// /dev/serial/by-id name found through sysfs where udev did not make it;
// see resolvePort).
func (b *Bridge) open() (serial.Port, error) {
	c := b.cfg
	dev, err := ResolvePort(c.Port)
	if err != nil {
		return nil, err
	}
	if c.RS485 != nil {
		if err := SetRS485(dev, c.RS485); err != nil {
			if !errors.Is(err, ErrNoRS485) {
				return nil, err
			}
			if !b.warnedRS485.Swap(true) {
				b.log.Warn("rs485 requested but the port's driver has no RS-485 mode; assuming the adapter switches direction itself", "err", err)
			}
		}
	}
	port, err := serial.Open(dev, Mode(c))
	if err != nil {
		if dev != c.Port {
			return nil, fmt.Errorf("open %s (%s): %w", c.Port, dev, err)
		}
		return nil, fmt.Errorf("open %s: %w", c.Port, err)
	}
	timeout := serial.NoTimeout
	if gap := b.codec.IdleGap(); gap > 0 {
		timeout = gap
	}
	if err := port.SetReadTimeout(timeout); err != nil {
		port.Close()
		return nil, fmt.Errorf("set read timeout on %s: %w", c.Port, err)
	}
	return port, nil
}

// Mode is the go.bug.st/serial mode of a port's settings (defaults
// applied by the caller).
func Mode(c bridge.SerialConfig) *serial.Mode {
	return &serial.Mode{
		BaudRate: c.Baud,
		DataBits: c.DataBits,
		Parity:   parities[c.Parity],
		StopBits: stopBits[c.StopBits],
	}
}

var parities = map[bridge.Parity]serial.Parity{
	bridge.ParityNone: serial.NoParity, bridge.ParityOdd: serial.OddParity,
	bridge.ParityEven: serial.EvenParity, bridge.ParityMark: serial.MarkParity,
	bridge.ParitySpace: serial.SpaceParity,
}

var stopBits = map[bridge.StopBits]serial.StopBits{
	bridge.StopBits1: serial.OneStopBit, bridge.StopBits1Half: serial.OnePointFiveStopBits,
	bridge.StopBits2: serial.TwoStopBits,
}

// command is a message from the command subject, copied off the
// publisher's goroutine.
type command struct {
	data  []byte
	reply []byte // nil for a plain write
}

// session is one open port.
type session struct {
	b    *Bridge
	port serial.Port
	dec  Decoder

	cmds chan command
	// frames hands the first frame after a request's write to the writer;
	// waiting says that a request wants one.
	frames  chan []byte
	waiting atomic.Bool
	done    chan struct{}

	lastLog time.Time // reader goroutine only
}

func (s *session) run(ctx context.Context, up func()) error {
	b := s.b
	var sub bridge.Subscription
	if b.command != "" {
		var err error
		sub, err = b.conn.Subscribe(b.command, "", s.onCommand)
		if err != nil {
			s.port.Close()
			return fmt.Errorf("subscribe to %s: %w", b.command, err)
		}
	}
	var wg sync.WaitGroup
	readErr := make(chan error, 1)
	wg.Go(func() { readErr <- s.read() })
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.write()
	}()
	up()

	var err error
	select {
	case <-ctx.Done():
	case err = <-readErr:
	}
	if sub != nil {
		sub.Unsubscribe()
	}
	close(s.done)
	s.port.Close()
	wg.Wait() // closing the port ends a blocked read
	// A write blocked on a device that takes nothing (flow control held)
	// is not ended by close(2); it must not hold up shutdown or a restart.
	select {
	case <-writerDone:
	case <-time.After(stuckWriteGrace):
		b.log.Warn("serial write still blocked after closing the port; abandoning it", "port", b.cfg.Port)
	}
	s.failPending()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// read decodes and publishes until the port fails or is closed.
func (s *session) read() error {
	buf := make([]byte, readBuffer)
	idle := s.b.codec.IdleGap() > 0
	pending := false // bytes arrived since the last Idle
	for {
		n, err := s.port.Read(buf)
		if n > 0 {
			s.dec.Decode(buf[:n], s)
			pending = true
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", s.b.cfg.Port, err)
		}
		if n == 0 && idle && pending {
			s.dec.Idle(s)
			pending = false
		}
	}
}

// Frame publishes a decoded frame and hands it to a waiting request.
func (s *session) Frame(p []byte) {
	b := s.b
	b.stats.InMsgs.Add(1)
	b.stats.InBytes.Add(int64(len(p)))
	if err := b.conn.Publish(bridge.Msg{Subject: b.subject, Data: p}); err != nil {
		b.stats.Errors.Add(1)
		s.logLimited("cannot publish a frame", "subject", string(b.subject), "err", err)
	}
	if s.waiting.Load() {
		select {
		case s.frames <- append([]byte(nil), p...):
		default:
		}
	}
}

// Drop counts and logs a frame the decoder dropped.
func (s *session) Drop(reason DropReason, n int) {
	st := &s.b.stats
	if reason == DropOversize {
		st.Oversize.Add(1)
	} else {
		st.Malformed.Add(1)
	}
	s.logLimited("frame dropped", "reason", reason.String(), "bytes", n,
		"max_frame", s.b.cfg.Framing.MaxFrame, "oversize", st.Oversize.Load(), "malformed", st.Malformed.Load())
}

// logLimited logs at most once per logEvery; the counters hold the rest.
func (s *session) logLimited(msg string, args ...any) {
	if now := time.Now(); now.Sub(s.lastLog) >= logEvery {
		s.lastLog = now
		s.b.log.Warn(msg, args...)
	}
}

// onCommand runs on the publisher's goroutine: it copies the message and
// queues it, never blocking.
func (s *session) onCommand(m bridge.Msg) {
	c := command{data: append([]byte(nil), m.Data...)}
	if len(m.Reply) > 0 {
		c.reply = append([]byte(nil), m.Reply...)
	}
	select {
	case <-s.done:
		s.reject(c, bridge.CodeUnavailable, "port "+s.b.cfg.Port+" is closed")
		return
	default:
	}
	select {
	case s.cmds <- c:
	default:
		s.reject(c, bridge.CodeUnavailable, "port "+s.b.cfg.Port+" is busy: too many queued commands")
	}
}

// reject counts a command that was not written and answers it if it was a
// request.
func (s *session) reject(c command, code int, text string) {
	s.b.stats.Errors.Add(1)
	if c.reply != nil {
		s.reply(c.reply, code, text)
	}
}

func (s *session) reply(to []byte, code int, text string) {
	if err := bridge.ReplyError(s.b.conn, to, code, text); err != nil {
		s.b.log.Warn("cannot send an error reply", "err", err)
	}
}

// write serves queued commands one at a time.
func (s *session) write() {
	var out []byte
	for {
		select {
		case <-s.done:
			return
		case c := <-s.cmds:
			out = s.serve(c, out[:0])
		}
	}
}

// serve writes one command and, for a request, waits for its answer.
func (s *session) serve(c command, out []byte) []byte {
	b := s.b
	isReq := c.reply != nil
	if isReq {
		b.stats.Requests.Add(1)
		// A frame left over from an earlier request is not this answer.
		select {
		case <-s.frames:
		default:
		}
		s.waiting.Store(true)
		defer s.waiting.Store(false)
	}
	if len(c.data) > 0 || !isReq {
		var err error
		out, err = b.codec.Append(out, c.data)
		if err != nil {
			s.reject(c, bridge.CodeBadRequest, err.Error())
			return out
		}
		if err := writeAll(s.port, out); err != nil {
			s.reject(c, bridge.CodeUnavailable, fmt.Sprintf("write %s: %v", b.cfg.Port, err))
			return out
		}
		b.stats.OutMsgs.Add(1)
		b.stats.OutBytes.Add(int64(len(out)))
	}
	if !isReq {
		return out
	}
	t := time.NewTimer(b.cfg.RequestTimeout)
	defer t.Stop()
	select {
	case f := <-s.frames:
		if err := b.conn.Publish(bridge.Msg{Subject: c.reply, Data: f}); err != nil {
			b.stats.Errors.Add(1)
			b.log.Warn("cannot reply", "err", err)
		}
	case <-t.C:
		b.stats.Timeouts.Add(1)
		s.reply(c.reply, bridge.CodeTimeout, fmt.Sprintf("timeout: no frame from %s within %v", b.cfg.Port, b.cfg.RequestTimeout))
	case <-s.done:
		s.reply(c.reply, bridge.CodeUnavailable, "port "+b.cfg.Port+" closed")
	}
	return out
}

// failPending answers the requests still queued when the session ended.
func (s *session) failPending() {
	for {
		select {
		case c := <-s.cmds:
			s.reject(c, bridge.CodeUnavailable, "port "+s.b.cfg.Port+" closed")
		default:
			return
		}
	}
}

// stuckWriteGrace is how long a stopping session waits for a blocked
// write before it gives up on it.
const stuckWriteGrace = 2 * time.Second

func writeAll(p serial.Port, b []byte) error {
	for len(b) > 0 {
		n, err := p.Write(b)
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("wrote nothing")
		}
		b = b[n:]
	}
	return nil
}
