package gpio

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/leafbox/leafbox/bridge"
)

// edgePoll bounds one wait for an edge, so the input loop notices that the
// bridge is stopping.
const edgePoll = 250 * time.Millisecond

// requestQueue bounds the commands waiting to be served.
const requestQueue = 16

// Bridge is one GPIO line bridged onto subjects.
type Bridge struct {
	cfg     bridge.GPIOConfig
	opener  Opener
	conn    bridge.Conn
	log     *slog.Logger
	event   []byte // subject of changes; nil for an output without one
	command string
	stats   bridge.Stats
}

// New checks cfg and builds the bridge; the line is opened by Run.
func New(cfg bridge.GPIOConfig, opener Opener, conn bridge.Conn, log *slog.Logger) (*Bridge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gpio bridge %s: %w", cfg.Line, err)
	}
	cfg = cfg.WithDefaults()
	ev, cmd, err := cfg.Subjects()
	if err != nil {
		return nil, fmt.Errorf("gpio bridge %s: %w", cfg.Name, err)
	}
	b := &Bridge{cfg: cfg, opener: opener, conn: conn, command: cmd,
		log: log.With("bridge", cfg.Name, "chip", cfg.Chip, "line", cfg.Line)}
	if ev != "" {
		b.event = []byte(ev)
	}
	return b, nil
}

// Info describes the bridge.
func (b *Bridge) Info() bridge.Info {
	dev := b.cfg.Line
	if b.cfg.Chip != "" {
		dev = b.cfg.Chip + "/" + b.cfg.Line
	}
	return bridge.Info{Name: b.cfg.Name, Kind: "gpio", Device: dev}
}

// Counters reports the bridge's counters.
func (b *Bridge) Counters() bridge.Counters { return b.stats.Snapshot() }

// EventSubject is where changes (inputs) or new levels (outputs) are
// published; empty when nothing is.
func (b *Bridge) EventSubject() string { return string(b.event) }

// CommandSubject is where requests (inputs) or commands (outputs) arrive.
func (b *Bridge) CommandSubject() string { return b.command }

// physical turns a logical level into the line's level.
func (b *Bridge) physical(logical bool) gpio.Level { return gpio.Level(logical != b.cfg.ActiveLow) }

// logical turns the line's level into the logical level.
func (b *Bridge) logical(l gpio.Level) bool { return bool(l) != b.cfg.ActiveLow }

// Run requests the line and bridges it until ctx ends; an output then goes
// to its safe level.
func (b *Bridge) Run(ctx context.Context, up func()) error {
	c := b.cfg
	line, err := b.opener.Open(c.Chip, c.Line)
	if err != nil {
		return fmt.Errorf("open gpio line %s: %w", b.Info().Device, err)
	}
	defer line.Close()
	s := &session{b: b, line: line, reqs: make(chan request, requestQueue)}
	if c.Direction == bridge.DirOut {
		s.level = c.Initial == bridge.LevelHigh
		if err := line.Out(b.physical(s.level)); err != nil {
			return fmt.Errorf("request gpio line %s as output: %w", b.Info().Device, err)
		}
	} else {
		edge := gpio.BothEdges
		if c.Edge == bridge.EdgeNone {
			edge = gpio.NoEdge
		}
		if err := line.In(pulls[c.Pull], edge); err != nil {
			return fmt.Errorf("request gpio line %s as input: %w", b.Info().Device, err)
		}
	}
	sub, err := b.conn.Subscribe(b.command, "", s.onCommand)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", b.command, err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if c.Direction == bridge.DirIn && c.Edge != bridge.EdgeNone {
		// The level changes are measured from is read before up, so a
		// change right after start is not mistaken for the start level.
		last := b.logical(line.Read())
		wg.Go(func() { s.watch(stop, last) })
	}
	wg.Go(func() { s.serve(stop) })
	up()
	<-ctx.Done()
	sub.Unsubscribe()
	close(stop)
	wg.Wait()
	if c.Direction == bridge.DirOut && c.SafeLevel != bridge.LevelUnset {
		safe := c.SafeLevel == bridge.LevelHigh
		if err := line.Out(b.physical(safe)); err != nil {
			return fmt.Errorf("set gpio line %s to its safe level: %w", b.Info().Device, err)
		}
		b.log.Info("output set to its safe level", "level", levelInt(safe))
	}
	return nil
}

var pulls = map[bridge.Pull]gpio.Pull{
	bridge.PullAsIs: gpio.PullNoChange, bridge.PullNone: gpio.Float,
	bridge.PullUp: gpio.PullUp, bridge.PullDown: gpio.PullDown,
}

