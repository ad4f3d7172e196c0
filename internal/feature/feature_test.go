package feature

import (
	"errors"
	"strings"
	"testing"
)

func TestNamesAndTags(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range All() {
		if f.Tag() == "" || strings.HasPrefix(f.String(), "feature(") {
			t.Errorf("feature %d has no tag or name", int(f))
		}
		if seen[f.Tag()] {
			t.Errorf("tag %q used twice", f.Tag())
		}
		seen[f.Tag()] = true
	}
	if Feature(numFeatures).Tag() != "" {
		t.Error("an unknown feature has a tag")
	}
}

func TestErr(t *testing.T) {
	err := MQTTBridge.Err()
	want := "this build has no MQTT client bridge (built with tag leafbox_omit_mqttbridge)"
	if err.Error() != want {
		t.Errorf("Err() = %q, want %q", err, want)
	}
	if !errors.Is(err, ErrOmitted) {
		t.Error("Err() does not match ErrOmitted")
	}
}
