package monitor

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// jsonKeys lists the JSON object keys of struct type t, following inlined
// embedded structs as encoding/json does.
func jsonKeys(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	keys := map[string]bool{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			for k := range jsonKeys(f.Type) {
				keys[k] = true
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys[name] = true
	}
	return keys
}

// Every JSON key leafbox emits must be one nats-server emits for the same
// document, so tools keyed on nats-server's names find ours.
func TestJSONNamesMatchNATSServer(t *testing.T) {
	tests := []struct {
		ours, theirs any
		extras       []string // leafbox-only keys
	}{
		{Varz{}, server.Varz{}, []string{"warnings", "device", "forward"}},
		{LeafNodeOptsVarz{}, server.LeafNodeOptsVarz{}, nil},
		{RemoteLeafOptsVarz{}, server.RemoteLeafOptsVarz{}, nil},
		{DenyRules{}, server.DenyRules{}, nil},
		{MQTTOptsVarz{}, server.MQTTOptsVarz{}, nil},
		{SlowConsumersStats{}, server.SlowConsumersStats{}, nil},
		{StaleConnectionStats{}, server.StaleConnectionStats{}, nil},
		{Connz{}, server.Connz{}, nil},
		{ConnInfo{}, server.ConnInfo{}, nil},
		{SubDetail{}, server.SubDetail{}, nil},
		{Subsz{}, server.Subsz{}, nil},
		{SublistStats{}, server.SublistStats{}, nil},
		{Leafz{}, server.Leafz{}, nil},
		{LeafInfo{}, server.LeafInfo{}, nil},
		{HealthStatus{}, server.HealthStatus{}, nil},
	}
	for _, tc := range tests {
		ot, tt := reflect.TypeOf(tc.ours), reflect.TypeOf(tc.theirs)
		t.Run(ot.Name(), func(t *testing.T) {
			theirs := jsonKeys(tt)
			for _, e := range tc.extras {
				theirs[e] = true
			}
			ours := jsonKeys(ot)
			if len(ours) == 0 {
				t.Fatal("no keys found")
			}
			for k := range ours {
				if !theirs[k] {
					t.Errorf("key %q is not in nats-server's %s", k, tt.Name())
				}
			}
		})
	}
}

// Our documents decode into nats-server's types with no unknown fields and
// no type mismatches, so the nats CLI and other Go tools can read them.
func TestDocumentsDecodeAsNATSServer(t *testing.T) {
	src := &leafSource{fakeSource: newFakeSource(), leafs: []LeafInfo{{ID: 1, Name: "hub", Subs: []string{"x"}}}}
	src.varz.LeafNode = &LeafNodeOptsVarz{Remotes: []RemoteLeafOptsVarz{{URLs: []string{"tls://hub:7422"}, Deny: &DenyRules{Exports: []string{"secret.>"}}}}}
	src.varz.MQTT = &MQTTOptsVarz{Host: "0.0.0.0", Port: 1883}
	src.varz.SlowConsumersStats = &SlowConsumersStats{Clients: 1}
	src.varz.Warnings = nil // leafbox extra, checked separately
	ts, _ := newTestHTTP(t, src)
	tests := []struct {
		path string
		into any
	}{
		{"/varz", &server.Varz{}},
		{"/connz?subs=detail&auth=1", &server.Connz{}},
		{"/connz?subs=1", &server.Connz{}},
		{"/subsz?subs=1", &server.Subsz{}},
		{"/leafz?subs=1", &server.Leafz{}},
		{"/healthz", &server.HealthStatus{}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			_, _, body := do(t, "GET", ts.URL+tc.path)
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.into); err != nil {
				t.Errorf("decode into %T: %v\n%s", tc.into, err, body)
			}
		})
	}
	// Spot-check values survive the trip.
	_, _, body := do(t, "GET", ts.URL+"/varz")
	var v server.Varz
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if v.InMsgs != 42 || v.ID != "NABC" || v.PingInterval != src.varz.PingInterval || v.LeafNode.Remotes[0].URLs[0] != "tls://hub:7422" {
		t.Errorf("decoded varz = %+v", v)
	}
}
