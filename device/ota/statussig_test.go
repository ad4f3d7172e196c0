package ota_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/device/ota"
)

// parseHeader reads a NATS/1.0 header block the way a consumer library
// does (MIME header lines after the status line).
func parseHeader(t *testing.T, hdr []byte) http.Header {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(hdr)))
	line, err := r.ReadLine()
	if err != nil || line != "NATS/1.0" {
		t.Fatalf("status line %q, %v", line, err)
	}
	h, err := r.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("header %q: %v", hdr, err)
	}
	return http.Header(h)
}

func TestVerifyStatus(t *testing.T) {
	dev, _ := nkeys.CreateUser()
	id, _ := dev.PublicKey()
	other, _ := nkeys.CreateUser()
	otherID, _ := other.PublicKey()
	data := []byte(`{"device":"` + id + `","state":"idle"}`)
	raw, err := dev.Sign(data)
	if err != nil {
		t.Fatal(err)
	}
	h := parseHeader(t, ota.StatusHeader(id, raw))
	if h.Get(ota.HeaderDevice) != id {
		t.Fatalf("device header %q", h.Get(ota.HeaderDevice))
	}
	sig := h.Get(ota.HeaderSignature)
	flipped := bytes.Clone(data)
	flipped[len(flipped)-3] ^= 1
	tests := []struct {
		name   string
		id     string
		sig    string
		data   []byte
		wantOK bool
	}{
		{"good", id, sig, data, true},
		{"padded base64 accepted", id, base64.URLEncoding.EncodeToString(raw), data, true},
		{"payload changed", id, sig, flipped, false},
		{"another device", otherID, sig, data, false},
		{"not a user key", "ODEVICE", sig, data, false},
		{"not base64", id, "!!", data, false},
		{"empty signature", id, "", data, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ota.VerifyStatus(tc.id, tc.sig, tc.data)
			if tc.wantOK && err != nil {
				t.Fatalf("VerifyStatus: %v", err)
			}
			if !tc.wantOK && !errors.Is(err, ota.ErrStatusSig) {
				t.Fatalf("VerifyStatus = %v, want ErrStatusSig", err)
			}
		})
	}
}

// TestStatusMessagesSigned: every status message the manager publishes
// carries the device id and a signature that nkeys verifies against the
// subject's device id; without Sign there is no header.
func TestStatusMessagesSigned(t *testing.T) {
	dev, _ := nkeys.CreateUser()
	id, _ := dev.PublicKey()
	type msg struct {
		subject   string
		hdr, data []byte
	}
	for _, signed := range []bool{true, false} {
		r := newRig(t)
		var mu sync.Mutex
		var got []msg
		deps := ota.Deps{
			Boot: &ota.FileBoot{Path: r.cfg.BootFile}, Reboot: r.fw, DeviceID: id,
			Publish: func(subject string, hdr, data []byte) {
				mu.Lock()
				got = append(got, msg{subject, bytes.Clone(hdr), bytes.Clone(data)})
				mu.Unlock()
			},
		}
		if signed {
			deps.Sign = dev.Sign
		}
		m, err := ota.New(r.cfg, deps)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		if _, err := m.Install(ctx, ota.FileSource(r.writeBundle(r.bundle("2.0.0", nil))), ota.InstallOptions{}); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		msgs := got
		mu.Unlock()
		if len(msgs) < 2 {
			t.Fatalf("signed=%v: %d status messages", signed, len(msgs))
		}
		for _, g := range msgs {
			if g.subject != ota.StatusSubject(id) {
				t.Fatalf("subject %q", g.subject)
			}
			var st ota.Status
			if err := json.Unmarshal(g.data, &st); err != nil || st.Device != id || time.Since(st.Time) > time.Minute {
				t.Fatalf("payload %s: %v", g.data, err)
			}
			if !signed {
				if g.hdr != nil {
					t.Fatalf("unsigned manager sent header %q", g.hdr)
				}
				continue
			}
			h := parseHeader(t, g.hdr)
			subjID := strings.Split(g.subject, ".")[1]
			if h.Get(ota.HeaderDevice) != subjID {
				t.Fatalf("device header %q, subject %q", h.Get(ota.HeaderDevice), g.subject)
			}
			pub, err := nkeys.FromPublicKey(subjID)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := base64.RawURLEncoding.DecodeString(h.Get(ota.HeaderSignature))
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Verify(g.data, sig); err != nil {
				t.Fatalf("signature of %s: %v", g.data, err)
			}
		}
	}
}
