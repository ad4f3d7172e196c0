package monitor

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// componentVarz is fakeSource's /varz with every component configured:
// two forward rules, the store, one leafnode remote, a bridge, the
// device services and the runtime.
func componentVarz() Varz {
	v := newFakeSource().varz
	v.Now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v.Forward = []ForwardVarz{
		{Rule: "TELE", Queued: 3, Bytes: 300, InFlight: 2, Sent: 9, Resent: 1, Acked: 6,
			Dropped: 7, Rejected: 4, HubErrors: 5, LocalErrors: 8, IDCollisions: 1,
			Oldest: v.Now.Add(-90 * time.Second), DroppedMaxMsgs: 1, DroppedMaxAge: 2},
		{Rule: "LOGS"},
	}
	v.Store = &StoreMetrics{FileSize: 1 << 20, FreeBytes: 4096,
		CommitBounds: []float64{0.001, 0.01}, CommitCounts: []uint64{4, 3}, CommitCount: 8, CommitSum: 0.5}
	v.Uplinks = []UplinkMetrics{{Remote: 0, URL: "hub:7422", Connected: true, Connects: 2, Disconnects: 1,
		RTT: 1500 * time.Microsecond, Subscriptions: 4, InMsgs: 10, OutMsgs: 20, InBytes: 100, OutBytes: 200,
		DisconnectReasons: []ReasonCount{{"network", 1}, {"auth", 0}},
		ConnectFailures:   []ReasonCount{{"network", 0}, {"auth", 3}},
		Compression:       "s2_fast", LocalInterest: 7}}
	v.Runtime = &RuntimeMetrics{Goroutines: 12, HeapBytes: 1 << 22, HeapGoalBytes: 1 << 23, GCCycles: 5,
		GCPauses: [len(gcPauseBounds)]uint64{0, 1, 2, 3, 3, 3, 3, 3, 3}, GCPauseCount: 3, GCPauseSum: 0.0012}
	v.Bridges = []BridgeStatus{{Name: "meter", Kind: "serial", State: "up", LastErrorAt: v.Now.Add(-30 * time.Second)}}
	v.MQTTStats = &MQTTMetrics{Connections: 2, CleanSessions: 1, PersistentSessions: 3, Subscriptions: 4,
		Retained: 5, InFlight: 6, InFlightQoS1: 4, InFlightQoS2: 2, InMsgs: 7, OutMsgs: 8, Redelivered: 9, Dropped: 10,
		DroppedMaxPending: 3, DroppedMaxAckPending: 7, ConnectRefused: [6]uint64{0, 1, 0, 0, 5, 2},
		Security: SecurityMetrics{AuthBadCredentials: 21, AuthNoCredentials: 22, AuthTimeout: 99,
			PublishViolations: 24, SubscribeViolations: 25, RefusedMaxConnections: 26}}
	v.Security = &SecurityMetrics{AuthBadCredentials: 11, AuthNoCredentials: 12, AuthTimeout: 13,
		PublishViolations: 14, SubscribeViolations: 15, RefusedMaxConnections: 16}
	v.Device = &DeviceVarz{ID: "UDEV", OTA: &OTAVarz{State: "downloading", Booted: "a",
		Progress: &OTAProgressVarz{Version: "1.2.0", Done: 1 << 20, Total: 4 << 20}}, Watchdog: &WatchdogVarz{}}
	v.Audit = &AuditMetrics{Logged: 5, Suppressed: 40, Published: 4, Dropped: 1, LeafAuthFailures: 2,
		Violations: []UserViolations{{"leaf", "publish", "lu", 1}, {"nats", "publish", "alice", 3}, {"nats", "subscribe", "other", 2}}}
	return v
}

// labelled returns the value of family name's sample whose labels
// include want, failing when there is none.
func labelled(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Fatalf("metric %s missing", name)
	}
	if mf.GetHelp() == "" {
		t.Errorf("metric %s has no HELP", name)
	}
next:
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		}
		t.Fatalf("metric %s has type %v", name, mf.GetType())
	}
	t.Fatalf("metric %s has no sample with labels %v", name, want)
	return 0
}

