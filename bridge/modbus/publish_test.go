package modbus

import (
	"encoding/binary"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/bridgetest"
)

// TestPublishModes drives one group through polls with canned answers and
// explicit times: change with a deadband, a quality change, the
// heartbeat of "both", and a NaN that must not publish as good.
func TestPublishModes(t *testing.T) {
	conn := bridgetest.NewConn()
	br, err := New(bridge.ModbusConfig{Name: "l", Address: "127.0.0.1:1", Devices: []bridge.ModbusDevice{{
		Name: "d", Unit: 1, Publish: bridge.PublishBoth, Deadband: 1, Heartbeat: time.Minute,
		Points: []bridge.ModbusPoint{{Name: "f", Type: bridge.TypeFloat32}}}}}, conn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g := br.devs[0].groups[0]
	set := func(f float32, q string) {
		g.cur[0] = sample{q: q}
		if q == "good" {
			g.cur[0].v = value{kind: kindFloat, f: float64(f)}
		}
	}
	t0 := time.Unix(1_800_000_000, 0)
	steps := []struct {
		at      time.Duration
		v       float32
		q       string
		publish bool
	}{
		{0, 10, "good", true},                  // first
		{time.Second, 10.5, "good", false},     // within the deadband
		{2 * time.Second, 11.5, "good", true},  // 1.5 from the last published 10
		{3 * time.Second, 0, "timeout", true},  // quality changed
		{4 * time.Second, 0, "timeout", false}, // still bad, no change
		{5 * time.Second, 11.5, "good", true},  // good again
		{65 * time.Second, 11.5, "good", true}, // heartbeat: a minute of silence
		{66 * time.Second, 11.5, "good", false},
	}
	n := 0
	for _, s := range steps {
		set(s.v, s.q)
		br.publish(g, t0.Add(s.at))
		if s.publish {
			n++
		}
		if got := len(conn.Msgs("modbus.l.d")); got != n {
			t.Fatalf("at %v: %d messages, want %d", s.at, got, n)
		}
	}
	msgs := conn.Msgs("modbus.l.d")
	if !strings.Contains(msgs[2].Data, `"values":{"f":null},"quality":{"f":"timeout"}`) {
		t.Errorf("bad quality message %s", msgs[2].Data)
	}
	if !strings.HasPrefix(msgs[0].Data, `{"ts":"2027-01-15T08:00:00Z","device":"d","group":"default","values":{"f":10}`) {
		t.Errorf("first message %s", msgs[0].Data)
	}

	// A NaN from the device is invalid, never a good value.
	p := br.devs[0].points[0]
	nan := binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN())))
	if _, err := decodeRegisters(&p, nan, nil); err == nil {
		t.Fatal("NaN decoded as a value")
	}
	tr := &cannedTransport{data: nan}
	if err := br.poll(tr, g); err != nil {
		t.Fatal(err)
	}
	last := conn.Msgs("modbus.l.d")
	if m := last[len(last)-1].Data; !strings.Contains(m, `"values":{"f":null},"quality":{"f":"invalid"}`) {
		t.Errorf("NaN published as %s", m)
	}
}
