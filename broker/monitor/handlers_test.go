package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func decodeMap(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return m
}

func requireKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing key %q", what, k)
		}
	}
}

func forbidKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; ok {
			t.Errorf("%s: unexpected key %q", what, k)
		}
	}
}

func TestEndpointStatusAndHeaders(t *testing.T) {
	plain, _ := newTestHTTP(t, newFakeSource())
	leafy, _ := newTestHTTP(t, &leafSource{fakeSource: newFakeSource()})
	tests := []struct {
		name     string
		base     string
		method   string
		path     string
		wantCode int
		wantType string
	}{
		{"index", plain.URL, "GET", "/", 200, "text/html; charset=utf-8"},
		{"unknown path", plain.URL, "GET", "/nope", 404, "text/plain; charset=utf-8"},
		{"varz", plain.URL, "GET", "/varz", 200, "application/json"},
		{"varz head", plain.URL, "HEAD", "/varz", 200, "application/json"},
		{"connz", plain.URL, "GET", "/connz", 200, "application/json"},
		{"subsz", plain.URL, "GET", "/subsz", 200, "application/json"},
		{"subscriptionsz alias", plain.URL, "GET", "/subscriptionsz", 200, "application/json"},
		{"healthz", plain.URL, "GET", "/healthz", 200, "application/json"},
		{"metrics", plain.URL, "GET", "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8"},
		{"leafz without LeafzSource", plain.URL, "GET", "/leafz", 404, "text/plain; charset=utf-8"},
		{"leafz", leafy.URL, "GET", "/leafz", 200, "application/json"},
		{"post varz", plain.URL, "POST", "/varz", 405, "text/plain; charset=utf-8"},
		{"put connz", plain.URL, "PUT", "/connz", 405, "text/plain; charset=utf-8"},
		{"delete healthz", plain.URL, "DELETE", "/healthz", 405, "text/plain; charset=utf-8"},
		{"post metrics", plain.URL, "POST", "/metrics", 405, "text/plain; charset=utf-8"},
		{"post index", plain.URL, "POST", "/", 405, "text/plain; charset=utf-8"},
		{"bad connz sort", plain.URL, "GET", "/connz?sort=bogus", 400, "text/plain; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := do(t, tc.method, tc.base+tc.path)
			if code != tc.wantCode {
				t.Fatalf("status = %d, want %d (body %q)", code, tc.wantCode, body)
			}
			if got := h.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tc.wantType)
			}
			if code == 405 && h.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q, want %q", h.Get("Allow"), "GET, HEAD")
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD returned a body of %d bytes", len(body))
			}
			if tc.wantType == "application/json" && h.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("missing CORS header")
			}
		})
	}
}