func TestMetricsComponents(t *testing.T) {
	v := componentVarz()
	mfs := parseMetrics(t, appendMetrics(nil, &v, &SublistStats{}, healthOK))
	tele := map[string]string{"rule": "TELE", "server_id": "NABC"}
	logs := map[string]string{"rule": "LOGS"}
	remote := map[string]string{"remote": "0", "url": "hub:7422"}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"leafbox_forward_queued_messages", tele, 3},
		{"leafbox_forward_queued_messages", logs, 0},
		{"leafbox_forward_queued_bytes", tele, 300},
		{"leafbox_forward_in_flight_messages", tele, 2},
		{"leafbox_forward_sent_messages_total", tele, 9},
		{"leafbox_forward_resent_messages_total", tele, 1},
		{"leafbox_forward_acked_messages_total", tele, 6},
		{"leafbox_forward_hub_errors_total", tele, 5},
		{"leafbox_forward_local_errors_total", tele, 8},
		{"leafbox_forward_id_collisions_total", tele, 1},
		{"leafbox_forward_oldest_message_age_seconds", tele, 90},
		{"leafbox_forward_oldest_message_age_seconds", logs, 0},
		{"leafbox_forward_dropped_messages_total", map[string]string{"rule": "TELE", "reason": "max_msgs"}, 1},
		{"leafbox_forward_dropped_messages_total", map[string]string{"rule": "TELE", "reason": "max_bytes"}, 0},
		{"leafbox_forward_dropped_messages_total", map[string]string{"rule": "TELE", "reason": "max_age"}, 2},
		{"leafbox_forward_dropped_messages_total", map[string]string{"rule": "TELE", "reason": "rejected"}, 4},
		{"leafbox_store_file_size_bytes", nil, 1 << 20},
		{"leafbox_store_free_bytes", nil, 4096},
		{"leafbox_leaf_connected", remote, 1},
		{"leafbox_leaf_connects_total", remote, 2},
		{"leafbox_leaf_disconnects_total", map[string]string{"remote": "0", "reason": "network"}, 1},
		{"leafbox_leaf_disconnects_total", map[string]string{"remote": "0", "reason": "auth"}, 0},
		{"leafbox_leaf_connect_failures_total", map[string]string{"remote": "0", "url": "hub:7422", "reason": "auth"}, 3},
		{"leafbox_leaf_compression_info", map[string]string{"remote": "0", "mode": "s2_fast"}, 1},
		{"leafbox_leaf_local_interest", remote, 7},
		{"leafbox_leaf_rtt_seconds", remote, 0.0015},
		{"leafbox_leaf_subscriptions", remote, 4},
		{"leafbox_leaf_in_messages_total", remote, 10},
		{"leafbox_leaf_out_messages_total", remote, 20},
		{"leafbox_leaf_in_bytes_total", remote, 100},
		{"leafbox_leaf_out_bytes_total", remote, 200},
		{"leafbox_go_goroutines", nil, 12},
		{"leafbox_go_heap_objects_bytes", nil, 1 << 22},
		{"leafbox_go_heap_goal_bytes", nil, 1 << 23},
		{"leafbox_go_gc_cycles_total", nil, 5},
		{"leafbox_mqtt_connections", nil, 2},
		{"leafbox_mqtt_sessions", map[string]string{"kind": "clean"}, 1},
		{"leafbox_mqtt_sessions", map[string]string{"kind": "persistent"}, 3},
		{"leafbox_mqtt_subscriptions", nil, 4},
		{"leafbox_mqtt_retained_messages", nil, 5},
		{"leafbox_mqtt_in_flight_messages", map[string]string{"qos": "1"}, 4},
		{"leafbox_mqtt_in_flight_messages", map[string]string{"qos": "2"}, 2},
		{"leafbox_mqtt_in_messages_total", nil, 7},
		{"leafbox_mqtt_out_messages_total", nil, 8},
		{"leafbox_mqtt_redeliveries_total", nil, 9},
		{"leafbox_mqtt_dropped_messages_total", map[string]string{"reason": "max_pending"}, 3},
		{"leafbox_mqtt_dropped_messages_total", map[string]string{"reason": "max_ack_pending"}, 7},
		{"leafbox_mqtt_connect_refused_total", map[string]string{"code": "1"}, 1},
		{"leafbox_mqtt_connect_refused_total", map[string]string{"code": "4"}, 5},
		{"leafbox_mqtt_connect_refused_total", map[string]string{"code": "5"}, 2},
		{"leafbox_bridge_last_error_age_seconds", map[string]string{"bridge": "meter", "kind": "serial"}, 30},
		{"leafbox_device_info", map[string]string{"slot": "a", "version": v.Version}, 1},
		{"leafbox_device_ota_download_bytes", nil, 1 << 20},
		{"leafbox_device_ota_download_size_bytes", nil, 4 << 20},
		{"leafbox_audit_events_total", map[string]string{"outcome": "logged"}, 5},
		{"leafbox_audit_events_total", map[string]string{"outcome": "suppressed"}, 40},
		{"leafbox_audit_published_total", nil, 4},
		{"leafbox_audit_dropped_total", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := labelled(t, mfs, tc.name, tc.labels); got != tc.want {
				t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
			}
		})
	}

	h := mfs["leafbox_go_gc_pause_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() != 0.0012 {
		t.Errorf("gc pause count/sum = %d/%v, want 3/0.0012", h.GetSampleCount(), h.GetSampleSum())
	}
	if b := h.GetBucket(); len(b) != len(gcPauseBounds)+1 || b[1].GetUpperBound() != 1e-4 || b[1].GetCumulativeCount() != 1 {
		t.Errorf("gc pause buckets = %v", b)
	}

	// Per-bucket commit counts become cumulative; the last one is +Inf.
	h = mfs["leafbox_store_commit_seconds"].GetMetric()[0].GetHistogram()
	b := h.GetBucket()
	if h.GetSampleCount() != 8 || h.GetSampleSum() != 0.5 || len(b) != 3 ||
		b[0].GetCumulativeCount() != 4 || b[1].GetUpperBound() != 0.01 || b[1].GetCumulativeCount() != 7 || b[2].GetCumulativeCount() != 8 {
		t.Errorf("commit histogram = %v", h)
	}
}

