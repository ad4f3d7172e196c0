package mqtt

import (
	"errors"
	"testing"
)

// TestTopicToSubject pins nats-server's MQTT mapping.
func TestTopicToSubject(t *testing.T) {
	for _, tc := range []struct {
		topic, subject string
		filter         bool
		err            error
	}{
		{"foo", "foo", false, nil},
		{"foo/bar", "foo.bar", false, nil},
		{"/foo", "/.foo", false, nil},
		{"foo/", "foo./", false, nil},
		{"foo//bar", "foo./.bar", false, nil},
		{"//", "/././", false, nil},
		{"foo.bar", "foo//bar", false, nil},
		{"$SYS/x", "$SYS.x", false, nil},
		{"a/+/#", "a.*.>", true, nil},
		{"#", ">", true, nil},
		{"+", "*", true, nil},
		{"a/+", "", false, ErrInvalidTopic},
		{"a/#/b", "", true, ErrInvalidFilter},
		{"a+", "", true, ErrInvalidFilter},
		{"a#", "", true, ErrInvalidFilter},
		{"a b", "", false, ErrInvalidTopic},
		{"", "", false, ErrInvalidTopic},
		{"a\x00b", "", false, ErrInvalidTopic},
	} {
		got, err := appendSubject(nil, []byte(tc.topic), tc.filter)
		if !errors.Is(err, tc.err) || (err == nil && string(got) != tc.subject) {
			t.Errorf("%q: got %q %v, want %q %v", tc.topic, got, err, tc.subject, tc.err)
		}
		if err == nil && !tc.filter {
			if back := string(appendTopic(nil, got)); back != tc.topic {
				t.Errorf("%q: back to %q", tc.topic, back)
			}
		}
	}
}

func TestMatchTopic(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"+/+", "/x", true},
		{"a", "b", false},
	} {
		if got := matchTopic(tc.filter, tc.topic); got != tc.want {
			t.Errorf("match(%q, %q) = %v", tc.filter, tc.topic, got)
		}
	}
}
