package modbus

import (
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/modbus/modbustest"
)

// nopConn discards what the bridge publishes.
type nopConn struct{}

func (nopConn) Publish(bridge.Msg) error { return nil }
func (nopConn) Subscribe(string, string, func(bridge.Msg)) (bridge.Subscription, error) {
	return nil, nil
}

// meterPoints is a small energy meter: ten word-swapped float32 input
// registers, one read of 20 registers.
func meterPoints() []bridge.ModbusPoint {
	names := []string{"v1", "v2", "v3", "i1", "i2", "i3", "p", "q", "pf", "kwh"}
	pts := make([]bridge.ModbusPoint, len(names))
	for i, n := range names {
		pts[i] = bridge.ModbusPoint{Name: n, Table: bridge.TableInput, Address: 2 * i, Type: bridge.TypeFloat32, LittleEndianWords: true}
	}
	return pts
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPolls polls the first group of b's first device b.N times through
// its real transport, reporting polls per second and this process's CPU
// time per poll.
func benchPolls(b *testing.B, br *Bridge) {
	t, err := br.open()
	if err != nil {
		b.Fatal(err)
	}
	defer t.close()
	g := br.devs[0].groups[0]
	if err := br.poll(t, g); err != nil || g.cur[0].q != "good" {
		b.Fatalf("first poll: %v, quality %q", err, g.cur[0].q)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if err := br.poll(t, g); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if g.cur[0].q != "good" {
		b.Fatalf("quality %q", g.cur[0].q)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/poll")
}

func meterRegs() []int {
	regs := make([]int, 20)
	for i := range regs {
		regs[i] = 0x4366 * (i % 2) // 230.0 word-swapped: low word 0
	}
	return regs
}

func benchLine(b *testing.B, mode string) {
	srv := modbustest.Start(b, mode, map[int]map[string][]int{1: {"ir": meterRegs()}})
	cfg := bridge.ModbusConfig{Name: "bench", Timeout: 2 * time.Second, Devices: []bridge.ModbusDevice{
		{Name: "meter", Unit: 1, Publish: bridge.PublishPoll, Points: meterPoints()}}}
	if mode == "rtu" {
		cfg.Port, cfg.Baud = srv.Port, 115200
	} else {
		cfg.Address = srv.Addr
	}
	br, err := New(cfg, nopConn{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	benchPolls(b, br)
}

// BenchmarkRTUPoll: one meter on an RTU line at 115200 baud, over a socat
// pty pair to pymodbus. A pty does not pace bytes at the baud rate; the
// wire-time limit of this exchange on a real line is computed in
// TestRTUWireTime.
func BenchmarkRTUPoll(b *testing.B) { benchLine(b, "rtu") }

// BenchmarkTCPPoll: the same meter over Modbus TCP on loopback.
func BenchmarkTCPPoll(b *testing.B) { benchLine(b, "tcp") }

// cannedTransport answers every read with fixed registers, to measure the
// bridge's own work per poll (plan, decode, JSON, publish).
type cannedTransport struct{ data []byte }

func (c *cannedTransport) do(unit byte, r *request) ([]byte, error) { return c.data[:2*r.qty], nil }
func (c *cannedTransport) wire() (int, int)                         { return 8, 5 + len(c.data) }
func (c *cannedTransport) close() error                             { return nil }

// BenchmarkPollDecode: CPU per poll of the bridge alone.
func BenchmarkPollDecode(b *testing.B) {
	br, err := New(bridge.ModbusConfig{Name: "bench", Address: "127.0.0.1:1", Devices: []bridge.ModbusDevice{
		{Name: "meter", Unit: 1, Publish: bridge.PublishPoll, Points: meterPoints()}}}, nopConn{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 40)
	for i := 2; i < 40; i += 4 {
		data[i], data[i+1] = 0x43, 0x66
	}
	br.open = func() (transport, error) { return &cannedTransport{data: data}, nil }
	benchPolls(b, br)
}

// TestRTUWireTime states the wire-time limit the RTU benchmark is compared
// with: at 115200 baud, 8N1 (10 bits a character), a read of 20 registers
// is an 8 byte request and a 45 byte answer, each preceded by the 1.75ms
// silence of baud rates above 19200.
func TestRTUWireTime(t *testing.T) {
	cfg := bridge.ModbusConfig{Port: "/dev/null", Baud: 115200}.WithDefaults()
	if cfg.FrameGap != 1750*time.Microsecond {
		t.Fatalf("frame gap %v", cfg.FrameGap)
	}
	r := request{fc: fcReadInput, qty: 20}
	req := len(appendRTU(nil, 1, &r))
	resp := 1 + r.respLen() + 2
	wire := time.Duration(float64(req+resp)*10/115200*float64(time.Second)) + 2*cfg.FrameGap
	if req != 8 || resp != 45 {
		t.Fatalf("request %d, answer %d bytes", req, resp)
	}
	t.Logf("wire time a poll: %v, at most %.0f polls/s", wire, float64(time.Second)/float64(wire))
	if wire < 8*time.Millisecond || wire > 9*time.Millisecond {
		t.Errorf("wire time %v", wire)
	}
}

// TestPollAllocs pins that a poll of a healthy device (read, decode,
// JSON, publish) allocates nothing.
func TestPollAllocs(t *testing.T) {
	br, err := New(bridge.ModbusConfig{Name: "a", Address: "127.0.0.1:1", Devices: []bridge.ModbusDevice{
		{Name: "meter", Unit: 1, Publish: bridge.PublishPoll, Points: meterPoints()}}}, nopConn{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tr := &cannedTransport{data: make([]byte, 40)}
	g := br.devs[0].groups[0]
	if err := br.poll(tr, g); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { br.poll(tr, g) }); n != 0 {
		t.Errorf("%v allocations a poll", n)
	}
}
