package monitor

import (
	"bytes"
	"encoding/json"
	"testing"
)

// bridgeSource adds /bridgez to the fake source.
type bridgeSource struct {
	*fakeSource
	bridges []BridgeStatus
}

func (b bridgeSource) Bridgez() Bridgez {
	return Bridgez{ServerID: "NTEST", NumBridges: len(b.bridges), Bridges: b.bridges}
}

func TestBridgez(t *testing.T) {
	plain, _ := newTestHTTP(t, newFakeSource())
	if code, _, _ := do(t, "GET", plain.URL+"/bridgez"); code != 404 {
		t.Errorf("/bridgez without a BridgezSource: status %d, want 404", code)
	}

	src := bridgeSource{newFakeSource(), []BridgeStatus{
		{Name: "meter1", Kind: "serial", State: "up", BridgeCounters: BridgeCounters{InMsgs: 3}},
		{Name: "door", Kind: "gpio", State: "down", LastError: "line busy"},
	}}
	h, _ := newTestHTTP(t, src)
	code, hdr, body := do(t, "GET", h.URL+"/bridgez")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("/bridgez: status %d, content type %q", code, hdr.Get("Content-Type"))
	}
	var doc struct {
		ServerID   string           `json:"server_id"`
		Now        string           `json:"now"`
		NumBridges int              `json:"num_bridges"`
		Bridges    []map[string]any `json:"bridges"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if doc.ServerID != "NTEST" || doc.Now == "" || doc.NumBridges != 2 || len(doc.Bridges) != 2 {
		t.Fatalf("bridgez = %+v", doc)
	}
	if doc.Bridges[1]["state"] != "down" || doc.Bridges[1]["last_error"] != "line busy" {
		t.Errorf("second bridge = %v", doc.Bridges[1])
	}
	if _, _, idx := do(t, "GET", h.URL+"/"); !bytes.Contains(idx, []byte("/bridgez")) {
		t.Errorf("index does not link /bridgez")
	}
}