// The status page at / lists the endpoints without JavaScript, as
// nats-server's index does.
func TestIndexLinks(t *testing.T) {
	src := newFakeSource()
	ts, _ := newTestHTTP(t, src)
	_, _, body := do(t, "GET", ts.URL+"/")
	for _, want := range []string{`href="./statusz"`, `href="./varz"`, `href="./connz"`, `href="./subsz"`, `href="./healthz"`, `href="./metrics"`, `new URL("statusz"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("index lacks %s:\n%s", want, body)
		}
	}
	if bytes.Contains(body, []byte(linksMarker)) {
		t.Errorf("links marker left in the page")
	}
	if bytes.Contains(body, []byte("leafz")) {
		t.Errorf("index links /leafz though the source has none")
	}
}

func TestVarz(t *testing.T) {
	ts, _ := newTestHTTP(t, newFakeSource())
	code, _, body := do(t, "GET", ts.URL+"/varz")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	if !bytes.HasPrefix(body, []byte("{\n  \"server_id\": \"NABC\",\n")) {
		t.Errorf("not indented like nats-server:\n%.80s", body)
	}
	m := decodeMap(t, body)
	requireKeys(t, "varz", m,
		"server_id", "server_name", "version", "proto", "go", "host", "port",
		"max_connections", "ping_interval", "ping_max", "http_host", "http_port",
		"auth_timeout", "max_control_line", "max_payload", "max_pending", "tls_timeout",
		"write_deadline", "start", "now", "uptime", "mem", "cores", "gomaxprocs", "cpu",
		"connections", "total_connections", "routes", "remotes", "leafnodes",
		"in_msgs", "in_bytes", "out_msgs", "out_bytes", "slow_consumers",
		"subscriptions", "http_req_stats", "config_load_time", "warnings")
	forbidKeys(t, "varz", m, "git_commit", "auth_required", "tls_required", "leaf", "mqtt", "max_subscriptions")

	want := map[string]any{
		"in_msgs":          42.0,
		"out_bytes":        8400.0,
		"slow_consumers":   1.0,
		"connections":      3.0,
		"uptime":           "1h0m5s",
		"now":              "2025-03-01T12:00:00Z",
		"mem":              10240.0 * 1024,
		"ping_interval":    120e9,
		"max_control_line": 4096.0,
		"http_host":        DefaultHost,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, m[k], m[k], v)
		}
	}
	if m["cores"].(float64) < 1 || m["gomaxprocs"].(float64) < 1 {
		t.Errorf("cores/gomaxprocs not filled: %v %v", m["cores"], m["gomaxprocs"])
	}
	if w := m["warnings"].([]any); len(w) != 1 || !strings.Contains(w[0].(string), "without authorization") {
		t.Errorf("warnings = %v", w)
	}
}

func TestVarzRequestStats(t *testing.T) {
	ts, _ := newTestHTTP(t, newFakeSource())
	for range 3 {
		do(t, "GET", ts.URL+"/connz")
	}
	do(t, "GET", ts.URL+"/healthz")
	do(t, "POST", ts.URL+"/healthz") // rejected requests are not counted
	_, _, body := do(t, "GET", ts.URL+"/varz")
	stats := decodeMap(t, body)["http_req_stats"].(map[string]any)
	want := map[string]float64{"/": 0, "/varz": 1, "/connz": 3, "/subsz": 0, "/healthz": 1, "/metrics": 0}
	for k, v := range want {
		if stats[k] != v {
			t.Errorf("http_req_stats[%q] = %v, want %v", k, stats[k], v)
		}
	}
	if _, ok := stats["/leafz"]; ok {
		t.Errorf("http_req_stats lists /leafz for a source without it")
	}
}

func connzCids(t *testing.T, m map[string]any) []uint64 {
	t.Helper()
	var cids []uint64
	for _, c := range m["connections"].([]any) {
		cids = append(cids, uint64(c.(map[string]any)["cid"].(float64)))
	}
	return cids
}

func TestConnzQuery(t *testing.T) {
	ts, _ := newTestHTTP(t, newFakeSource())
	tests := []struct {
		query     string
		wantCids  []uint64
		wantTotal float64
		wantLimit float64
		subs      string // "", "list" or "detail"
		auth      bool
	}{
		{"", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=cid", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=start", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=bytes_to", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=bytes_from", []uint64{3, 1, 2}, 3, 1024, "", false},
		{"?sort=msgs_to", []uint64{3, 2, 1}, 3, 1024, "", false},
		{"?sort=msgs_from", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=pending", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=subs", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=last", []uint64{3, 1, 2}, 3, 1024, "", false},
		{"?sort=idle", []uint64{2, 1, 3}, 3, 1024, "", false},
		{"?sort=uptime", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=rtt", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=MSGS_TO", []uint64{3, 2, 1}, 3, 1024, "", false},
		{"?offset=1&limit=1", []uint64{2}, 3, 1, "", false},
		{"?offset=2", []uint64{3}, 3, 1024, "", false},
		{"?offset=9", nil, 3, 1024, "", false},
		{"?offset=-4&limit=-1", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?sort=msgs_to&offset=1&limit=5", []uint64{2, 1}, 3, 5, "", false},
		{"?cid=2", []uint64{2}, 1, 1, "", false},
		{"?cid=99", nil, 0, 1, "", false},
		{"?subs=1", []uint64{1, 2, 3}, 3, 1024, "list", false},
		{"?subs=true", []uint64{1, 2, 3}, 3, 1024, "list", false},
		{"?subs=detail", []uint64{1, 2, 3}, 3, 1024, "detail", false},
		{"?subs=0", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?auth=1", []uint64{1, 2, 3}, 3, 1024, "", true},
		{"?state=any", []uint64{1, 2, 3}, 3, 1024, "", false},
		{"?state=closed", nil, 0, 1024, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			code, _, body := do(t, "GET", ts.URL+"/connz"+tc.query)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			m := decodeMap(t, body)
			requireKeys(t, "connz", m, "server_id", "now", "num_connections", "total", "offset", "limit", "connections")
			if got := connzCids(t, m); !slices.Equal(got, tc.wantCids) {
				t.Errorf("cids = %v, want %v", got, tc.wantCids)
			}
			if m["total"] != tc.wantTotal || m["limit"] != tc.wantLimit {
				t.Errorf("total, limit = %v, %v; want %v, %v", m["total"], m["limit"], tc.wantTotal, tc.wantLimit)
			}
			if m["num_connections"] != float64(len(tc.wantCids)) {
				t.Errorf("num_connections = %v, want %d", m["num_connections"], len(tc.wantCids))
			}
			for _, c := range m["connections"].([]any) {
				ci := c.(map[string]any)
				requireKeys(t, "conn", ci, "cid", "ip", "port", "start", "last_activity", "uptime", "idle",
					"pending_bytes", "in_msgs", "out_msgs", "in_bytes", "out_bytes", "subscriptions")
				_, hasList := ci["subscriptions_list"]
				_, hasDetail := ci["subscriptions_list_detail"]
				if hasList != (tc.subs == "list") || hasDetail != (tc.subs == "detail") {
					t.Errorf("cid %v: list=%v detail=%v, want %q", ci["cid"], hasList, hasDetail, tc.subs)
				}
				if hasDetail {
					d := ci["subscriptions_list_detail"].([]any)[0].(map[string]any)
					requireKeys(t, "sub detail", d, "subject", "sid", "msgs", "cid")
				}
				if _, has := ci["authorized_user"]; has != (tc.auth && ci["cid"] == 1.0) {
					t.Errorf("cid %v: authorized_user present=%v with auth=%v", ci["cid"], has, tc.auth)
				}
			}
		})
	}
}

func TestConnzFillsTimes(t *testing.T) {
	ts, _ := newTestHTTP(t, newFakeSource())
	_, _, body := do(t, "GET", ts.URL+"/connz?cid=1")
	ci := decodeMap(t, body)["connections"].([]any)[0].(map[string]any)
	if ci["uptime"] != "1h0m0s" || ci["idle"] != "30s" {
		t.Errorf("uptime, idle = %v, %v; want 1h0m0s, 30s", ci["uptime"], ci["idle"])
	}
}

func TestBadQueries(t *testing.T) {
	ts, _ := newTestHTTP(t, newFakeSource())
	tests := []struct {
		path    string
		wantMsg string
	}{
		{"/connz?sort=bogus", "invalid sorting option: bogus"},
		{"/connz?offset=x", `offset="x"`},
		{"/connz?limit=1.5", `limit="1.5"`},
		{"/connz?cid=-1", `cid="-1"`},
		{"/connz?subs=maybe", `subs="maybe"`},
		{"/connz?auth=2", `auth="2"`},
		{"/connz?state=zombie", `state="zombie"`},
		{"/subsz?subs=yes", `subs="yes"`},
		{"/subsz?offset=one", `offset="one"`},
		{"/subsz?test=foo.*", "invalid test subject, must be valid publish subject: foo.*"},
		{"/subsz?test=foo..bar", "invalid test subject"},
		{"/subsz?test=foo.>", "invalid test subject"},
		{"/leafz?subs=x", `subs="x"`},
	}
	leafy, _ := newTestHTTP(t, &leafSource{fakeSource: newFakeSource()})
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			base := ts.URL
			if strings.HasPrefix(tc.path, "/leafz") {
				base = leafy.URL
			}
			code, _, body := do(t, "GET", base+tc.path)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (body %q)", code, body)
			}
			if !bytes.Contains(body, []byte(tc.wantMsg)) {
				t.Errorf("body %q lacks %q", body, tc.wantMsg)
			}
			if bytes.Contains(body, []byte("monitor:")) {
				t.Errorf("body %q leaks the Go error prefix", body)
			}
		})
	}
}

func TestSubszQuery(t *testing.T) {
	src := newFakeSource()
	ts, _ := newTestHTTP(t, src)
	tests := []struct {
		query     string
		wantSubs  []string // nil: no list expected
		wantTotal float64
	}{
		{"", nil, 4},
		{"?subs=1", []string{"a.1", "a.2", "b.*", "c.>"}, 4},
		{"?subs=1&offset=1&limit=2", []string{"a.2", "b.*"}, 4},
		{"?subs=1&offset=10", nil, 4},
		{"?subs=1&test=b.x", []string{"b.*"}, 1},
		{"?subs=1&test=c.x.y", []string{"c.>"}, 1},
		{"?subs=1&test=a.1", []string{"a.1"}, 1},
		{"?subs=1&test=zzz", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			code, _, body := do(t, "GET", ts.URL+"/subsz"+tc.query)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			m := decodeMap(t, body)
			requireKeys(t, "subsz", m, "server_id", "now", "num_subscriptions", "num_cache", "num_inserts",
				"num_removes", "num_matches", "cache_hit_rate", "max_fanout", "avg_fanout", "total", "offset", "limit")
			if m["num_subscriptions"] != 4.0 || m["cache_hit_rate"] != 0.75 || m["avg_fanout"] != 1.5 {
				t.Errorf("stats = %v %v %v", m["num_subscriptions"], m["cache_hit_rate"], m["avg_fanout"])
			}
			if m["total"] != tc.wantTotal {
				t.Errorf("total = %v, want %v", m["total"], tc.wantTotal)
			}
			list, has := m["subscriptions_list"].([]any)
			if has != (tc.wantSubs != nil) {
				t.Fatalf("subscriptions_list present=%v, want %v", has, tc.wantSubs != nil)
			}
			var got []string
			for _, s := range list {
				sd := s.(map[string]any)
				requireKeys(t, "sub", sd, "subject", "sid", "msgs", "cid")
				got = append(got, sd["subject"].(string))
			}
			if !slices.Equal(got, tc.wantSubs) {
				t.Errorf("subjects = %v, want %v", got, tc.wantSubs)
			}
		})
	}
}

func TestLeafz(t *testing.T) {
	src := &leafSource{fakeSource: newFakeSource(), leafs: []LeafInfo{{
		ID: 7, Name: "hub-a", Account: "$G", IP: "10.0.0.1", Port: 7422, RTT: "20ms",
		InMsgs: 1, OutMsgs: 2, NumSubs: 1, Subs: []string{"cmd.>"}, Compression: "s2_auto",
	}}}
	ts, _ := newTestHTTP(t, src)
	for _, q := range []string{"", "?subs=1"} {
		_, _, body := do(t, "GET", ts.URL+"/leafz"+q)
		m := decodeMap(t, body)
		requireKeys(t, "leafz", m, "server_id", "now", "leafnodes", "leafs")
		l := m["leafs"].([]any)[0].(map[string]any)
		requireKeys(t, "leaf", l, "id", "name", "is_spoke", "account", "ip", "port", "rtt", "in_msgs",
			"out_msgs", "in_bytes", "out_bytes", "subscriptions", "compression")
		if _, has := l["subscriptions_list"]; has != (q != "") {
			t.Errorf("%q: subscriptions_list present=%v", q, has)
		}
	}
}

func TestHealthz(t *testing.T) {
	src := newFakeSource()
	ts, _ := newTestHTTP(t, src)
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantBody string
	}{
		{"ok", nil, 200, `{"status":"ok"}`},
		{"unavailable", errNotReady, 503, `{"status":"unavailable","error":"leaf link down and store full"}`},
		// Degraded: working, but an operator should look; 200 so probes
		// and watchdogs do not restart a gateway that a restart cannot fix.
		{"degraded", &Degraded{Reason: "store damaged"}, 200, `{"status":"degraded","error":"store damaged"}`},
		{"degraded wrapped", fmt.Errorf("store: %w", &Degraded{Reason: "damaged"}), 200, `{"status":"degraded","error":"store: damaged"}`},
		{"recovered", nil, 200, `{"status":"ok"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src.setHealth(tc.err)
			code, _, body := do(t, "GET", ts.URL+"/healthz")
			if code != tc.wantCode || string(body) != tc.wantBody {
				t.Errorf("got %d %s, want %d %s", code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}
