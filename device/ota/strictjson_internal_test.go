package ota

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const testSHA = "0000000000000000000000000000000000000000000000000000000000000000"

// manifestJSON is a valid manifest with head spliced in before "format".
func manifestJSON(head string) string {
	return `{` + head + `"format":1,"version":"1.0.0","board":"b","images":[{"name":"rootfs","size":1,"sha256":"` + testSHA + `","stored_size":1}]}`
}

// strictKeyCases are manifests encoding/json would accept, reading a field
// other tools may read differently; every one must be refused.
var strictKeyCases = []struct{ name, text string }{
	{"key twice", manifestJSON(`"version":"9.9.9",`)},
	{"case variant", manifestJSON(`"Version":"9.9.9",`)},
	{"upper case only", strings.Replace(manifestJSON(""), `"board"`, `"BOARD"`, 1)},
	{"unicode fold variant", strings.Replace(manifestJSON(""), `"stored_size"`, `"ſtored_size"`, 1)},
	{"key twice in an image", strings.Replace(manifestJSON(""), `"size":1,`, `"size":1,"size":2,`, 1)},
	{"case variant in an image", strings.Replace(manifestJSON(""), `"name":"rootfs",`, `"name":"rootfs","Name":"boot",`, 1)},
}

// TestParseManifestStrictKeys pins that signed manifests with duplicate or
// case-variant keys are refused, so that every reader sees the same fields.
func TestParseManifestStrictKeys(t *testing.T) {
	if _, err := parseManifest([]byte(manifestJSON(""))); err != nil {
		t.Fatalf("valid manifest: %v", err)
	}
	for _, tc := range strictKeyCases {
		t.Run(tc.name, func(t *testing.T) {
			var loose Manifest
			if err := json.Unmarshal([]byte(tc.text), &loose); err != nil {
				t.Fatalf("encoding/json refuses it already: %v", err)
			}
			_, err := parseManifest([]byte(tc.text))
			if !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), "key") {
				t.Errorf("err %v, want %v naming the key", err, ErrBadManifest)
			}
		})
	}
}

// TestVerifyCommandStrictKeys: a signed install command is decoded the same
// strict way.
func TestVerifyCommandStrictKeys(t *testing.T) {
	var c Command
	err := jsonStrict([]byte(`{"device":"UA","issued":1,"url":"http://a/","URL":"http://b/"}`), &c)
	if err == nil {
		t.Fatalf("accepted a command with url twice: %+v", c)
	}
}

// FuzzCheckJSONKeys: whatever checkJSONKeys accepts has, in every object,
// only distinct lower-case keys, as encoding/json then reads them.
func FuzzCheckJSONKeys(f *testing.F) {
	f.Add([]byte(manifestJSON("")))
	for _, tc := range strictKeyCases {
		f.Add([]byte(tc.text))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkJSONKeys(b) != nil {
			return
		}
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					if k != strings.ToLower(k) {
						t.Fatalf("accepted key %q", k)
					}
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		walk(v)
	})
}