// A component that is not configured has no families.
func TestMetricsComponentsAbsent(t *testing.T) {
	v := newFakeSource().varz
	mfs := parseMetrics(t, appendMetrics(nil, &v, &SublistStats{}, healthOK))
	for name := range mfs {
		for _, prefix := range []string{"leafbox_forward_", "leafbox_leaf_", "leafbox_go_", "leafbox_store_file", "leafbox_store_free", "leafbox_bridge_", "leafbox_device_", "leafbox_mqtt_"} {
			if len(name) >= len(prefix) && name[:len(prefix)] == prefix {
				t.Errorf("family %s present without its component", name)
			}
		}
	}
}

// The handler samples the Go runtime on every scrape.
func TestMetricsRuntimeSampled(t *testing.T) {
	ts, _ := newTestHTTP(t, newFakeSource())
	_, _, body := do(t, "GET", ts.URL+"/metrics")
	mfs := parseMetrics(t, body)
	if g := labelled(t, mfs, "leafbox_go_goroutines", nil); g < 2 {
		t.Errorf("leafbox_go_goroutines = %v, want the test's goroutines", g)
	}
	if h := labelled(t, mfs, "leafbox_go_heap_objects_bytes", nil); h <= 0 {
		t.Errorf("leafbox_go_heap_objects_bytes = %v", h)
	}
}

