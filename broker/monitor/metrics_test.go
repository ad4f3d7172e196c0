package monitor

import (
	"bytes"
	"math"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func parseMetrics(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return mfs
}

// sample returns the one sample of family name and its labels.
func sample(t *testing.T, mfs map[string]*dto.MetricFamily, name string) (float64, dto.MetricType, map[string]string) {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Fatalf("metric %s missing", name)
	}
	if len(mf.GetMetric()) != 1 {
		t.Fatalf("metric %s has %d samples, want 1", name, len(mf.GetMetric()))
	}
	m := mf.GetMetric()[0]
	labels := map[string]string{}
	for _, lp := range m.GetLabel() {
		labels[lp.GetName()] = lp.GetValue()
	}
	if mf.GetHelp() == "" {
		t.Errorf("metric %s has no HELP", name)
	}
	switch mf.GetType() {
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), mf.GetType(), labels
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), mf.GetType(), labels
	}
	t.Fatalf("metric %s has type %v", name, mf.GetType())
	return 0, 0, nil
}

func TestMetricsEndpoint(t *testing.T) {
	src := newFakeSource()
	ts, _ := newTestHTTP(t, src)
	code, _, body := do(t, "GET", ts.URL+"/metrics")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	mfs := parseMetrics(t, body)
	gauge, counter := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	tests := []struct {
		name     string
		want     float64
		wantType dto.MetricType
	}{
		{"gnatsd_varz_connections", 3, gauge},
		{"gnatsd_varz_total_connections", 10, counter},
		{"gnatsd_varz_in_msgs", 42, counter},
		{"gnatsd_varz_out_msgs", 84, counter},
		{"gnatsd_varz_in_bytes", 4200, counter},
		{"gnatsd_varz_out_bytes", 8400, counter},
		{"gnatsd_varz_slow_consumers", 1, counter},
		{"gnatsd_varz_subscriptions", 4, gauge},
		{"gnatsd_varz_mem", 10240 * 1024, gauge},
		{"gnatsd_varz_max_payload", 1 << 20, gauge},
		{"gnatsd_varz_ping_interval", 120e9, gauge},
		{"gnatsd_varz_auth_timeout", 2, gauge},
		{"gnatsd_varz_uptime_seconds", 3605, gauge},
		{"gnatsd_varz_port", 4222, gauge},
		{"gnatsd_subsz_num_subscriptions", 4, gauge},
		{"gnatsd_subsz_num_cache", 2, gauge},
		{"gnatsd_subsz_num_inserts", 6, counter},
		{"gnatsd_subsz_num_removes", 2, counter},
		{"gnatsd_subsz_num_matches", 100, counter},
		{"gnatsd_subsz_cache_hit_rate", 0.75, gauge},
		{"gnatsd_subsz_max_fanout", 3, gauge},
		{"gnatsd_subsz_avg_fanout", 1.5, gauge},
		{"gnatsd_healthz_status", 0, gauge},
		{"leafbox_varz_warnings", 1, gauge},
		{"leafbox_store_damage_events_total", 2, counter},
		{"gnatsd_varz_version", 1, gauge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, typ, labels := sample(t, mfs, tc.name)
			if v != tc.want || typ != tc.wantType {
				t.Errorf("= %v (%v), want %v (%v)", v, typ, tc.want, tc.wantType)
			}
			if labels["server_id"] != "NABC" {
				t.Errorf("server_id label = %q", labels["server_id"])
			}
		})
	}
	if _, _, l := sample(t, mfs, "gnatsd_varz_version"); l["value"] != "0.1.0" {
		t.Errorf("version label = %q", l["value"])
	}

	src.setHealth(errNotReady)
	_, _, body = do(t, "GET", ts.URL+"/metrics")
	if v, _, _ := sample(t, parseMetrics(t, body), "gnatsd_healthz_status"); v != 1 {
		t.Errorf("gnatsd_healthz_status = %v while unhealthy, want 1", v)
	}
	src.setHealth(&Degraded{Reason: "store damaged"})
	_, _, body = do(t, "GET", ts.URL+"/metrics")
	if v, _, _ := sample(t, parseMetrics(t, body), "gnatsd_healthz_status"); v != 2 {
		t.Errorf("gnatsd_healthz_status = %v while degraded, want 2", v)
	}
}

