package ota_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
)

// TestCommandVerification pins that an install command is verified (key,
// signature, device, freshness) before any source is resolved.
func TestCommandVerification(t *testing.T) {
	r := newRig(t)
	other, _ := otatest.Key()
	resolved := 0
	m, err := ota.New(r.cfg, ota.Deps{Boot: &ota.FileBoot{Path: r.cfg.BootFile}, Reboot: r.fw, DeviceID: "UDEVICE",
		Resolve: func(ota.Command) (ota.Source, error) {
			resolved++
			return ota.SourceFunc(func(context.Context) (io.ReadCloser, error) { return nil, errors.New("no network in tests") }), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Wait) // the accepted command's install runs in the background
	sign := func(c ota.Command, signer bool) []byte {
		kp := r.kp
		if !signer {
			kp = other
		}
		b, err := ota.SignCommand(c, kp)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := ota.Command{Device: "UDEVICE", Issued: 100, URL: "https://example.com/b"}
	tampered := func() []byte {
		var sc ota.SignedCommand
		json.Unmarshal(sign(good, true), &sc)
		sc.Command = []byte(`{"device":"UDEVICE","issued":100,"url":"https://evil.example/b"}`)
		b, _ := json.Marshal(sc)
		return b
	}()
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"untrusted key", sign(good, false), ota.ErrUnknownKey},
		{"altered command", tampered, ota.ErrBadSignature},
		{"other device", sign(ota.Command{Device: "UOTHER", Issued: 100, URL: "x"}, true), ota.ErrBadCommand},
		{"no source", sign(ota.Command{Device: "UDEVICE", Issued: 100}, true), ota.ErrBadCommand},
		{"garbage", []byte("{"), ota.ErrBadCommand},
		{"good", sign(good, true), nil},
		{"replayed", sign(good, true), ota.ErrReplayed},
		{"older", sign(ota.Command{Device: "UDEVICE", Issued: 99, URL: "x"}, true), ota.ErrReplayed},
	}
	for _, c := range cases {
		before := resolved
		err := m.HandleCommand(t.Context(), c.data)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: err %v, want %v", c.name, err, c.want)
		}
		if c.want != nil && resolved != before {
			t.Fatalf("%s: a refused command reached the source", c.name)
		}
	}
}