func TestMetricsBridgesDevice(t *testing.T) {
	v := componentVarz()
	v.Bridges = []BridgeStatus{
		{Name: "meter", Kind: "serial", State: "up", Restarts: 2,
			BridgeCounters: BridgeCounters{InMsgs: 5, InBytes: 50, OutMsgs: 6, OutBytes: 60, Timeouts: 1, Oversize: 2, Malformed: 3, Errors: 4}},
		{Name: "door", Kind: "gpio", State: "down"},
		{Name: "panel", Kind: "modbus", State: "up", Devices: []BridgeDevice{
			{Name: "meter1", Unit: 1, State: "up", Polls: 10, Requests: 20, Writes: 3, WriteErrors: 1,
				Timeouts: 2, CRCErrors: 3, Exceptions: 4, Malformed: 5, IOErrors: 6},
			{Name: "meter2", Unit: 2, State: "down"},
		}},
	}
	v.Device = &DeviceVarz{ID: "UDEV", OTA: &OTAVarz{State: "trial", Booted: "b", Trial: true}, Watchdog: &WatchdogVarz{Pets: 7}}
	mfs := parseMetrics(t, appendMetrics(nil, &v, &SublistStats{}, healthOK))
	meter := map[string]string{"bridge": "meter", "kind": "serial"}
	door := map[string]string{"bridge": "door", "kind": "gpio"}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"leafbox_bridge_up", meter, 1},
		{"leafbox_bridge_up", door, 0},
		{"leafbox_bridge_restarts_total", meter, 2},
		{"leafbox_bridge_in_messages_total", meter, 5},
		{"leafbox_bridge_in_bytes_total", meter, 50},
		{"leafbox_bridge_out_messages_total", meter, 6},
		{"leafbox_bridge_out_bytes_total", meter, 60},
		{"leafbox_bridge_errors_total", map[string]string{"bridge": "meter", "reason": "timeout"}, 1},
		{"leafbox_bridge_errors_total", map[string]string{"bridge": "meter", "reason": "oversize"}, 2},
		{"leafbox_bridge_errors_total", map[string]string{"bridge": "meter", "reason": "malformed"}, 3},
		{"leafbox_bridge_errors_total", map[string]string{"bridge": "meter", "reason": "failed"}, 4},
		{"leafbox_bridge_device_up", map[string]string{"bridge": "panel", "kind": "modbus", "device": "meter1"}, 1},
		{"leafbox_bridge_device_up", map[string]string{"bridge": "panel", "device": "meter2"}, 0},
		{"leafbox_bridge_device_polls_total", map[string]string{"device": "meter1"}, 10},
		{"leafbox_bridge_device_requests_total", map[string]string{"device": "meter1"}, 20},
		{"leafbox_bridge_device_writes_total", map[string]string{"device": "meter1"}, 3},
		{"leafbox_bridge_device_errors_total", map[string]string{"device": "meter1", "reason": "timeout"}, 2},
		{"leafbox_bridge_device_errors_total", map[string]string{"device": "meter1", "reason": "crc"}, 3},
		{"leafbox_bridge_device_errors_total", map[string]string{"device": "meter1", "reason": "exception"}, 4},
		{"leafbox_bridge_device_errors_total", map[string]string{"device": "meter1", "reason": "malformed"}, 5},
		{"leafbox_bridge_device_errors_total", map[string]string{"device": "meter1", "reason": "io"}, 6},
		{"leafbox_bridge_device_errors_total", map[string]string{"device": "meter1", "reason": "write"}, 1},
		{"leafbox_device_identity_present", nil, 1},
		{"leafbox_device_ota_state", map[string]string{"state": "trial"}, 1},
		{"leafbox_device_running_slot", map[string]string{"slot": "b"}, 1},
		{"leafbox_device_ota_trial", nil, 1},
		{"leafbox_device_watchdog_armed", nil, 1},
		{"leafbox_device_watchdog_pets_total", nil, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := labelled(t, mfs, tc.name, tc.labels); got != tc.want {
				t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
			}
		})
	}

	// Device without OTA or watchdog: those families are absent, and
	// watchdog_armed says 0.
	v.Device = &DeviceVarz{}
	v.Bridges = nil
	mfs = parseMetrics(t, appendMetrics(nil, &v, &SublistStats{}, healthOK))
	for _, name := range []string{"leafbox_device_ota_state", "leafbox_device_running_slot", "leafbox_device_watchdog_pets_total", "leafbox_bridge_up", "leafbox_bridge_device_up"} {
		if _, ok := mfs[name]; ok {
			t.Errorf("%s present without its component", name)
		}
	}
	if got := labelled(t, mfs, "leafbox_device_watchdog_armed", nil); got != 0 {
		t.Errorf("watchdog_armed = %v without a watchdog", got)
	}
	if got := labelled(t, mfs, "leafbox_device_identity_present", nil); got != 0 {
		t.Errorf("identity_present = %v without an id", got)
	}
}

