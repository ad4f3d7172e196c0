package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"
)

// statusSource is a fakeSource with every component filled in.
func statusSource() bridgeSource {
	src := newFakeSource()
	src.varz.Forward = []ForwardVarz{
		{Rule: "TELE", Queued: 7, Bytes: 700, InFlight: 2, Acked: 40, Dropped: 1, Oldest: t0.Add(-90 * time.Second)},
		{Rule: "LOGS"},
	}
	src.varz.Uplinks = []UplinkMetrics{
		{Remote: 0, URL: "hub-a:7422", Connected: true, Connects: 2, Disconnects: 1, RTT: 1500 * time.Microsecond},
		{Remote: 1, URL: "hub-b:7422"},
	}
	src.varz.Device = &DeviceVarz{ID: "UDEVICE", OTA: &OTAVarz{State: "idle", Booted: "b", Default: "b"}}
	src.varz.MQTTStats = &MQTTMetrics{Connections: 4}
	return bridgeSource{fakeSource: src, bridges: []BridgeStatus{
		{Name: "meter", Kind: "serial", State: "down", LastError: "open /dev/ttyUSB0: no such file", Restarts: 3},
	}}
}

func getStatusz(t *testing.T, url string) Statusz {
	t.Helper()
	code, h, body := do(t, "GET", url+"/statusz")
	if code != 200 || h.Get("Content-Type") != jsonContentType {
		t.Fatalf("/statusz: %d %s %s", code, h.Get("Content-Type"), body)
	}
	var st Statusz
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("decode /statusz: %v\n%s", err, body)
	}
	return st
}

// TestStatusz pins what the page reads: identity, clients, each uplink,
// rule and bridge, warnings and health, taken from the Source.
func TestStatusz(t *testing.T) {
	src := statusSource()
	src.health = &Degraded{Reason: "store file set aside"}
	ts, _ := newTestHTTP(t, src)
	st := getStatusz(t, ts.URL)
	if st.DeviceID != "UDEVICE" || st.Version != "0.1.0" || st.ServerName != "gw-1" || st.Uptime != "1h0m5s" {
		t.Errorf("identity: %+v", st)
	}
	if st.NATSClients != 3 || st.MQTTClients != 4 {
		t.Errorf("clients: nats %d mqtt %d, want 3 and 4", st.NATSClients, st.MQTTClients)
	}
	if st.OTA == nil || st.OTA.Booted != "b" || st.OTA.State != "idle" {
		t.Errorf("ota: %+v", st.OTA)
	}
	if st.Health != StatusDegraded || st.HealthError != "store file set aside" {
		t.Errorf("health %q %q", st.Health, st.HealthError)
	}
	if len(st.Uplinks) != 2 || !st.Uplinks[0].Connected || st.Uplinks[0].RTTSeconds != 0.0015 || st.Uplinks[1].Connected {
		t.Errorf("uplinks: %+v", st.Uplinks)
	}
	if len(st.Forward) != 2 || st.Forward[0].Queued != 7 || st.Forward[0].OldestAgeSeconds != 90 || st.Forward[1].OldestAgeSeconds != 0 {
		t.Errorf("forward: %+v", st.Forward)
	}
	if len(st.Bridges) != 1 || st.Bridges[0].State != "down" || st.Bridges[0].LastError == "" {
		t.Errorf("bridges: %+v", st.Bridges)
	}
	if len(st.Warnings) != 1 {
		t.Errorf("warnings: %v", st.Warnings)
	}
	// No sample yet: the history is the live point alone.
	if h := st.History; len(h.Time) != 1 || h.Queued[0] != 7 || h.IntervalSeconds != 10 {
		t.Errorf("history: %+v", h)
	}
}

// Without the optional components the lists are empty, not null, and
// MQTT reads as off.
func TestStatuszBare(t *testing.T) {
	src := newFakeSource()
	src.setHealth(errors.New("not ready"))
	ts, _ := newTestHTTP(t, src)
	_, _, body := do(t, "GET", ts.URL+"/statusz")
	m := decodeMap(t, body)
	for _, k := range []string{"uplinks", "forward", "bridges", "warnings"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s = %v, want a list", k, m[k])
		}
	}
	if m["mqtt_clients"] != -1.0 || m["health"] != StatusUnavailable {
		t.Errorf("mqtt_clients %v health %v", m["mqtt_clients"], m["health"])
	}
	forbidKeys(t, "statusz", m, "device_id", "ota")
}

