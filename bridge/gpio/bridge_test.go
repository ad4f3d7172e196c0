package gpio_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/bridgetest"
	bgpio "github.com/leafbox/leafbox/bridge/gpio"
	"github.com/leafbox/leafbox/bridge/gpio/gpiotest"
)

const wait = 5 * time.Second

// event is the JSON a GPIO bridge publishes.
type event struct {
	Name  string    `json:"name"`
	Level int       `json:"level"`
	Edge  string    `json:"edge"`
	Time  time.Time `json:"time"`
}

func decode(t *testing.T, m bridgetest.Msg) event {
	t.Helper()
	var e event
	if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
		t.Fatalf("event %q: %v", m.Data, err)
	}
	return e
}

// run starts b in the current (possibly synctest) goroutine group and
// returns a stop function that cancels it and returns Run's result.
func run(t *testing.T, b *bgpio.Bridge) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, func() { close(up) }) }()
	select {
	case <-up:
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	}
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func newBridge(t *testing.T, cfg bridge.GPIOConfig, chip *gpiotest.Chip, conn bridge.Conn) *bgpio.Bridge {
	t.Helper()
	b, err := bgpio.New(cfg, chip, conn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// TestInputEdges drives a fake input and checks the published changes,
// filtered by edge and inverted by active_low.
func TestInputEdges(t *testing.T) {
	tests := []struct {
		name      string
		edge      bridge.Edge
		activeLow bool
		want      []string // edges published for high, low, high, low
	}{
		{"both", bridge.EdgeBoth, false, []string{"rising", "falling", "rising", "falling"}},
		{"rising", bridge.EdgeRising, false, []string{"rising", "rising"}},
		{"falling", bridge.EdgeFalling, false, []string{"falling", "falling"}},
		{"active low", bridge.EdgeBoth, true, []string{"falling", "rising", "falling", "rising"}},
		{"active low rising", bridge.EdgeRising, true, []string{"rising", "rising"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				chip := gpiotest.NewChip()
				line := chip.Add("", "17")
				conn := bridgetest.NewConn()
				b := newBridge(t, bridge.GPIOConfig{Line: "17", Name: "door", Edge: tc.edge, ActiveLow: tc.activeLow, Pull: bridge.PullUp}, chip, conn)
				run(t, b)
				if dir, pull, edge, _ := line.State(); dir != "in" || pull != gpio.PullUp || edge != gpio.BothEdges {
					t.Fatalf("line requested as %s %v %v", dir, pull, edge)
				}
				start := time.Now()
				for _, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High, gpio.Low} {
					time.Sleep(time.Second)
					line.Set(l)
					synctest.Wait()
				}
				var got []string
				for _, m := range conn.Msgs("gpio.door") {
					e := decode(t, m)
					got = append(got, e.Edge)
					wantLevel := 0
					if e.Edge == "rising" {
						wantLevel = 1
					}
					if e.Level != wantLevel || e.Name != "door" || e.Time.Before(start) || e.Time.Sub(start)%time.Second != 0 {
						t.Errorf("event %+v", e)
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("edges %q, want %q", got, tc.want)
				}
				if c := b.Counters(); c.InMsgs != int64(len(tc.want)) {
					t.Errorf("counters %+v", c)
				}
			})
		})
	}
}

// TestDebounce: bounces within the debounce period give one event, timed
// at the first edge; a pulse shorter than the debounce gives none.
func TestDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chip := gpiotest.NewChip()
		line := chip.Add("", "4")
		conn := bridgetest.NewConn()
		b := newBridge(t, bridge.GPIOConfig{Line: "4", Name: "button", Debounce: 20 * time.Millisecond}, chip, conn)
		run(t, b)
		t0 := time.Now()
		// Press with contact bounce.
		for _, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High, gpio.Low, gpio.High} {
			line.Set(l)
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if n := len(conn.Msgs("gpio.button")); n != 0 {
			t.Fatalf("%d events before the line settled", n)
		}
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		msgs := conn.Msgs("gpio.button")
		if len(msgs) != 1 {
			t.Fatalf("events after settling: %q", msgs)
		}
		if e := decode(t, msgs[0]); e.Edge != "rising" || e.Level != 1 || !e.Time.Equal(t0) {
			t.Errorf("event %+v, want rising at %v", e, t0)
		}
		// A 5ms glitch low and back.
		time.Sleep(time.Second)
		line.Set(gpio.Low)
		time.Sleep(5 * time.Millisecond)
		line.Set(gpio.High)
		time.Sleep(time.Second)
		synctest.Wait()
		if n := len(conn.Msgs("gpio.button")); n != 1 {
			t.Errorf("glitch published: %q", conn.Msgs("gpio.button"))
		}
		// Release, cleanly.
		line.Set(gpio.Low)
		time.Sleep(time.Second)
		synctest.Wait()
		msgs = conn.Msgs("gpio.button")
		if len(msgs) != 2 || decode(t, msgs[1]).Edge != "falling" {
			t.Errorf("release: %q", msgs)
		}
	})
}