// request is a command message copied off the publisher's goroutine.
type request struct {
	data  []byte
	reply []byte
}

// session is one requested line.
type session struct {
	b    *Bridge
	line Line
	reqs chan request
	// level is an output's logical level, owned by serve.
	level bool
}

// onCommand copies the message and queues it, never blocking.
func (s *session) onCommand(m bridge.Msg) {
	r := request{data: append([]byte(nil), m.Data...)}
	if len(m.Reply) > 0 {
		r.reply = append([]byte(nil), m.Reply...)
	}
	select {
	case s.reqs <- r:
	default:
		s.b.stats.Errors.Add(1)
		if r.reply != nil {
			s.replyError(r.reply, bridge.CodeUnavailable, "gpio "+s.b.cfg.Name+" is busy: too many queued commands")
		}
	}
}

func (s *session) replyError(to []byte, code int, text string) {
	if err := bridge.ReplyError(s.b.conn, to, code, text); err != nil {
		s.b.log.Warn("cannot send an error reply", "err", err)
	}
}

// serve answers requests and applies output commands, one at a time.
func (s *session) serve(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case r := <-s.reqs:
			if s.b.cfg.Direction == bridge.DirOut {
				s.command(r)
			} else {
				s.query(r)
			}
		}
	}
}

// query answers an input's level request; other messages are ignored.
func (s *session) query(r request) {
	if r.reply == nil {
		return
	}
	s.b.stats.Requests.Add(1)
	level := s.b.logical(s.line.Read())
	s.publish(r.reply, appendEvent(nil, s.b.cfg.Name, level, "", time.Now()))
}

// command sets an output.
func (s *session) command(r request) {
	b := s.b
	if r.reply != nil {
		b.stats.Requests.Add(1)
	}
	level, err := ParseLevel(r.data, s.level)
	if err != nil {
		b.stats.Errors.Add(1)
		b.log.Warn("bad gpio command", "err", err)
		if r.reply != nil {
			s.replyError(r.reply, bridge.CodeBadRequest, err.Error())
		}
		return
	}
	if err := s.line.Out(b.physical(level)); err != nil {
		b.stats.Errors.Add(1)
		b.log.Warn("cannot set gpio output", "err", err)
		if r.reply != nil {
			s.replyError(r.reply, bridge.CodeInternal, "set "+b.Info().Device+": "+err.Error())
		}
		return
	}
	b.stats.OutMsgs.Add(1)
	b.stats.OutBytes.Add(int64(len(r.data)))
	edge := ""
	if level != s.level {
		edge = edgeName(level)
	}
	s.level = level
	msg := appendEvent(nil, b.cfg.Name, level, edge, time.Now())
	if r.reply != nil {
		s.publish(r.reply, msg)
	}
	if b.event != nil {
		s.publish(b.event, msg)
	}
}

func (s *session) publish(subject, data []byte) {
	if err := s.b.conn.Publish(bridge.Msg{Subject: subject, Data: data}); err != nil {
		s.b.stats.Errors.Add(1)
		s.b.log.Warn("cannot publish", "subject", string(subject), "err", err)
	}
}

// watch publishes an input's changes until stop is closed.
func (s *session) watch(stop <-chan struct{}, last bool) {
	b := s.b
	debounce := b.cfg.Debounce
	var buf []byte
	for {
		select {
		case <-stop:
			return
		default:
		}
		if !s.line.WaitForEdge(edgePoll) {
			continue
		}
		at := time.Now()
		// Debounce: wait until no edge came for a whole debounce period.
		for debounce > 0 && s.line.WaitForEdge(debounce) {
			select {
			case <-stop:
				return
			default:
			}
		}
		level := b.logical(s.line.Read())
		if level == last {
			continue // a bounce, or a pulse shorter than the debounce
		}
		last = level
		switch b.cfg.Edge {
		case bridge.EdgeRising:
			if !level {
				continue
			}
		case bridge.EdgeFalling:
			if level {
				continue
			}
		}
		buf = appendEvent(buf[:0], b.cfg.Name, level, edgeName(level), at)
		b.stats.InMsgs.Add(1)
		b.stats.InBytes.Add(int64(len(buf)))
		s.publish(b.event, buf)
	}
}

func edgeName(level bool) string {
	if level {
		return "rising"
	}
	return "falling"
}

func levelInt(l bool) int {
	if l {
		return 1
	}
	return 0
}