func TestMetricsLabelEscaping(t *testing.T) {
	tests := []struct {
		name string
		id   string
	}{
		{"plain", "gw-1"},
		{"quotes", `gate "north"`},
		{"backslashes", `C:\leafbox\`},
		{"newline", "line1\nline2"},
		{"mixed", "a\\\"b\n\\n\"\\"},
		{"utf8", "Gerät ✓"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Varz{ServerID: tc.id, ServerName: tc.id, Version: tc.id}
			body := appendMetrics(nil, &v, &SublistStats{}, healthOK)
			mfs := parseMetrics(t, body)
			_, _, l := sample(t, mfs, "gnatsd_varz_server_name")
			if l["value"] != tc.id || l["server_id"] != tc.id {
				t.Errorf("labels = %q, want value and server_id %q", l, tc.id)
			}
		})
	}
}

func TestMetricsHelpEscaping(t *testing.T) {
	got := string(appendEscaped(nil, "a\\b\n\"c\"", false))
	if want := `a\\b\n"c"`; got != want {
		t.Errorf("help escape = %q, want %q", got, want)
	}
	got = string(appendEscaped(nil, "a\\b\n\"c\"", true))
	if want := `a\\b\n\"c\"`; got != want {
		t.Errorf("label escape = %q, want %q", got, want)
	}
}

func TestMetricsSpecialFloats(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{math.NaN(), "} NaN\n"},
		{math.Inf(1), "} +Inf\n"},
		{math.Inf(-1), "} -Inf\n"},
		{0.5, "} 0.5\n"},
		{1e21, "} 1e+21\n"},
	}
	for _, tc := range tests {
		v := Varz{ServerID: "X"}
		body := appendMetrics(nil, &v, &SublistStats{CacheHitRate: tc.in}, healthOK)
		parseMetrics(t, body)
		i := bytes.Index(body, []byte("\ngnatsd_subsz_cache_hit_rate{"))
		line, _, _ := strings.Cut(string(body[i+1:]), "\n")
		if !strings.HasSuffix(line+"\n", tc.want) {
			t.Errorf("%v rendered as %q, want suffix %q", tc.in, line, tc.want)
		}
	}
}

// Every family is announced once with HELP and TYPE before its samples,
// and names follow the exporter's prefixes.
func TestMetricsShape(t *testing.T) {
	v := componentVarz()
	body := string(appendMetrics(nil, &v, &SublistStats{}, healthOK))
	seen := map[string]bool{}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i := 0; i < len(lines); {
		if !strings.HasPrefix(lines[i], "# HELP ") || i+2 >= len(lines) {
			t.Fatalf("line %d: want a HELP line, got %q", i, lines[i])
		}
		name := strings.Fields(lines[i])[2]
		if !strings.HasPrefix(lines[i+1], "# TYPE "+name+" ") {
			t.Errorf("line %d: want TYPE of %s, got %q", i+1, name, lines[i+1])
		}
		i += 2
		n := 0
		for ; i < len(lines) && !strings.HasPrefix(lines[i], "# "); i++ {
			if !strings.HasPrefix(lines[i], name+"{server_id=") && !strings.HasPrefix(lines[i], name+"_") {
				t.Errorf("line %d: sample %q outside family %s", i, lines[i], name)
			}
			n++
		}
		if n == 0 {
			t.Errorf("family %s has no samples", name)
		}
		if seen[name] {
			t.Errorf("family %s repeated", name)
		}
		seen[name] = true
		if !strings.HasPrefix(name, "gnatsd_varz_") && !strings.HasPrefix(name, "gnatsd_subsz_") &&
			name != "gnatsd_healthz_status" && !strings.HasPrefix(name, "leafbox_") {
			t.Errorf("unexpected family name %s", name)
		}
	}
}

func TestAppendMetricsAllocs(t *testing.T) {
	v := componentVarz()
	st := newFakeSource().stats
	buf := make([]byte, 0, 32<<10)
	allocs := testing.AllocsPerRun(100, func() {
		buf = appendMetrics(buf[:0], &v, &st, healthOK)
	})
	if allocs != 0 {
		t.Errorf("appendMetrics allocates %v times per render, want 0", allocs)
	}
}

// BenchmarkAppendMetrics renders with every component configured.
func BenchmarkAppendMetrics(b *testing.B) {
	v := componentVarz()
	st := newFakeSource().stats
	buf := make([]byte, 0, 32<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendMetrics(buf[:0], &v, &st, healthOK)
	}
	b.SetBytes(int64(len(buf)))
}