// TestInputLevelRequest: a request on the command subject gets the
// current logical level; plain messages there are ignored.
func TestInputLevelRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chip := gpiotest.NewChip()
		line := chip.Add("gpiochip1", "reed")
		conn := bridgetest.NewConn()
		b := newBridge(t, bridge.GPIOConfig{Chip: "gpiochip1", Line: "reed", Edge: bridge.EdgeNone, ActiveLow: true}, chip, conn)
		if b.CommandSubject() != "gpio.gpiochip1_reed.get" {
			t.Fatalf("command subject %q", b.CommandSubject())
		}
		run(t, b)
		if e := decode(t, conn.Request(t, b.CommandSubject(), "", wait)); e.Level != 1 || e.Edge != "" {
			t.Errorf("level of a low active-low line: %+v", e)
		}
		line.Set(gpio.High)
		if e := decode(t, conn.Request(t, b.CommandSubject(), "", wait)); e.Level != 0 {
			t.Errorf("level of a high active-low line: %+v", e)
		}
		if n := len(conn.Msgs(b.EventSubject())); n != 0 {
			t.Errorf("edge none published %d events", n)
		}
	})
}

// TestOutput: initial level, every command form, replies with the new
// level, a state subject, bad commands, and the safe level on shutdown.
func TestOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chip := gpiotest.NewChip()
		line := chip.Add("", "27")
		conn := bridgetest.NewConn()
		b := newBridge(t, bridge.GPIOConfig{Line: "27", Name: "relay", Direction: bridge.DirOut,
			Subject: "state.{name}", CommandSubject: "cmd.{name}",
			Initial: bridge.LevelHigh, SafeLevel: bridge.LevelLow, ActiveLow: true}, chip, conn)
		stop := run(t, b)
		if got := line.Outs(); !slices.Equal(got, []gpio.Level{gpio.Low}) {
			t.Fatalf("initial outs %v (active low high = physical low)", got)
		}
		cmds := []struct {
			data  string
			level int
		}{
			{"0", 0}, {"1", 1}, {"off", 0}, {"ON", 1}, {" low\n", 0}, {"high", 1},
			{"false", 0}, {"true", 1}, {`{"level":0}`, 0}, {`{"level":"on"}`, 1},
			{`{"level":false}`, 0}, {`"1"`, 1}, {"toggle", 0}, {"toggle", 1},
		}
		for _, c := range cmds {
			reply := conn.Request(t, "cmd.relay", c.data, wait)
			if e := decode(t, reply); e.Level != c.level || e.Name != "relay" {
				t.Errorf("%q: reply %+v, want level %d", c.data, e, c.level)
			}
		}
		conn.Publish(bridge.Msg{Subject: []byte("cmd.relay"), Data: []byte("0")})
		synctest.Wait()
		outs := line.Outs()
		if last := outs[len(outs)-1]; last != gpio.High {
			t.Errorf("after plain 0 the line is %v, want physical high", last)
		}
		states := conn.Msgs("state.relay")
		if len(states) != len(cmds)+1 {
			t.Errorf("%d state messages, want %d", len(states), len(cmds)+1)
		}
		if e := decode(t, states[1]); e.Edge != "rising" {
			t.Errorf("state after 0 -> 1: %+v", e)
		}
		for _, bad := range []string{"2", "maybe", `{"lvl":1}`, `{"level":[1]}`, "{"} {
			reply := conn.Request(t, "cmd.relay", bad, wait)
			if !strings.Contains(reply.Header, "Nats-Service-Error-Code: 400") {
				t.Errorf("%q: reply %+v", bad, reply)
			}
		}
		c := b.Counters()
		if c.OutMsgs != int64(len(cmds)+1) || c.Errors != 5 || c.Requests != int64(len(cmds)+5) {
			t.Errorf("counters %+v", c)
		}
		if err := stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		outs = line.Outs()
		if last := outs[len(outs)-1]; last != gpio.High {
			t.Errorf("safe level low (active low) left the line %v", last)
		}
		if _, _, _, closed := line.State(); !closed {
			t.Error("line not released")
		}
		if conn.Subscribed("cmd.relay") {
			t.Error("still subscribed after stop")
		}
	})
}