// The handler adds the bridges of a Source that reports them.
func TestMetricsBridgesFromSource(t *testing.T) {
	src := &bridgeMetricsSource{fakeSource: newFakeSource()}
	ts, _ := newTestHTTP(t, src)
	_, _, body := do(t, "GET", ts.URL+"/metrics")
	if got := labelled(t, parseMetrics(t, body), "leafbox_bridge_up", map[string]string{"bridge": "meter"}); got != 1 {
		t.Errorf("leafbox_bridge_up = %v", got)
	}
}

type bridgeMetricsSource struct{ *fakeSource }

func (bridgeMetricsSource) Bridgez() Bridgez {
	return Bridgez{Bridges: []BridgeStatus{{Name: "meter", Kind: "serial", State: "up"}}}
}

// BenchmarkReadRuntime is the runtime/metrics part of a scrape's cost.
func BenchmarkReadRuntime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		readRuntime()
	}
}

// TestMetricsSecurity pins which counter feeds which labelled sample of
// the security families, for both listeners; MQTT has no timeout reason.
func TestMetricsSecurity(t *testing.T) {
	v := componentVarz()
	mfs := parseMetrics(t, appendMetrics(nil, &v, &SublistStats{}, healthOK))
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"leafbox_auth_failures_total", map[string]string{"kind": "nats", "reason": "bad_credentials"}, 11},
		{"leafbox_auth_failures_total", map[string]string{"kind": "nats", "reason": "no_credentials"}, 12},
		{"leafbox_auth_failures_total", map[string]string{"kind": "nats", "reason": "timeout"}, 13},
		{"leafbox_permission_violations_total", map[string]string{"kind": "nats", "direction": "publish"}, 14},
		{"leafbox_permission_violations_total", map[string]string{"kind": "nats", "direction": "subscribe"}, 15},
		{"leafbox_connections_refused_total", map[string]string{"kind": "nats", "reason": "max_connections"}, 16},
		{"leafbox_auth_failures_total", map[string]string{"kind": "mqtt", "reason": "bad_credentials"}, 21},
		{"leafbox_auth_failures_total", map[string]string{"kind": "mqtt", "reason": "no_credentials"}, 22},
		{"leafbox_permission_violations_total", map[string]string{"kind": "mqtt", "direction": "publish"}, 24},
		{"leafbox_permission_violations_total", map[string]string{"kind": "mqtt", "direction": "subscribe"}, 25},
		{"leafbox_connections_refused_total", map[string]string{"kind": "mqtt", "reason": "max_connections"}, 26},
		{"leafbox_auth_failures_total", map[string]string{"kind": "leaf", "reason": "rejected"}, 2},
		{"leafbox_permission_violations_by_user_total", map[string]string{"kind": "nats", "direction": "publish", "user": "alice"}, 3},
		{"leafbox_permission_violations_by_user_total", map[string]string{"kind": "nats", "direction": "subscribe", "user": "other"}, 2},
		{"leafbox_permission_violations_by_user_total", map[string]string{"kind": "leaf", "direction": "publish", "user": "lu"}, 1},
	} {
		if got := labelled(t, mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
		if mfs[c.name].GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s is %v, want a counter", c.name, mfs[c.name].GetType())
		}
	}
	if n := len(mfs["leafbox_auth_failures_total"].GetMetric()); n != 6 {
		t.Errorf("leafbox_auth_failures_total has %d samples, want 6 (no mqtt timeout, one leaf)", n)
	}

	// Without either listener's counters there are no security families.
	v = newFakeSource().varz
	mfs = parseMetrics(t, appendMetrics(nil, &v, &SublistStats{}, healthOK))
	for _, name := range []string{"leafbox_auth_failures_total", "leafbox_permission_violations_total", "leafbox_connections_refused_total"} {
		if mfs[name] != nil {
			t.Errorf("%s present without a listener reporting it", name)
		}
	}
}