// The ring keeps the last historySize samples, oldest first, and the
// rates are the counters' differences per second.
func TestHistoryRing(t *testing.T) {
	s := &Server{}
	h := &s.hist
	for i := range historySize + 5 {
		h.add(histSample{at: int64(i) * 10_000, queued: uint64(i), inMsgs: int64(i) * 100})
	}
	got := h.appendTo(nil)
	if len(got) != historySize || got[0].queued != 5 || got[historySize-1].queued != historySize+4 {
		t.Fatalf("ring: %d samples, first %d, last %d", len(got), got[0].queued, got[len(got)-1].queued)
	}
	last := got[len(got)-1]
	live := histSample{at: last.at + 500, queued: 1}
	hs := s.statusHistory(live)
	if len(hs.Time) != historySize {
		t.Errorf("a live point 0.5s after the last sample was added: %d points", len(hs.Time))
	}
	if hs.InRate[0] != 0 || hs.InRate[1] != 10 || hs.OutRate[1] != 0 {
		t.Errorf("rates: in %v %v out %v, want 0 10 0", hs.InRate[0], hs.InRate[1], hs.OutRate[1])
	}
	live.at = last.at + 2000
	live.inMsgs = last.inMsgs - 50 // a reset reads as 0, not negative
	hs = s.statusHistory(live)
	if n := len(hs.Time); n != historySize+1 || hs.InRate[n-1] != 0 || hs.Queued[n-1] != 1 {
		t.Errorf("live point: %d points, last rate %v queued %v", n, hs.InRate[n-1], hs.Queued[n-1])
	}
}

// sampleLoop takes one sample at start and one per interval from the
// Source, and stops with its context.
func TestSampleLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := statusSource()
		s := newServer(Config{Port: -1}, src, slog.New(slog.DiscardHandler), fakeProc("1 1", "1"), time.Now)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.sampleLoop(ctx, 10*time.Second)
		}()
		time.Sleep(35 * time.Second)
		synctest.Wait()
		got := s.hist.appendTo(nil)
		if len(got) != 4 || got[0].queued != 7 || got[1].at-got[0].at != 10_000 {
			t.Errorf("samples after 35s: %+v", got)
		}
		cancel()
		<-done
	})
}

// BenchmarkStatusz is the cost of one /statusz document with a full
// hour of history, without the HTTP exchange.
func BenchmarkStatusz(b *testing.B) {
	src := statusSource()
	s := newServer(Config{Port: -1}, src, slog.New(slog.DiscardHandler), fakeProc("150 50", "10240"), func() time.Time { return t0 })
	for i := range historySize {
		s.hist.add(histSample{at: t0.Add(time.Duration(i-historySize) * 10 * time.Second).UnixMilli(), queued: uint64(i), inMsgs: int64(i) * 37, outMsgs: int64(i) * 41})
	}
	var w response
	b.ReportAllocs()
	for b.Loop() {
		w = response{body: w.body[:0]}
		s.handleStatusz(&w)
	}
	b.ReportMetric(float64(len(w.body)), "bytes/doc")
}

// The history's memory is fixed: a ring of historySize samples of 32
// bytes held in the Server, nothing allocated as it fills.
func TestHistoryBounded(t *testing.T) {
	if n := unsafe.Sizeof(histSample{}); n != 32 {
		t.Errorf("sample is %d bytes, want 32", n)
	}
	if n := unsafe.Sizeof(history{}); n > 12<<10 {
		t.Errorf("history is %d bytes, want at most 12 KiB", n)
	}
	s := &Server{}
	if a := testing.AllocsPerRun(100, func() { s.hist.add(histSample{at: 1}) }); a != 0 {
		t.Errorf("add allocates %v times", a)
	}
	t.Logf("history: %d bytes", unsafe.Sizeof(history{}))
}

// BenchmarkStatusPage is the cost of serving the page itself.
func BenchmarkStatusPage(b *testing.B) {
	s := newServer(Config{Port: -1}, statusSource(), slog.New(slog.DiscardHandler), fakeProc("150 50", "10240"), func() time.Time { return t0 })
	var w response
	b.ReportAllocs()
	for b.Loop() {
		w = response{body: w.body[:0]}
		s.handleRoot(&w)
	}
	b.ReportMetric(float64(len(w.body)), "bytes/doc")
}