// TestOutputDefaults: without a safe level the output is left as it is;
// without a command subject, commands arrive on subject.
func TestOutputDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chip := gpiotest.NewChip()
		line := chip.Add("", "27")
		conn := bridgetest.NewConn()
		b := newBridge(t, bridge.GPIOConfig{Line: "27", Direction: bridge.DirOut, Subject: "cmd.gpio.relay"}, chip, conn)
		stop := run(t, b)
		conn.Publish(bridge.Msg{Subject: []byte("cmd.gpio.relay"), Data: []byte("1")})
		synctest.Wait()
		stop()
		if got := line.Outs(); !slices.Equal(got, []gpio.Level{gpio.Low, gpio.High}) {
			t.Errorf("outs %v, want initial low, then high, no safe level", got)
		}
		if b.EventSubject() != "" || len(conn.Msgs("cmd.gpio.relay")) != 1 {
			t.Errorf("an output without command_subject published on its subject")
		}
	})
}

// TestLineCannotOpen: a missing line and a busy line are errors of their
// own bridges; the others keep running.
func TestLineCannotOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chip := gpiotest.NewChip()
		good := chip.Add("", "17")
		chip.Add("", "22")
		chip.SetBusy("", "22", true)
		held := chip.Add("", "23")
		held.OutErr = errors.New("line_request ioctl: device or resource busy")
		conn := bridgetest.NewConn()
		log := slog.New(slog.DiscardHandler)
		var bs []bridge.Bridge
		for _, c := range []bridge.GPIOConfig{
			{Line: "17"}, {Line: "99"}, {Line: "22"}, {Line: "23", Direction: bridge.DirOut},
		} {
			b, err := bgpio.New(c, chip, conn, log)
			if err != nil {
				t.Fatal(err)
			}
			bs = append(bs, b)
		}
		sup := bridge.NewSupervisor(bridge.Backoff{}, log, bs...)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- sup.Run(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		st := sup.Status()
		if st[0].State != bridge.StateUp {
			t.Errorf("good line: %+v", st[0])
		}
		wantErr := []string{"", "no such line", "line busy", "device or resource busy"}
		for i := 1; i < len(st); i++ {
			if st[i].State != bridge.StateDown || !strings.Contains(st[i].LastError, wantErr[i]) {
				t.Errorf("%s: %+v, want down with %q", st[i].Name, st[i], wantErr[i])
			}
		}
		good.Set(gpio.High)
		synctest.Wait()
		if n := len(conn.Msgs("gpio.17")); n != 1 {
			t.Errorf("good line published %d events", n)
		}
		// The busy line is freed: the next retry takes it.
		chip.SetBusy("", "22", false)
		time.Sleep(time.Minute)
		synctest.Wait()
		if s := sup.Status()[2]; s.State != bridge.StateUp {
			t.Errorf("freed line: %+v", s)
		}
		cancel()
		<-done
	})
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		current bool
		want    bool
		err     bool
	}{
		{"1", false, true, false}, {"0", true, false, false}, {"On", false, true, false},
		{"OFF", true, false, false}, {"toggle", true, false, false}, {"toggle", false, true, false},
		{`{"level": 1}`, false, true, false}, {`{"level": "low"}`, true, false, false}, {"true", false, true, false},
		{"", false, false, true}, {"2", false, false, true}, {`{"level": 2}`, false, false, true},
		{`{"level": null}`, false, false, true}, {`[1]`, false, false, true},
	}
	for _, tc := range tests {
		got, err := bgpio.ParseLevel([]byte(tc.in), tc.current)
		if (err != nil) != tc.err || (err == nil && got != tc.want) {
			t.Errorf("ParseLevel(%q, %v) = %v, %v", tc.in, tc.current, got, err)
		}
		if err != nil && !errors.Is(err, bgpio.ErrBadCommand) {
			t.Errorf("ParseLevel(%q): %v is not ErrBadCommand", tc.in, err)
		}
	}
}
