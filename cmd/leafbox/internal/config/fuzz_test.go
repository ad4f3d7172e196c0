package config

import (
	"strings"
	"testing"
)

// FuzzParseConfigData feeds arbitrary text to the config parser: it must never
// panic, and whatever it accepts must hold values in range. Seeds live in
// testdata/fuzz/FuzzParseConfigData.
func FuzzParseConfigData(f *testing.F) {
	f.Add([]byte(defaultConf))
	f.Add([]byte("port: 4222\ninclude default.conf\n"))
	f.Add([]byte("authorization { include 'missing.conf' }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// include reads files relative to the working directory, this
		// package's: keep it there (checkIncludes refuses devices and
		// pipes, but /proc and /sys hold regular files of their own kind).
		for _, d := range scanIncludes(data) {
			if strings.ContainsAny(d.path, `/\`) {
				t.Skip()
			}
		}
		o, err := ParseData("fuzz.conf", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		b := o.Broker
		if b.Port < -1 || b.Port > 65535 || o.HTTPPort < -1 || o.HTTPPort > 65535 {
			t.Errorf("port out of range: %d, %d", b.Port, o.HTTPPort)
		}
		if b.MaxPayload < 0 || b.MaxPayload > maxPayloadLimit || b.PingMax < 0 ||
			b.PingInterval < 0 || b.WriteDeadline < 0 || b.Auth.Timeout < 0 {
			t.Errorf("value out of range: %+v", b)
		}
		if o.HTTPPort != 0 && o.HTTPHost == "" {
			t.Error("monitoring without a host")
		}
		if err := o.Audit.Validate(); err != nil || o.Audit.Rate < 0 {
			t.Errorf("audit block accepted but invalid: %+v: %v", o.Audit, err)
		}
	})
}
